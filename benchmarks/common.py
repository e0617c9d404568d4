"""Shared by the benchmark scripts: the machine and versions, an isolated trained project, `hey`
runs and their parsing, peak memory, and the results files. Plain code, no ZenML import."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
PACKAGES = (
    "zenml",
    "bentoml",
    "mlflow",
    "lightgbm",
    "scikit-learn",
    "pandas",
    "evidently",
    "fastapi",
    "uvicorn",
)
sys.path.insert(0, str(ROOT))

from tests.e2e.harness import isolated_env, must, project_config_copy, run_cli, run_json  # noqa: E402  (one definition of isolation)


def machine() -> dict:
    """CPU, cores, memory, OS, Python and the versions of the libraries measured."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    hey = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "hey"], capture_output=True, text=True)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024**2, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": {name: metadata.version(name) for name in PACKAGES} | {"hey": hey.stdout or "?"},
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }


def _from_root(script: str) -> str:
    """The script as run from the checkout's root (run_all passes absolute paths)."""
    path = Path(script).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else script


def write_result(name: str, figure: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    figure = {
        "figure": name,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join([Path(sys.executable).name, _from_root(sys.argv[0]), *sys.argv[1:]]),
        "machine": machine(),
        **figure,
    }
    path.write_text(json.dumps(figure, indent=1, default=str) + "\n")
    return path


def peak_rss_mb() -> float:
    """This process's peak resident set size (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def rss_mb() -> float:
    """This process's resident set size now."""
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("VmRSS"))
    return round(int(line.split()[1]) / 1024, 1)


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (VmHWM) so that a later ``peak_rss_mb_since_reset`` covers only
    what follows (Linux: write 5 to /proc/self/clear_refs). False when the kernel refuses."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mb_since_reset() -> float:
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("VmHWM"))
    return round(int(line.split()[1]) / 1024, 1)


# --- A trained project in an isolated state -------------------------------------------------------


def trained_state(state: Path) -> tuple[dict[str, str], Path]:
    """The root reference project trained (stack `local`, `run.py train`) with its ZenML, MLflow and
    BentoML state under ``state``; reused when ``state`` already holds a production model."""
    env = isolated_env(state)
    marker = state / "trained.json"
    if marker.is_file():
        return env, Path(json.loads(marker.read_text())["project_config"])
    state.mkdir(parents=True, exist_ok=True)
    must(run_cli(ROOT, env, "stack", "apply", "local"))
    project = project_config_copy(ROOT, state)
    train = must(run_cli(ROOT, env, "train", "--project", str(project)))
    if "Promotion: production" not in train.stdout:
        raise RuntimeError(f"the trained model was not promoted to production:\n{train.stdout[-3000:]}")
    marker.write_text(json.dumps({"project_config": str(project)}))
    return env, project


def helper(env: dict[str, str], *args: str, timeout: int = 600) -> dict:
    """Run ``benchmarks/export_model.py ARGS`` in the isolated environment; its last line is JSON."""
    return run_json([sys.executable, str(ROOT / "benchmarks/export_model.py"), *args], ROOT, env, timeout)


# --- Load with hey --------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def parse_hey_csv(output: str) -> dict:
    """requests/s, p50/p90/p99 (ms) and responses per status code from `hey -o csv` (one line per
    request: response-time, DNS+dialup, DNS, request-write, response-delay, response-read,
    status-code, offset); requests/s over the span from the first start to the last answer."""
    rows = list(csv.DictReader(io.StringIO(output)))
    if not rows:
        raise ValueError(f"hey answered no request:\n{output[-2000:]}")
    latencies = sorted(float(r["response-time"]) * 1000 for r in rows)
    span = max(float(r["offset"]) + float(r["response-time"]) for r in rows)
    codes: dict[str, int] = {}
    for r in rows:
        codes[r["status-code"]] = codes.get(r["status-code"], 0) + 1
    return {
        "requests": len(rows),
        "requests_per_s": round(len(rows) / span, 1),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p90_ms": round(percentile(latencies, 90), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "status_codes": codes,
    }


def hey(url: str, body: Path, concurrency: int, seconds: float, headers: dict | None = None) -> dict:
    """`hey -z Ns -c N -m POST -T application/json -D body -o csv URL`, parsed."""
    command = ["hey", "-z", f"{seconds}s", "-c", str(concurrency), "-m", "POST", "-T", "application/json"]
    for key, value in (headers or {}).items():
        command += ["-H", f"{key}: {value}"]
    command += ["-D", str(body), "-o", "csv", url]
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    return {"concurrency": concurrency, "seconds": seconds, **parse_hey_csv(result.stdout)}
