#!/usr/bin/env bash
# The test command: installs what it needs (scripts/install.sh), then runs the whole suite.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -m "not e2e"` for the quick ones).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/python -m pytest "$@"
