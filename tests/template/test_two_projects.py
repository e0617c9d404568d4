"""Two projects made with the same default answers on one machine, sharing one BentoML store (as
every project shares ~/bentoml unless told otherwise): each trained on its own seed and deployed in
turn, each serves its own registered model."""

from __future__ import annotations

import json
import sys

import pytest
import yaml

from bentos import local_server
from tests.e2e.harness import isolated_env, must, project_config_copy, run_cli, run_json
from tests.template.conftest import render

pytestmark = pytest.mark.e2e


def _project(tmp_path_factory, name: str, seed: int, bento_home):
    root = render(tmp_path_factory.mktemp(name) / "customer-scoring")
    state = tmp_path_factory.mktemp(f"{name}-state")
    env = {**isolated_env(state), "BENTOML_HOME": str(bento_home)}
    must(run_cli(root, env, "stack", "apply", "local"))
    project = project_config_copy(root, state, demo={"path": str(state / "demo.sqlite"), "customers": 1500})
    raw = yaml.safe_load((root / "configs/training.yaml").read_text())
    raw.update(seed=seed, search={"candidates": [{}]})
    raw["promotion"]["min_primary_metric"] = 0.5
    raw["fairness"].update(
        min_demographic_parity_ratio=0.0, max_equalized_odds_difference=1.0, mitigation="none"
    )
    (state / "training.yaml").write_text(yaml.safe_dump(raw))
    port = local_server.free_port()
    (state / "serving.yaml").write_text(yaml.safe_dump({"port": port}))
    must(run_cli(root, env, "train", "--project", str(project), "--config", str(state / "training.yaml")))
    model_name = yaml.safe_load((root / "configs/project.yaml").read_text())["model_name"]
    probe = run_json([sys.executable, "-m", "tests.e2e.release_probe", model_name], root, env)
    return {"root": root, "env": env, "project": project, "state": state, "port": port, "probe": probe}


def _deploy(p) -> str:
    out = must(
        run_cli(
            p["root"],
            p["env"],
            "deploy",
            "--project",
            str(p["project"]),
            "--config",
            str(p["state"] / "serving.yaml"),
        )
    ).stdout
    return out


def _served(p):
    records = p["probe"]["test"]["records"][:200]
    status, body = local_server.http_json(f"http://127.0.0.1:{p['port']}/predict", {"records": records})
    assert status == 200, (status, body)
    return [answer["probability"] for answer in body]


def _worst(got, want) -> float:
    return max(abs(a - b) for a, b in zip(got, want, strict=False))


def test_two_default_projects_each_serve_their_own_model(tmp_path_factory):
    shared = tmp_path_factory.mktemp("shared-bentoml")
    first = _project(tmp_path_factory, "first", 7, shared)
    second = _project(tmp_path_factory, "second", 13, shared)
    a, b = first["probe"], second["probe"]
    assert a["record"]["version"] == b["record"]["version"] == "1", "both projects' first version"
    assert a["record"]["bento_tag"] != b["record"]["bento_tag"], (
        a["record"]["bento_tag"],
        b["record"]["bento_tag"],
    )
    for p in (first, second):
        note = p["probe"]["record"]["code_reference"]
        assert note["git_commit"] is None and "is not in a git repository" in note["note"], note
    try:
        out_first = _deploy(first)
        assert a["record"]["bento_tag"] in out_first, out_first[-2000:]
        out_second = _deploy(second)
        assert b["record"]["bento_tag"] in out_second, out_second[-2000:]
        for p, other in ((first, second), (second, first)):
            served = _served(p)
            own = p["probe"]["test"]["proba"][: len(served)]
            assert _worst(served, own) <= 1e-9, f"{p['root']} serves another model: {_worst(served, own):.3g}"
            records = p["state"] / "records.json"
            records.write_text(json.dumps(p["probe"]["test"]["records"][:200]))
            model_name = other["probe"]["record"]["model_name"]
            theirs = run_json(
                [sys.executable, "-m", "tests.e2e.release_probe", model_name, str(records)],
                other["root"],
                other["env"],
            )
            assert _worst(served, theirs) > 1e-6, (
                "the two projects' models must differ for this test to mean anything"
            )
    finally:
        for p in (first, second):
            must(run_cli(p["root"], p["env"], "undeploy"))
