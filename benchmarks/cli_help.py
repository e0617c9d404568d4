"""Figure 5 — CLI start-up: wall time of `python run.py --help` (Click, imports nothing heavy) against,
in the same run, the interpreter alone (`python -c pass`), ZenML's own CLI (`zenml --help`) and the
argparse run.py it replaced (taken from git, run from the checkout's root with PYTHONPATH=.).

Every measurement is a fresh process; after one unmeasured warm-up of each command, the rounds run
the four back to back in a rotating order and the figure is each command's median (and fastest).
The modules each imports are counted once, with PYTHONPROFILEIMPORTTIME.

    python benchmarks/cli_help.py [--rounds 7] [--old-ref cf7d3fe] [--smoke]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, isolated_env, write_result  # noqa: E402

OLD_REF = "cf7d3fe"  # the last commit with the argparse run.py


def commands(old_run_py: Path) -> dict[str, list[str]]:
    python = sys.executable
    return {
        "run_py": [python, "run.py", "--help"],
        "argparse_run_py": [python, str(old_run_py), "--help"],
        "zenml": [str(Path(python).with_name("zenml")), "--help"],  # the venv's zenml command
        "python": [python, "-c", "pass"],
    }


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=True, timeout=120)
    return time.perf_counter() - started


def modules(command: list[str], env: dict[str, str]) -> int:
    """How many modules the command imports (one `import time:` line each on stderr)."""
    result = subprocess.run(
        command, cwd=ROOT, env={**env, "PYTHONPROFILEIMPORTTIME": "1"}, capture_output=True, text=True
    )
    return sum(line.startswith("import time:") and "|" in line for line in result.stderr.splitlines()) - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="measured runs of each command")
    parser.add_argument("--old-ref", default=OLD_REF, help="git commit of the argparse run.py")
    parser.add_argument("--smoke", action="store_true", help="one round; results not recorded")
    args = parser.parse_args()
    rounds = 1 if args.smoke else args.rounds
    work = Path(tempfile.mkdtemp(prefix="andamio-cli-help-"))
    old = work / "run_argparse.py"
    show = ["git", "show", f"{args.old_ref}:run.py"]
    old.write_text(subprocess.run(show, cwd=ROOT, capture_output=True, text=True, check=True).stdout)
    env = {**isolated_env(work / "state"), "PYTHONPATH": str(ROOT)}
    runs = commands(old)
    for command in runs.values():  # warm-up: page cache, .pyc files
        timed(command, env)
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for i in range(rounds):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            seconds[name].append(round(timed(runs[name], env), 4))
    figure = {
        "rounds": rounds,
        "old_ref": args.old_ref,
        "commands": {
            name: {
                "argv": [Path(word).name if word.startswith("/") else word for word in runs[name]],
                "seconds": seconds[name],
                "median_s": round(statistics.median(seconds[name]), 3),
                "fastest_s": min(seconds[name]),
                "modules": modules(runs[name], env),
            }
            for name in runs
        },
    }
    median = {name: figure["commands"][name]["median_s"] for name in runs}
    figure["ratio_argparse_over_click"] = round(median["argparse_run_py"] / median["run_py"], 1)
    figure["ratio_zenml_over_click"] = round(median["zenml"] / median["run_py"], 1)
    figure["target_s"] = 1.5
    figure["target_met"] = median["run_py"] < figure["target_s"]
    for name, value in median.items():
        print(f"  {name:16} median {value:.3f} s, {figure['commands'][name]['modules']} modules", flush=True)
    if not args.smoke:
        print(f"wrote {write_result('cli_help', figure)}")


if __name__ == "__main__":
    main()
