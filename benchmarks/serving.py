"""Figure 1 — serving: the Bento service vs `mlflow models serve` vs a FastAPI + joblib service, on
the same production model, loaded with `hey` (requests/s, p50/p99) for 1-row and 100-row requests at
1, 10 and 50 concurrent clients; plus the model call alone (Bento's native path, the scikit-learn
wrapper, the raw booster) timed in-process.

    python benchmarks/serving.py [--seconds 10] [--smoke] [--state DIR]

The three servers (one worker each, 127.0.0.1) are up together; each cell is measured on each of them
back to back in a rotating order, twice, and the median is kept. `hey` runs on the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, helper, hey, machine, trained_state, write_result  # noqa: E402

from bentos import local_server  # noqa: E402

CONCURRENCY = (1, 10, 50)
ROWS = (1, 100)


def request_rows(schema: dict, n: int) -> list[dict]:
    """``n`` customers of another seed than training, as API records (id + features)."""
    from ml.data.demo import generate_demo
    from ml.features import build_customer_features

    tables = generate_demo(customers=max(n, 200), seed=7)
    frame = build_customer_features(tables.customers, tables.sales).head(n)
    columns = [*(f["name"] for f in schema["features"]), schema["id_column"]]
    return json.loads(frame[columns].to_json(orient="records"))


def servers(model: dict, state: Path, env: dict) -> dict:
    """name -> (command, extra env, predict path, readiness path, body builder)."""
    features = [f["name"] for f in json.loads(Path(model["dir"], "schema.json").read_text())["features"]]
    return {
        "bento": (
            [sys.executable, "-m", "bentoml", "serve", "bentos.service:ScoringService"],
            {
                "SERVING_MODEL_TAG": model["bento_model_tag"],
                "SERVING_INFERENCE_LOG": str(state / "bench_inference_log.sqlite"),
            },
            "/predict",
            "/readyz",
            lambda rows: {"records": rows},
        ),
        "mlflow": (
            [
                sys.executable,
                "-m",
                "mlflow",
                "models",
                "serve",
                "-m",
                model["mlflow_model_uri"],
                "--env-manager",
                "local",
                "--workers",
                "1",
            ],
            {"MLFLOW_TRACKING_URI": model["mlflow_tracking_uri"]},
            "/invocations",
            "/ping",
            lambda rows: {"dataframe_records": [{k: r[k] for k in features} for r in rows]},
        ),
        "fastapi": (
            [
                sys.executable,
                "-m",
                "uvicorn",
                "benchmarks.peers.fastapi_joblib:app",
                "--workers",
                "1",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            {"MODEL_DIR": model["dir"]},
            "/predict",
            "/health",
            lambda rows: {"records": rows},
        ),
    }


def wait_ok(url: str, process: subprocess.Popen, log: Path, timeout: float = 120) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            break
        try:
            if local_server.http_json(url, timeout=2)[0] == 200:
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.25)
    raise local_server.ServerError(
        f"{url} not ready after {time.monotonic() - started:.0f}s\n{log.read_text(errors='replace')[-3000:]}"
    )


def start_server(name, spec, env, work: Path):
    command, extra, path, ready, _ = spec
    port = local_server.free_port()
    log = work / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env={**env, **extra},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, f"http://127.0.0.1:{port}", log


def load_all(specs: dict, env, rows, work: Path, seconds: float, rounds: int) -> dict:
    """All servers up at once (idle ones cost nothing); every cell (rows x clients) is measured on
    each server back to back, in a rotating order, ``rounds`` times: the peers of a cell see the
    same machine load, which other work on a shared machine makes vary from minute to minute."""
    started = {name: start_server(name, spec, env, work) for name, spec in specs.items()}
    results: dict = {name: {"runs": []} for name in specs}
    try:
        bodies = {}
        for name, (process, url, log) in started.items():
            _, _, path, ready, body_of = specs[name]
            results[name]["startup_s"] = round(wait_ok(url + ready, process, log), 2)
            results[name]["url_path"] = path
            for n in ROWS:
                body = work / f"{name}-{n}.json"
                body.write_text(json.dumps(body_of(rows[:n])))
                status, answer = local_server.http_json(url + path, json.loads(body.read_text()))
                if status != 200:
                    raise local_server.ServerError(f"{name} answered {status}: {str(answer)[:500]}")
                hey(url + path, body, 4, min(seconds, 2))  # warm-up
                bodies[name, n] = body
        names = list(specs)
        for round_ in range(rounds):
            for n in ROWS:
                for c in CONCURRENCY:
                    order = names[round_ % len(names) :] + names[: round_ % len(names)]
                    for name in order:
                        _, url, _ = started[name]
                        result = hey(url + specs[name][2], bodies[name, n], c, seconds)
                        print(
                            f"  round {round_} {name:8} rows={n:<4} c={c:<3} {result['requests_per_s']:9.1f} "
                            f"req/s p50 {result['p50_ms']:7.2f} ms p99 {result['p99_ms']:7.2f} ms",
                            flush=True,
                        )
                        results[name]["runs"].append({"round": round_, "rows": n, **result})
    finally:
        for process, _, _ in started.values():
            local_server.stop(process.pid, process)
    for result in results.values():
        result["cells"] = [
            median_cell([r for r in result["runs"] if r["rows"] == n and r["concurrency"] == c])
            for n in ROWS
            for c in CONCURRENCY
        ]
    return results


def median_cell(runs: list[dict]) -> dict:
    """The median of the rounds for requests/s, p50 and p99 (each on its own)."""
    return {
        "rows": runs[0]["rows"],
        "concurrency": runs[0]["concurrency"],
        "rounds": len(runs),
        **{
            k: round(statistics.median(r[k] for r in runs), 2) for k in ("requests_per_s", "p50_ms", "p99_ms")
        },
        "errors": sum(n for r in runs for code, n in r["status_codes"].items() if code != "200"),
    }


def model_call(model: dict, rows: list[dict]) -> dict:
    """Median µs per call: Bento's native path (records -> matrix -> booster), the raw booster on a
    ready matrix, and the scikit-learn pipeline on a DataFrame (what the peers call)."""
    import bentoml
    import joblib
    import lightgbm
    import pandas as pd

    from bentos.bundle import NativeModel
    from ml.features import FeatureSchema
    from ml.training import as_model_input

    native = NativeModel.load(Path(bentoml.models.get(model["bento_model_tag"]).path))
    booster = lightgbm.Booster(model_file=str(Path(model["dir"], "booster.txt")))
    release = joblib.load(Path(model["dir"], "model.joblib"))
    schema = FeatureSchema.from_dict(json.loads(Path(model["dir"], "schema.json").read_text()))

    def median_us(func, repeat):
        func()
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            func()
            times.append(time.perf_counter() - started)
        return round(statistics.median(times) * 1e6, 1)

    out = {}
    for n in ROWS:
        batch = rows[:n]
        matrix = native.matrix(batch)
        frame = as_model_input(pd.DataFrame.from_records(batch), schema)
        repeat = 2000 if n == 1 else 300
        out[f"{n}_rows"] = {
            "bento_native_us": median_us(lambda b=batch: native.predict_proba(b), repeat),
            "raw_booster_us": median_us(lambda m=matrix: booster.predict(m, num_threads=1), repeat),
            "sklearn_pipeline_us": median_us(lambda f=frame: release.predict_proba(f), repeat // 4),
        }
        print(f"  model call rows={n}: {out[f'{n}_rows']}", flush=True)
    return out


def summarise(results: dict) -> dict:
    def run(name, rows, c):
        return next(r for r in results[name]["cells"] if r["rows"] == rows and r["concurrency"] == c)

    ratios = {}
    for rows in ROWS:
        for c in CONCURRENCY:
            bento = run("bento", rows, c)["requests_per_s"]
            ratios[f"{rows}row_c{c}"] = {
                "vs_mlflow": round(bento / run("mlflow", rows, c)["requests_per_s"], 2),
                "vs_fastapi": round(bento / run("fastapi", rows, c)["requests_per_s"], 2),
            }
    one = run("bento", 1, 1)
    targets = {
        "single_row_p50_le_3ms": one["p50_ms"] <= 3,
        "single_row_p99_le_10ms": one["p99_ms"] <= 10,
        "rps_c10_c50_ge_1.5x_mlflow": all(
            ratios[f"{r}row_c{c}"]["vs_mlflow"] >= 1.5 for r in ROWS for c in (10, 50)
        ),
        "rps_c10_c50_ge_1.0x_fastapi": all(
            ratios[f"{r}row_c{c}"]["vs_fastapi"] >= 1.0 for r in ROWS for c in (10, 50)
        ),
    }
    return {"ratios": ratios, "targets": targets}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="hey duration per run")
    parser.add_argument("--rounds", type=int, default=2, help="measurements of each cell per server")
    parser.add_argument("--state", type=Path, default=Path("/tmp/andamio-bench/state"))
    parser.add_argument("--only", nargs="*", default=["bento", "mlflow", "fastapi"])
    parser.add_argument("--smoke", action="store_true", help="1 s per run, results not recorded")
    args = parser.parse_args()
    seconds = 1.0 if args.smoke else args.seconds

    env, _ = trained_state(args.state)
    model = helper(env, str(args.state / "export"))
    os.environ.update({k: v for k, v in env.items() if k.startswith(("BENTOML_", "ZENML_", "MLFLOW_"))})
    schema = json.loads(Path(model["dir"], "schema.json").read_text())
    rows = request_rows(schema, max(ROWS))
    env = {**env, "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}"}  # mlflow execs uvicorn
    work = args.state / "serving-bench"
    work.mkdir(parents=True, exist_ok=True)
    started = machine()
    specs = {name: spec for name, spec in servers(model, args.state, env).items() if name in args.only}
    results = load_all(specs, env, rows, work, seconds, 1 if args.smoke else args.rounds)
    figure = {
        "model": {
            k: model[k]
            for k in ("model_name", "version", "release_type", "bento_model_tag", "mlflow_model_uri")
        },
        "hey_seconds_per_run": seconds,
        "rounds": 1 if args.smoke else args.rounds,
        "load_average_before": started["load_average_at_end"],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "servers": results,
        "model_call": model_call(model, rows),
    }
    if set(results) == {"bento", "mlflow", "fastapi"}:
        figure.update(summarise(results))
        print(json.dumps(figure["targets"]))
    if not args.smoke:
        print("wrote", write_result("serving", figure))


if __name__ == "__main__":
    main()
