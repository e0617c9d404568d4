#!/usr/bin/env bash
# Validation and performance check of a running deployment (CD runs it after `python run.py deploy`
# in the test, canary and production environments): /readyz answers 200, the example request the
# deployment's smoke test wrote gets one prediction (label + probability) per record, and the p95
# latency of CHECK_REQUESTS sequential requests stays within MAX_P95_MS.
# Usage: bash scripts/check_deployment.sh [URL]   (default: the URL recorded by `run.py deploy`)
# Environment: CHECK_REQUESTS (default 50), MAX_P95_MS (default 300), SERVING_AUTH_TOKEN (if set,
# sent as a bearer token), PROJECT_STATE_DIR (default .state).
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
[ -x "$py" ] || py=python3
state=${PROJECT_STATE_DIR:-$PWD/.state}
requests=${CHECK_REQUESTS:-50}
budget=${MAX_P95_MS:-300}
example="$state/serving/example_request.json"
url=${1:-}
if [ -z "$url" ]; then
  record="$state/serving/server.json"
  [ -f "$record" ] || { echo "error: no deployment recorded in $record; run python run.py deploy first" >&2; exit 2; }
  url=$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["url"])' "$record")
fi
[ -f "$example" ] || { echo "error: $example is missing; run python run.py deploy first" >&2; exit 2; }
headers=(-H 'Content-Type: application/json')
[ -n "${SERVING_AUTH_TOKEN:-}" ] && headers+=(-H "Authorization: Bearer $SERVING_AUTH_TOKEN")

if ! curl -sS --fail --max-time 10 "$url/readyz" >/dev/null; then
  echo "FAIL: $url/readyz is not ready" >&2
  exit 1
fi
body=$(curl -sS --fail-with-body --max-time 30 -X POST "$url/predict" "${headers[@]}" -d @"$example") || {
  echo "FAIL: POST $url/predict: $body" >&2
  exit 1
}
"$py" - "$example" "$body" <<'EOF'
import json
import sys

records = json.load(open(sys.argv[1]))["records"]
answer = json.loads(sys.argv[2])
ok = isinstance(answer, list) and len(answer) == len(records)
ok = ok and all({"label", "probability"} <= set(item) and 0 <= item["probability"] <= 1 for item in answer)
if not ok:
    sys.exit(f"FAIL: /predict answered {answer!r} for {len(records)} records")
print(f"ok: /predict answered {len(answer)} predictions for {len(records)} records")
EOF
times=()
for _ in $(seq "$requests"); do
  out=$(curl -sS -o /dev/null -w '%{http_code} %{time_total}' --max-time 30 -X POST "$url/predict" \
    "${headers[@]}" -d @"$example")
  [ "${out%% *}" = 200 ] || { echo "FAIL: /predict answered HTTP ${out%% *}" >&2; exit 1; }
  times+=("${out#* }")
done
p95=$(printf '%s\n' "${times[@]}" | sort -g | awk '{t[NR] = $1} END {i = int(NR * 0.95 + 0.999); print int(t[i] * 1000)}')
if [ "$p95" -gt "$budget" ]; then
  echo "FAIL: p95 latency ${p95} ms over $requests requests exceeds MAX_P95_MS=$budget" >&2
  exit 1
fi
echo "ok: p95 latency ${p95} ms over $requests requests (budget $budget ms) at $url"
