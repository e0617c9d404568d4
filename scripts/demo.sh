#!/usr/bin/env bash
# Template repo only: render a project with the default answers from this working tree and run it
# end to end on the local stack: install + train (gates, promotion), nightly scoring, monitoring,
# the executive brief (.state/reports/brief.html, brief.md), deployment of the Bento HTTP service
# and a query to it, then stop the server.
# Usage: bash scripts/demo.sh [DESTINATION] (default build/demo).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:-build/demo}
bash scripts/install.sh
if [ -f "$dest/.state/serving/server.json" ]; then (cd "$dest" && .venv/bin/python run.py undeploy) || true; fi
rm -rf "$dest"
.venv/bin/copier copy --trust --defaults --vcs-ref HEAD "$PWD" "$dest"
cd "$dest"
bash scripts/quickstart.sh
.venv/bin/python run.py score
.venv/bin/python run.py monitor
.venv/bin/python run.py brief
.venv/bin/python run.py deploy
trap '.venv/bin/python run.py undeploy' EXIT
echo "POST /predict with .state/serving/example_request.json:"
curl -sS --fail-with-body -X POST http://127.0.0.1:3000/predict -H 'Content-Type: application/json' \
  -d @.state/serving/example_request.json
echo
