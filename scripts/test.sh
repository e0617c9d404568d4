#!/usr/bin/env bash
# The test command: installs what it needs (scripts/install.sh), then runs the whole suite.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -m "not e2e"` for the quick ones).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
# System tools the tests start on 127.0.0.1: a PostgreSQL server (scores table), the `hey`
# load generator (reliability tests), and podman + runc + debootstrap (the container stack and the
# service image: stacks/containers.py builds an offline base image and serves a Docker-compatible API). Installed from Debian when missing (as root, or with sudo).
missing=()
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
command -v hey >/dev/null 2>&1 || missing+=(hey)
for tool in podman runc debootstrap; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  as_root=()
  [ "$(id -u)" = 0 ] || as_root=(sudo -n) # CI runners: passwordless sudo
  if command -v apt-get >/dev/null 2>&1 && "${as_root[@]}" true 2>/dev/null; then
    "${as_root[@]}" apt-get update -qq
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "warning: missing system packages: ${missing[*]} (apt-get install ${missing[*]})" >&2
  fi
fi
# The docker CLI (`container.engine: docker`, tested on podman's Docker-compatible API): Debian's docker.io
# also holds a daemon its install may try to start, so a failure here is a warning; the test says what is missing.
if ! command -v docker >/dev/null 2>&1; then
  as_root=()
  [ "$(id -u)" = 0 ] || as_root=(sudo -n)
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null 2>&1 ||
    echo "warning: the docker CLI is missing (apt-get install docker.io)" >&2
fi
# Two or more workers (pytest-xdist, one per core): a module's tests stay together on one worker and the
# longest modules start first (tests/conftest.py). PYTEST_WORKERS=0 runs in this process.
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-auto}" --no-loadscope-reorder "$@"
