#!/usr/bin/env bash
# Template repo only: render a project with the default answers from this working tree and run it
# end to end on the local stack. Usage: bash scripts/demo.sh [DESTINATION] (default build/demo).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:-build/demo}
bash scripts/install.sh
rm -rf "$dest"
.venv/bin/copier copy --trust --defaults --vcs-ref HEAD "$PWD" "$dest"
bash "$dest/scripts/quickstart.sh"
