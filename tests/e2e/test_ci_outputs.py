"""What the CI/CD workflows read from the CLI: `run.py train --outputs` hands the new version and its
promotion stage to cd's gate; `run.py monitor --defer-retraining --outputs` reports a retraining
request (nightly then starts cd) without training in place."""

import pytest
import yaml

from tests.e2e.harness import MODEL_NAME, PROJECT_ROOT, demo_stack, must, probe, run_cli, training_config

pytestmark = pytest.mark.e2e


def read_outputs(path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    state = tmp_path_factory.mktemp("ci-outputs")
    env, project = demo_stack(state)
    config = training_config(state, "training", search={"candidates": [{}]})
    outputs = state / "train-outputs"
    out = must(
        run_cli(
            PROJECT_ROOT,
            env,
            "train",
            "--project",
            str(project),
            "--config",
            config,
            "--outputs",
            str(outputs),
        )
    ).stdout
    return {"state": state, "env": env, "project": project, "config": config, "outputs": outputs, "out": out}


def test_train_outputs_name_the_version_and_its_stage_for_the_gate(trained):
    values = read_outputs(trained["outputs"])
    assert set(values) == {"model_version", "stage", "primary_metric"}, values
    assert (values["model_version"], values["stage"]) == ("1", "production"), values
    assert f"precision = {float(values['primary_metric']):.3f}" in trained["out"], trained["out"][-1500:]


def monitor(trained, name: str, drift: float):
    state = trained["state"]
    window = state / f"window-{name}.yaml"
    window.write_text(yaml.safe_dump({"customers": 3000, "drift": drift}))
    monitoring = state / "monitoring.yaml"
    monitoring.write_text(yaml.safe_dump({"webhook": {"dry_run": True}}))
    outputs = state / f"monitor-{name}"
    out = must(
        run_cli(
            PROJECT_ROOT,
            trained["env"],
            "monitor",
            "--project",
            str(trained["project"]),
            "--config",
            str(monitoring),
            "--scoring-config",
            str(window),
            "--training-config",
            trained["config"],
            "--date",
            "2026-04-01" if drift else "2026-04-02",
            "--defer-retraining",
            "--outputs",
            str(outputs),
        )
    ).stdout
    return out, read_outputs(outputs)


def training_runs(trained) -> int:
    store = probe(PROJECT_ROOT, trained["env"], MODEL_NAME)
    return sum(run["pipeline"] == "training_pipeline" for run in store["runs"])


def test_a_breach_reports_a_retraining_request_without_training_here(trained):
    before = training_runs(trained)
    out, values = monitor(trained, "drifted", drift=1.0)
    assert values["retrain"] == "true" and int(values["breaches"]) >= 1, values
    assert "Retraining requested / Reentrenamiento solicitado" in out, out[-1500:]
    assert training_runs(trained) == before, "--defer-retraining must leave training to the cd workflow"


def test_no_breach_reports_no_retraining(trained):
    _, values = monitor(trained, "calm", drift=0.0)
    assert values == {"breaches": "0", "retrain": "false"}, values
