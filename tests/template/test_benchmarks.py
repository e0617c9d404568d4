"""benchmarks/ (template only): the load tool's output is parsed right and the README table is
rebuilt from the recorded results. The benchmarks themselves are figures, not tests: not run here."""

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(BENCH))


def load(name):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HEY_CSV = """response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,status-code,offset
0.0010,0.0001,0,0,0.0009,0,200,0.0000
0.0020,0,0,0,0.0019,0,200,0.0011
0.0030,0,0,0,0.0029,0,200,0.0032
0.0100,0,0,0,0.0099,0,500,0.0063
"""


def test_hey_csv_gives_requests_per_second_nearest_rank_percentiles_and_status_counts():
    parsed = load("common").parse_hey_csv(HEY_CSV)
    assert parsed["requests"] == 4, parsed
    assert parsed["requests_per_s"] == pytest.approx(4 / 0.0163, rel=1e-3), (
        "count over first start..last answer"
    )
    assert (parsed["p50_ms"], parsed["p99_ms"]) == (2.0, 10.0), parsed
    assert parsed["status_codes"] == {"200": 3, "500": 1}, parsed


def test_hey_csv_without_requests_is_an_error_not_a_zero():
    with pytest.raises(ValueError, match="hey answered no request"):
        load("common").parse_hey_csv(HEY_CSV.splitlines()[0])


def test_readme_table_is_rebuilt_from_the_recorded_results_of_every_figure(tmp_path, monkeypatch):
    run_all = load("run_all")
    results = tmp_path / "results"
    shutil.copytree(BENCH / "results", results)
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{run_all.START}\nstale table\n{run_all.END}\nnotes\n")
    monkeypatch.setattr(run_all, "RESULTS", results)
    monkeypatch.setattr(run_all, "README", readme)
    run_all.render_readme()
    text = readme.read_text()
    assert "stale table" not in text and text.startswith("intro\n") and text.endswith("notes\n"), text
    recorded = {p.stem for p in results.glob("*.json")}
    assert recorded == set(run_all.FIGURES), f"every figure has a recorded result, got {sorted(recorded)}"
    for label in (
        "| Serving, 1 row, 1 client |",
        "| Batch scoring, 1,000,000 customers",
        "| Drift, 1,000,000-row",
        "| Pipeline overhead",
        "| CLI start-up: `run.py --help`",
        "| Training on Dask, ",
    ):
        assert label in text, f"{label!r} missing from the table:\n{text}"
    machine = json.loads((results / "serving.json").read_text())["machine"]
    assert machine["cpu"] in text, "the table names the machine"


def test_the_committed_readme_shows_the_recorded_results():
    run_all = load("run_all")
    results = {name: json.loads((BENCH / "results" / f"{name}.json").read_text()) for name in run_all.FIGURES}
    readme = (BENCH / "README.md").read_text()
    assert run_all.table(results) in readme, "run `benchmarks/run_all.py --readme` after recording results"
