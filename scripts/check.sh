#!/usr/bin/env bash
# Lint, format check, YAML/TOML syntax and secret guards: the pre-commit hooks on every file.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
PATH="$PWD/.venv/bin:$PATH" exec pre-commit run --all-files --show-diff-on-failure "$@"
