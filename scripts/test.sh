#!/usr/bin/env bash
# The test command: installs what it needs (scripts/install.sh), then runs the whole suite.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -m "not e2e"` for the quick ones).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
# A PostgreSQL server for the scores-table test (the tests start and stop it on 127.0.0.1).
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "warning: no PostgreSQL server binaries (initdb); install them (apt-get install postgresql)" >&2
  fi
fi
exec .venv/bin/python -m pytest "$@"
