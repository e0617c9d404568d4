#!/usr/bin/env bash
# The test command: installs what it needs (scripts/install.sh), then runs the whole suite.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -m "not e2e"` for the quick ones).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
# System tools the tests start on 127.0.0.1: a PostgreSQL server (scores table) and the `hey`
# load generator (reliability tests). Installed from Debian when missing and we are root.
missing=()
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
command -v hey >/dev/null 2>&1 || missing+=(hey)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "warning: missing system packages: ${missing[*]} (apt-get install ${missing[*]})" >&2
  fi
fi
exec .venv/bin/python -m pytest "$@"
