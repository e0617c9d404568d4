"""What the CI/CD workflows read from the CLI: `run.py train --outputs` hands the new version and its
promotion stage to cd's gate; `run.py monitor --defer-retraining --outputs` reports a retraining
request (nightly then starts cd) without training in place."""

import json
import sqlite3
import time
from datetime import date

import pytest
import yaml

from adapters.evidently_workspace import INCIDENTS_PANEL, RETRAININGS_PANEL
from adapters.state import StatePaths
from bentos.inference_log import DDL, TABLE
from ml.alerts import RUNBOOK_SERVING
from tests.e2e.harness import MODEL_NAME, PROJECT_ROOT, must, probe, run_cli
from tests.unit.test_evidently_workspace import dashboard_series

pytestmark = pytest.mark.e2e


def read_outputs(path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


@pytest.fixture(scope="module")
def trained(demo_release):
    """The demo trained with `--outputs` (tests/e2e/conftest.py)."""
    return demo_release


def test_train_outputs_name_the_version_and_its_stage_for_the_gate(trained):
    values = read_outputs(trained["outputs"])
    assert set(values) == {"model_version", "stage", "primary_metric"}, values
    assert (values["model_version"], values["stage"]) == ("1", "production"), values
    assert f"precision = {float(values['primary_metric']):.3f}" in trained["out"], trained["out"][-1500:]


def monitor(trained, name: str, drift: float, defer: bool = True, thresholds: dict | None = None):
    state = trained["state"]
    window = state / f"window-{name}.yaml"
    window.write_text(yaml.safe_dump({"customers": 3000, "drift": drift}))
    monitoring = state / f"monitoring-{name}.yaml"
    monitoring.write_text(yaml.safe_dump({"webhook": {"dry_run": True}, "thresholds": thresholds or {}}))
    outputs = state / f"monitor-{name}"
    when = ["--date", "2026-04-01" if drift else "2026-04-02"] if defer else []  # no --date: today
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
            *when,
            *(["--defer-retraining"] if defer else []),
            "--outputs",
            str(outputs),
        )
    ).stdout
    return out, read_outputs(outputs)


def records(trained) -> tuple[list[dict], list[dict], dict[str, list[float]]]:
    """The audit log, the incident log and the Evidently dashboard's series, as a user finds them."""
    paths = StatePaths(trained["state"] / "project")
    audit = [json.loads(line) for line in paths.audit_log.read_text().splitlines()]
    incidents = [json.loads(line) for line in paths.incident_log.read_text().splitlines()]
    from evidently.ui.workspace import Workspace

    project = next(p for p in Workspace(str(paths.evidently)).list_projects() if p.name == MODEL_NAME)
    return audit, incidents, dashboard_series(str(paths.evidently), project.id)[1]


def training_runs(trained) -> int:
    store = probe(PROJECT_ROOT, trained["env"], MODEL_NAME)
    return sum(run["pipeline"] == "training_pipeline" for run in store["runs"])


def test_a_breach_reports_a_retraining_request_without_training_here(trained):
    before = training_runs(trained)
    out, values = monitor(trained, "drifted", drift=1.0)
    assert values["retrain"] == "true" and int(values["breaches"]) >= 1, values
    assert "Retraining requested / Reentrenamiento solicitado" in out, out[-1500:]
    assert training_runs(trained) == before, "--defer-retraining must leave training to the cd workflow"
    audit, incidents, dashboard = records(trained)
    assert [a["what"] for a in audit[-2:]] == ["alert", "retraining deferred"], audit[-3:]
    assert "retraining" not in [a["what"] for a in audit], "no record says a retraining ran"
    assert "deferred" in incidents[-1]["mitigation"] and "aplazado" in incidents[-1]["mitigacion"], incidents[
        -1
    ]
    assert "lanzado" not in json.dumps(incidents[-1]), "the incident must not say a retraining was launched"
    assert sum(dashboard[RETRAININGS_PANEL]) == 0 and sum(dashboard[INCIDENTS_PANEL]) == 1, dashboard
    must(run_cli(PROJECT_ROOT, trained["env"], "brief", "--project", str(trained["project"])))
    brief = (StatePaths(trained["state"] / "project").reports / "brief.md").read_text()
    assert "| Retrainings | 0 |" in brief or "0 retrainings" in brief, brief[:3000]


def test_no_breach_reports_no_retraining(trained):
    _, values = monitor(trained, "calm", drift=0.0)
    assert values == {"breaches": "0", "retrain": "false"}, values


def test_a_serving_latency_breach_alerts_and_opens_an_incident_but_does_not_retrain(trained):
    """A slow service is the serving runbook's business: a retrained model would not fix it."""
    paths = StatePaths(trained["state"] / "project")
    conn = sqlite3.connect(paths.inference_log)
    conn.execute(DDL)
    now = time.time()
    rows = [(now - 3600 + i, f"r{i}", "/predict", "1", str(i), "{}", "good", 0.9, 900.0) for i in range(50)]
    with conn:
        conn.executemany(f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.close()
    before = training_runs(trained)
    out, values = monitor(trained, "slow", drift=0.0, defer=False, thresholds={"p99_latency_ms": 250})
    assert values == {"breaches": "1", "retrain": "false"}, f"{values}\n{out[-2000:]}"
    assert training_runs(trained) == before, "a latency breach must not launch a training"
    audit, incidents, dashboard = records(trained)
    assert audit[-1]["what"] == "alert" and "serving runbook" in audit[-1]["details"]["action"], audit[-1]
    assert incidents[-1]["runbook_url"] == RUNBOOK_SERVING, incidents[-1]
    assert "latency_p99_ms" in incidents[-1]["detection"] and "retrain" not in incidents[-1]["mitigation"]
    assert sum(dashboard[RETRAININGS_PANEL]) == 0, dashboard
    assert date.today().isoformat() in out, "the window is today's"
