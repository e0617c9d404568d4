#!/usr/bin/env bash
# One command on a fresh machine: install, register + activate the `local` ZenML stack
# (`zenml stack set local` under the hood), and run the training pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/python run.py stack apply local
.venv/bin/python run.py train "$@"
