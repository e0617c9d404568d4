#!/usr/bin/env bash
# Create .venv with the locked dependencies. Idempotent: a no-op when the lock has not changed.
# Needs only Python 3.11 (set PYTHON=/path/to/python3.11 if `python3` is another version).
#   bash scripts/install.sh            runtime + development tools (requirements-dev.lock): tests, checks,
#                                      notebooks, copier
#   bash scripts/install.sh --runtime  the runtime set only (requirements.lock), what images and the Bento get
set -euo pipefail
cd "$(dirname "$0")/.."
lock=requirements-dev.lock
case "${1:-}" in
  "") ;;
  --runtime) lock=requirements.lock ;;
  *) echo "error: unknown option ${1}; use --runtime (only the runtime set) or no option" >&2; exit 2 ;;
esac
py=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  if ! "$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "error: $py is $("$py" --version 2>&1); this project needs Python 3.11 (set PYTHON=...)" >&2
    exit 2
  fi
  "$py" -m venv .venv
fi
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check uv
fi
if ! grep -q ZENML_CONFIG_PATH .venv/bin/activate; then
  # `zenml ...` in an activated .venv sees the same project-local store as `python run.py ...`.
  cat >> .venv/bin/activate <<EOS

# Added by scripts/install.sh: this project's ZenML store lives in its state dir.
export ZENML_CONFIG_PATH="\${ZENML_CONFIG_PATH:-\${PROJECT_STATE_DIR:-$PWD/.state}/zenml}"
EOS
fi
want=$(sha256sum "$lock" | cut -d' ' -f1)
if [ "$(cat .venv/.requirements.sha256 2>/dev/null)" != "$want" ]; then
  .venv/bin/uv pip install --quiet --python .venv/bin/python --compile-bytecode -r "$lock"
  echo "$want" > .venv/.requirements.sha256
fi
