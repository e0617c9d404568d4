"""Figure 4 — pipeline overhead: `copier copy` -> stack -> trained, gated, registered -> deployed
and answering -> stopped, wall time of each phase, on a fresh rendering with the default answers.

The rendered project reuses this checkout's installed .venv (a symlink) instead of installing
again: the figure is about the template's own overhead with a warm package cache, not pip/uv.
ZenML, MLflow and BentoML state live in the rendered project's .state (isolated from the machine).

    python benchmarks/pipeline_overhead.py [--keep DIR] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, isolated_env, write_result  # noqa: E402

from adapters.state import DEFAULT_STATE_DIR  # noqa: E402
from bentos import local_server  # noqa: E402

STEP_TIME = re.compile(r"Step `?([\w]+)`? has finished in `?([\d.]+)s`?")
STEP_TIME_MIN = re.compile(r"Step `?([\w]+)`? has finished in `?(\d+)m([\d.]+)s`?")


def step_times(output: str) -> dict[str, float]:
    """ZenML's 'Step X has finished in Ns' lines."""
    times = {name: float(s) for name, s in STEP_TIME.findall(output)}
    times.update({name: 60 * float(m) + float(s) for name, m, s in STEP_TIME_MIN.findall(output)})
    return times


def run(phases: dict, name: str, command: list[str], cwd: Path, env: dict, timeout: int = 900):
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(
            f"{name} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    output = result.stdout + result.stderr
    phases[name] = {"seconds": round(seconds, 2), "steps_s": step_times(output)}
    print(f"  {name:10} {seconds:6.1f} s", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="render here and keep the project (default: a temp dir)")
    parser.add_argument("--smoke", action="store_true", help="render + stack only; results not recorded")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="andamio-overhead-"))
    project = base / "customer-scoring"
    if project.exists():
        shutil.rmtree(project)
    env = isolated_env(project / DEFAULT_STATE_DIR)
    python = str(project / ".venv/bin/python")
    phases: dict = {}
    started = time.perf_counter()
    run(
        phases,
        "render",
        [
            str(Path(sys.executable).parent / "copier"),
            "copy",
            "--defaults",
            "--trust",
            "--vcs-ref",
            "HEAD",
            "--quiet",
            str(ROOT),
            str(project),
        ],
        base,
        env,
    )
    (project / ".venv").symlink_to(ROOT / ".venv")  # the warm environment, instead of scripts/install.sh
    run(phases, "stack", [python, "run.py", "stack", "apply", "local"], project, env)
    if not args.smoke:
        train = run(phases, "train", [python, "run.py", "train"], project, env)
        phases["train"]["promotion"] = next(
            (line for line in train.stdout.splitlines() if line.startswith("Promotion:")), "?"
        )
        port = local_server.free_port()
        serving = project / DEFAULT_STATE_DIR / "serving-port.yaml"
        serving.write_text(f"port: {port}\n")  # the defaults but a free port (others may hold 3000)
        deploy = run(phases, "deploy", [python, "run.py", "deploy", "--config", str(serving)], project, env)
        try:
            example = Path(re.search(r"-d @(\S+)", deploy.stdout).group(1))  # the printed curl example
            mark = time.perf_counter()
            status, body = local_server.http_json(
                f"http://127.0.0.1:{port}/predict", json.loads(example.read_text())
            )
        except BaseException:
            subprocess.run([python, "run.py", "undeploy"], cwd=project, env=env, timeout=120, check=False)
            raise
        phases["request"] = {
            "seconds": round(time.perf_counter() - mark, 3),
            "status": status,
            "answer": body if status == 200 else str(body)[:300],
        }
        if status != 200:
            subprocess.run([python, "run.py", "undeploy"], cwd=project, env=env, timeout=120, check=False)
            raise RuntimeError(f"the deployed service answered {status}: {body}")
        run(phases, "undeploy", [python, "run.py", "undeploy"], project, env)
    total = time.perf_counter() - started
    training = yaml_config(project)
    figure = {
        "total_s": round(total, 1),
        "target_s": 90,
        "target_met": total <= 90,
        "phases": phases,
        "install": "skipped: the rendered project links this checkout's installed .venv (warm cache)",
        "search_candidates": len(training["search"]["candidates"]),
        "project": str(project),
    }
    print(json.dumps({"total_s": figure["total_s"], **{k: v["seconds"] for k, v in phases.items()}}))
    if not args.smoke:
        print("wrote", write_result("pipeline_overhead", figure))
    if args.keep is None:
        shutil.rmtree(base, ignore_errors=True)


def yaml_config(project: Path) -> dict:
    import yaml

    return yaml.safe_load((project / "configs/training.yaml").read_text())


if __name__ == "__main__":
    main()
