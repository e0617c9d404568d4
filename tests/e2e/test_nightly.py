"""Nightly batch scoring (and monitoring) as `run.py` runs them, on a temporary local stack with a
trained production model."""

import http.server
import itertools
import json
import re
import secrets
import shlex
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from adapters.scores_db import read_scores
from ml import names
from ml.brief import pct
from ml.data.demo import generate_demo
from ml.features import build_customer_features
from tests.e2e.harness import MODEL_NAME, PROJECT_ROOT, first_answer, json_api, must, probe, run_cli
from tests.e2e.postgres import postgres_server

pytestmark = pytest.mark.e2e
CUSTOMERS = 3000


@pytest.fixture(scope="module")
def nightly(demo_release):
    """The trained demo project (tests/e2e/conftest.py); its training config is state/training.yaml."""
    return demo_release


def scoring_config(state, name, **values):
    path = state / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"customers": CUSTOMERS, **values}))
    return str(path)


def score(nightly, day, config):
    return must(
        run_cli(
            PROJECT_ROOT,
            nightly["env"],
            "score",
            "--project",
            str(nightly["project"]),
            "--config",
            config,
            "--date",
            day,
        )
    ).stdout


def test_scores_are_written_per_date_and_a_rerun_replaces_them(nightly):
    config = scoring_config(nightly["state"], "sqlite")
    out = score(nightly, "2026-03-01", config)
    assert f"Scored {CUSTOMERS} rows for 2026-03-01 with model version 1" in out, out
    engine = sa.create_engine(f"sqlite:///{nightly['state'] / 'project' / 'scores.sqlite'}")
    first = read_scores(engine, "customer_scores")
    score(nightly, "2026-03-01", config)
    again = read_scores(engine, "customer_scores")
    pd.testing.assert_frame_equal(first, again, obj="a rerun of 2026-03-01")
    score(nightly, "2026-03-02", config)
    both = read_scores(engine, "customer_scores")
    engine.dispose()
    assert both.groupby("scoring_date").size().to_dict() == {"2026-03-01": CUSTOMERS, "2026-03-02": CUSTOMERS}
    assert not both.duplicated([names.ID, "scoring_date"]).any(), "one row per customer and date"
    assert set(both[names.TARGET]) == {names.GOOD, names.BAD} and both.probability.between(0, 1).all()
    assert (both.model_version == "1").all()


def test_scores_reach_a_real_postgresql_server_with_the_password_from_the_environment(nightly):
    password = f"pw-{secrets.token_hex(8)}"
    with postgres_server(password=password) as url:
        config = scoring_config(
            nightly["state"],
            "postgres",
            database_url=url.replace(f":{password}@", "@"),  # no secret in the YAML or in ZenML
            database_password_env="SCORES_DB_PASSWORD",
        )
        args = ("score", "--project", str(nightly["project"]), "--config", config, "--date", "2026-03-01")
        unset = run_cli(PROJECT_ROOT, nightly["env"], *args)
        assert unset.returncode == 2, unset.stdout[-3000:] + unset.stderr[-3000:]
        assert (
            "database_password_env names SCORES_DB_PASSWORD for the database password, which is not set"
            in (unset.stdout + unset.stderr)
        )
        out = must(run_cli(PROJECT_ROOT, {**nightly["env"], "SCORES_DB_PASSWORD": password}, *args)).stdout
        assert "postgresql+psycopg://andamio:***@127.0.0.1" in out and password not in out, out
        engine = sa.create_engine(url)
        rows = read_scores(engine, "customer_scores", pd.Timestamp("2026-03-01").date())
        engine.dispose()
    assert len(rows) == CUSTOMERS and rows[names.ID].is_unique, rows.head()


def test_scores_go_to_a_postgresql_schema_named_in_the_urls_search_path_on_both_engines(nightly):
    """`table: analytics.customer_scores` is refused naming this fix: the schema in database_url's
    search path. The pandas engine writes the date there, the Dask engine replaces it with the same
    rows through staging tables of that schema, and nothing lands in public."""
    day = date(2026, 3, 1)
    with postgres_server() as url:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE SCHEMA analytics"))
        in_schema = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3Danalytics"
        dotted = scoring_config(
            nightly["state"], "dotted", database_url=url, table="analytics.customer_scores"
        )
        refused = run_cli(PROJECT_ROOT, nightly["env"], "score", "--project", str(nightly["project"]),
                          "--config", dotted, "--date", day.isoformat())  # fmt: skip
        assert refused.returncode == 2 and "?options=-csearch_path%3Danalytics" in refused.stderr, (
            refused.stderr
        )
        rows = {}
        for name, extra in (
            ("pandas", {}),
            ("dask", {"engine": "dask", "dask": {"partition_rows": CUSTOMERS}}),
        ):
            score(nightly, day.isoformat(), scoring_config(nightly["state"], f"schema-{name}",
                                                           database_url=in_schema, **extra))  # fmt: skip
            reader = sa.create_engine(in_schema)
            rows[name] = read_scores(reader, "customer_scores", day).sort_values(names.ID, ignore_index=True)
            reader.dispose()
        tables = pd.read_sql(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema"
            " IN ('public', 'analytics')",
            engine,
        )
        engine.dispose()
    assert tables.values.tolist() == [["analytics", "customer_scores"]], tables
    assert len(rows["pandas"]) == CUSTOMERS, rows["pandas"].head()
    pd.testing.assert_frame_equal(rows["dask"], rows["pandas"], obj="the date replaced by the dask engine")


def test_a_category_unseen_in_training_is_scored_as_missing_and_named(nightly):
    """A flat table (CSV source) with a region the model never saw: every row is scored, and the
    run says which values of which column were scored as missing. So are rows whose tenure_months,
    never missing in training (the API refuses its null), is blank: counted in the output and the
    version's record, and scored as the model reads a number it never saw missing (LightGBM: 0)."""
    state, day = nightly["state"], date(2026, 3, 3)
    tables = generate_demo(customers=300, seed=8, as_of=day)
    flat = build_customer_features(tables.customers, tables.sales, day)
    flat.loc[:4, "region"] = "atlantis"
    flat.loc[[10, 20], "tenure_months"] = None
    twin = flat.loc[[10]].assign(**{names.ID: 999_999, "tenure_months": 0})  # row 10 with a 0
    flat = pd.concat([flat, twin], ignore_index=True)
    flat.to_csv(state / "flat_today.csv", index=False)
    project = yaml.safe_load(nightly["project"].read_text())
    project["data"].update(source="csv", path=str(state / "flat_today.csv"))
    (state / "project_csv.yaml").write_text(yaml.safe_dump(project))
    config = scoring_config(state, "unseen", table="unseen_scores")
    out = must(
        run_cli(
            PROJECT_ROOT,
            nightly["env"],
            *("score", "--project", str(state / "project_csv.yaml"), "--config", config),
            *("--date", day.isoformat()),
        )
    ).stdout
    assert "Scored 301 rows for 2026-03-03" in out, out
    assert "region: ['atlantis'] unseen in training, scored as missing values" in out, out
    assert "tenure_months: 2 rows without a value, never missing in training: scored as the model" in out
    engine = sa.create_engine(f"sqlite:///{state / 'project' / 'scores.sqlite'}")
    rows = read_scores(engine, "unseen_scores", day).set_index(names.ID)
    engine.dispose()
    atlantis = flat.loc[:4, names.ID].astype(str)
    assert rows.loc[atlantis, "probability"].between(0, 1).all(), rows.loc[atlantis]
    blank, zero = rows.loc[str(flat.loc[10, names.ID])], rows.loc["999999"]
    assert blank.probability == zero.probability and blank[names.TARGET] == zero[names.TARGET], (blank, zero)
    versions = probe(PROJECT_ROOT, nightly["env"], MODEL_NAME)["model_versions"]
    record = next(v for v in versions if v["stage"] == "production")["metadata"][names.LAST_BATCH_SCORING]
    assert record[names.MISSING_UNTRAINED] == {"tenure_months": 2}, record
    assert record[names.UNSEEN_CATEGORIES] == {"region": ["atlantis"]}, record


def test_a_bad_date_is_refused(nightly):
    result = run_cli(
        PROJECT_ROOT, nightly["env"], "score", "--project", str(nightly["project"]), "--date", "yesterday"
    )
    assert result.returncode == 2 and "--date 'yesterday' is not a date; use YYYY-MM-DD" in result.stderr


def test_a_schedule_on_the_local_orchestrator_is_refused_with_the_alternatives(nightly):
    """The local orchestrator cannot schedule: `--schedule` says so and names cron and the workflow,
    with the configured schedule (the shipped one, and another in schedule.cron)."""
    weekdays = nightly["state"] / "weekdays.yaml"
    weekdays.write_text(yaml.safe_dump({"schedule": {"cron": "15 4 * * 1-5"}}))
    for command, cron, config in (
        ("score", "0 2 * * *", ()),
        ("monitor", "30 2 * * *", ()),
        ("score", "15 4 * * 1-5", ("--config", str(weekdays))),
        ("monitor", "15 4 * * 1-5", ("--config", str(weekdays))),
    ):
        result = run_cli(
            PROJECT_ROOT, nightly["env"], command, "--project", str(nightly["project"]), *config, "--schedule"
        )
        assert result.returncode == 2, result.stdout + result.stderr
        for needle in (
            "cannot run schedules",
            f"{cron} cd ",
            f"run.py {command}",
            "nightly.yml",
            "zenml stack set",
        ):
            assert needle in result.stderr, f"{needle!r} missing: {result.stderr}"


class Receiver(http.server.BaseHTTPRequestHandler):
    bodies: list = []
    statuses: list = []  # the next POSTs' answers, in order; 200 when empty

    def do_POST(self):  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length", 0))
        Receiver.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(Receiver.statuses.pop(0) if Receiver.statuses else 200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def receiver():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


def training_runs(nightly):
    store = probe(PROJECT_ROOT, nightly["env"], MODEL_NAME)
    return [r for r in store["runs"] if r["pipeline"] == "training_pipeline"], store


def monitor(nightly, day, env, drift):
    config = scoring_config(nightly["state"], f"window-{drift}", drift=drift)
    return must(
        run_cli(
            PROJECT_ROOT,
            env,
            "monitor",
            "--project",
            str(nightly["project"]),
            "--date",
            day,
            "--scoring-config",
            config,
            "--training-config",
            str(nightly["state"] / "training.yaml"),
        )
    ).stdout


def test_no_drift_means_no_alert_and_no_retraining(nightly, receiver):
    before, _ = training_runs(nightly)
    out = monitor(nightly, "2026-03-05", {**nightly["env"], "ALERT_WEBHOOK_URL": receiver}, drift=0.0)
    after, _ = training_runs(nightly)
    assert "No threshold breached / Ningún umbral superado" in out, out
    assert Receiver.bodies == [], f"an alert was sent without drift: {Receiver.bodies}"
    assert len(after) == len(before), "training must not be launched without a breach"


def test_drift_alerts_in_both_languages_and_launches_retraining(nightly, receiver):
    before, _ = training_runs(nightly)
    out = monitor(nightly, "2026-03-06", {**nightly["env"], "ALERT_WEBHOOK_URL": receiver}, drift=1.0)
    after, store = training_runs(nightly)
    assert len(Receiver.bodies) == 1, Receiver.bodies
    payload = json.dumps(Receiver.bodies[0])
    for needle in (
        "Data drift detected",
        "Deriva de datos detectada",
        "drift_share",
        "07-incident-playbook.md#detection",
        "avg_amount",
        "reentrenamiento lanzado",
    ):
        assert needle in payload, f"{needle!r} missing from the Slack payload {payload[:800]}"
    assert "Retraining / Reentrenamiento: launching the training pipeline" in out, out
    assert len(after) == len(before) + 1 and after[-1]["status"] == "completed", after
    metadata = next(v for v in store["model_versions"] if v["number"] == 1)["metadata"]
    drift = metadata["monitoring_2026-03-06"]
    assert {"annual_income", "avg_amount", "total_amount"} <= set(drift["drifted_columns"]), drift
    assert drift["prediction_drift"]["drifted"], drift["prediction_drift"]
    incidents = (nightly["state"] / "project" / "incidents.jsonl").read_text().splitlines()
    assert len(incidents) == 1 and json.loads(incidents[0])["deteccion"].startswith("Deriva de datos")
    audit = [json.loads(line)["what"] for line in (nightly["state"] / "project" / "audit.jsonl").open()]
    assert audit[-3:-1] == ["alert", "retraining"], audit
    assert audit[-1].startswith("promotion: "), f"the retrained model's promotion is audited too: {audit}"


def test_alert_dry_run_writes_the_payload_instead_of_posting(nightly, receiver):
    config = nightly["state"] / "monitoring-dry.yaml"
    config.write_text(yaml.safe_dump({"webhook": {"dry_run": True, "format": "teams"}, "retrain": False}))
    window = scoring_config(nightly["state"], "window-dry", drift=1.0)
    sent = len(Receiver.bodies)
    out = must(
        run_cli(
            PROJECT_ROOT,
            {**nightly["env"], "ALERT_WEBHOOK_URL": receiver},
            "monitor",
            "--project",
            str(nightly["project"]),
            "--date",
            "2026-03-07",
            "--config",
            str(config),
            "--scoring-config",
            window,
        )
    ).stdout
    assert len(Receiver.bodies) == sent, "a dry run must not post"
    files = sorted((nightly["state"] / "project" / "alerts").glob("*.json"))
    assert files and json.loads(files[-1].read_text())["type"] == "message", "Teams payload expected"
    assert "Retraining" not in out, out


def test_evidently_ui_serves_the_dashboard_of_the_monitoring_runs(nightly, tmp_path):
    """`evidently ui --workspace <state>/evidently` (the command the runbook gives) over HTTP: one
    project per model, a Drift, a Model health and a Fairness tab, and the series each panel plots
    hold one point per monitoring run above (03-05 quiet, 03-06 drift + retraining, 03-07 drift, dry
    run)."""
    import subprocess
    import sys

    from adapters.evidently_workspace import (
        ALERTS_PANEL,
        DRIFT_SHARE_PANEL,
        FAIRNESS_PANEL,
        INCIDENTS_PANEL,
        QUALITY_PANEL,
        RETRAININGS_PANEL,
        latest_panel,
    )
    from bentos.local_server import free_port
    from tests.unit.test_evidently_workspace import series_legend

    port = free_port()
    cli = Path(sys.executable).parent / "evidently"
    workspace = nightly["state"] / "project" / "evidently"
    log = (tmp_path / "evidently-ui.log").open("w")
    server = subprocess.Popen(
        [str(cli), "ui", "--workspace", str(workspace), "--host", "127.0.0.1", "--port", str(port)],
        env={**nightly["env"], "DO_NOT_TRACK": "1"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    call = json_api(f"http://127.0.0.1:{port}/api")
    try:
        projects = first_answer(
            lambda: call("/projects"), server, tmp_path / "evidently-ui.log", "evidently ui", 60
        )
        assert [p["name"] for p in projects] == [MODEL_NAME], projects
        project = projects[0]["id"]
        dashboard = call(f"/v2/dashboards/{project}")
        tabs = {tab["title"] for tab in dashboard["tabs"]}
        assert tabs == {"Drift", "Model health", "Fairness"}, dashboard["tabs"]
        series = {}
        for panel in dashboard["panels"]:
            filters = [
                {k: value[k] for k in ("tags", "metadata", "metric", "metric_labels")}
                for value in panel["values"]
            ]
            if filters:
                answer = call(f"/v2/snapshots/{project}/data_series_batch", {"series_filter": filters})
                series[panel["title"]] = [v for s in answer["series"] for v in s["values"] if v is not None]
                legends = [value["legend"] or "" for value in panel["values"]]
                if len(filters) > 1 or any("{{" in legend for legend in legends):  # legend -> values
                    series[panel["title"]] = {legend: [] for legend in legends if "{{" not in legend}
                    for s in answer["series"]:
                        legend = series_legend(legends[s["filter_index"]], s["params"])
                        series[panel["title"]].setdefault(legend, []).extend(
                            v for v in s["values"] if v is not None
                        )
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

    store = probe(PROJECT_ROOT, nightly["env"], MODEL_NAME)
    # each window's results sit on the version that was in production then (03-07: the retrained one)
    metadata = {k: v for version in store["model_versions"] for k, v in version["metadata"].items()}
    days = ("2026-03-05", "2026-03-06", "2026-03-07")
    assert series[DRIFT_SHARE_PANEL] == pytest.approx(
        [metadata[f"monitoring_{d}"]["drift_share"] for d in days]
    )
    live = [metadata[f"monitoring_{d}"]["quality"][names.LIVE_METRICS] for d in days]
    for metric in names.METRIC_NAMES:
        assert series[QUALITY_PANEL][metric] == pytest.approx([window[metric] for window in live]), (
            f"Evidently's live {metric} of each labelled window equals the one monitoring computed"
        )
    assert series[latest_panel(names.PRECISION)] == pytest.approx(
        [metadata[f"monitoring_{d}"]["quality"][names.LIVE_VALUE] for d in days]
    ), "the counter: the live value of the metric judged (the release's precision)"
    fairness = [metadata[f"monitoring_{d}"]["quality"][names.LIVE_FAIRNESS] for d in days]
    for column in ("gender", "age"):
        assert series[FAIRNESS_PANEL][f"equalized_odds_difference[{column}]"] == pytest.approx(
            [window["disparities"][column]["equalized_odds_difference"] for window in fairness]
        ), f"the Fairness tab plots the live disparity for {column} monitoring judged in each window"
    assert series[FAIRNESS_PANEL]["equalized_odds_difference limit"] == [0.1] * len(days)
    assert series[INCIDENTS_PANEL] == [0, 1, 1], "one incident per breached window"
    assert series[RETRAININGS_PANEL] == [0, 1, 0], "retraining only on 03-06 (03-07 had retrain: false)"
    assert series[ALERTS_PANEL] == [0, 1, 0], "03-07 was a dry run: nothing delivered"


def test_brief_states_the_production_precision_and_the_monitored_drift(nightly):
    config = nightly["state"] / "monitoring-brief.yaml"
    config.write_text(yaml.safe_dump({"webhook": {"dry_run": True}, "retrain": False}))
    window = scoring_config(nightly["state"], "window-brief", drift=1.0)
    project = ("--project", str(nightly["project"]))
    monitored = ("--date", "2026-03-09", "--config", str(config), "--scoring-config", window)
    must(run_cli(PROJECT_ROOT, nightly["env"], "monitor", *project, *monitored))
    out = must(run_cli(PROJECT_ROOT, nightly["env"], "brief", *project)).stdout
    reports = nightly["state"] / "project" / "reports"
    assert f"HTML: {reports / 'brief.html'}" in out and f"Markdown: {reports / 'brief.md'}" in out, out
    html, md = ((reports / name).read_text() for name in ("brief.html", "brief.md"))

    store = probe(PROJECT_ROOT, nightly["env"], MODEL_NAME)
    production = next(v for v in store["model_versions"] if v["stage"] == "production")
    meta = production["metadata"]
    served = (
        meta["mitigated_evaluation"] if meta[names.RELEASE]["artifact"] == names.MITIGATED_MODEL else meta
    )
    precision, accuracy = served["metrics"][names.PRECISION], served["metrics"][names.ACCURACY]
    drift = next(
        v["metadata"]["monitoring_2026-03-09"]
        for v in store["model_versions"]
        if "monitoring_2026-03-09" in v["metadata"]
    )
    incidents = [json.loads(line) for line in (nightly["state"] / "project" / "incidents.jsonl").open()]
    still_open = sum(i["status"] == "open" for i in incidents)
    for text, name in ((html, "brief.html"), (md, "brief.md")):
        for figure in (
            pct(precision),
            pct(precision, "es"),
            pct(accuracy),
            pct(drift["drift_share"]),
            pct(drift["drift_share"], "es"),
            f"{still_open} / {len(incidents) - still_open}",
        ):
            assert figure in text, f"{figure!r} missing from {name}:\n{text[:3000]}"
        assert "Resumen ejecutivo" in text and "Drift rate (last window)" in text, name
        assert "Data drift on 2026-03-09" in text and "Deriva de datos el 2026-03-09" in text, name
    assert html.count("<svg") == 3, "drift, quality per version, actions and incidents charts"
    run = [r for r in store["runs"] if r["pipeline"] == "brief_pipeline"][-1]
    assert run["status"] == "completed", run
    assert run["visualizations"]["executive_brief"] == ["html"], run["visualizations"]
    assert run["visualizations"]["executive_brief_markdown"] == ["markdown"], run["visualizations"]


def test_a_window_where_one_groups_outcomes_changed_alerts_on_the_releases_fairness_limit(nightly):
    """After the release, the outcomes of one group changed while its inputs did not: in the
    window, 70 % of the good women are labelled bad (the demo's bias knob). Monitoring judges the
    release's fairness gate (its groups and limits) on the window's live labelled rows: the
    equalized odds difference for gender lies beyond its 0.1 limit, which alerts (Slack payload,
    incident) and reaches the brief; age, untouched, is not named. With thresholds.fairness off the
    same disparity is reported, not alerted on."""
    project = yaml.safe_load(Path(nightly["project"]).read_text())
    project["data"]["demo"]["bias"] = 0.7
    biased = nightly["state"] / "project-biased.yaml"
    biased.write_text(yaml.safe_dump(project))
    window = scoring_config(nightly["state"], "window-biased", drift=0.0)

    def watch(**thresholds):
        config = nightly["state"] / "monitoring-fairness.yaml"
        settings = {"webhook": {"dry_run": True}, "retrain": False, "thresholds": thresholds}
        config.write_text(yaml.safe_dump(settings))
        day = ("--date", "2026-03-10", "--config", str(config), "--scoring-config", window)
        return must(run_cli(PROJECT_ROOT, nightly["env"], "monitor", "--project", str(biased), *day)).stdout

    def recorded():
        store = probe(PROJECT_ROOT, nightly["env"], MODEL_NAME)
        production = next(v for v in store["model_versions"] if v["stage"] == "production")
        meta = production["metadata"]
        return meta["monitoring_2026-03-10"], meta["monitoring_decision_2026-03-10"]

    reported = watch(fairness=False)
    lines = reported.splitlines()
    start = next(i for i, text in enumerate(lines) if text.startswith("live fairness"))
    assert (
        lines[start]
        == f"live fairness on {CUSTOMERS} labelled rows not trained on: beyond the release's limits:"
    )
    listed = list(itertools.takewhile(lambda text: text.startswith("  - "), lines[start + 1 :]))
    assert listed[0].startswith("  - equalized odds difference for 'gender' is "), lines[start:]
    assert not any("'age'" in text for text in listed), "age is within its limits"
    _, decision = recorded()
    metrics = [b["metric"] for b in decision["breaches"]]
    assert "equalized_odds_difference[gender]" not in metrics, f"fairness: false alerts on none: {metrics}"

    alerted = watch()
    drift, decision = recorded()
    fairness = drift["quality"][names.LIVE_FAIRNESS]
    assert fairness["available"] and fairness[names.LIVE_ROWS] == CUSTOMERS, fairness
    beyond = {(b["feature"], b["disparity"]) for b in fairness[names.BEYOND_LIMITS]}
    assert ("gender", "equalized_odds_difference") in beyond and all(f == "gender" for f, _ in beyond), beyond
    (breach,) = [b for b in decision["breaches"] if b["metric"] == "equalized_odds_difference[gender]"]
    assert breach["value"] > breach["threshold"] == 0.1 and breach["direction"] == "above", breach
    assert re.search(r"false positive rate of group '\w+' [.\d]+ vs 'female' [.\d]+\)$", breach["detail"]), (
        breach
    )
    assert "equalized_odds_difference[gender]" in alerted and decision["incident"], alerted
    payload = Path(decision["alert"]["dry_run_file"]).read_text()
    assert "equalized_odds_difference[gender]" in payload, payload

    must(run_cli(PROJECT_ROOT, nightly["env"], "brief", "--project", str(biased)))
    md = (nightly["state"] / "project" / "reports" / "brief.md").read_text().replace("\n", " ")
    assert "Live fairness on labelled data (2026-03-10): the equalized odds difference for 'gender'" in md, md
    assert "la diferencia de probabilidades igualadas para 'gender'" in md, md


def test_an_alert_to_a_webhook_in_a_zenml_secret_is_retried_and_one_never_delivered_is_kept_to_resend(
    nightly, receiver
):
    """webhook.secret (the URL in a ZenML secret, webhook.env unset) and webhook.attempts: 2 through
    `run.py monitor`: a 503 is retried and the alert delivered; two 503s leave it undelivered, the
    run still succeeds, the error names the secret, and the payload is kept in .state/alerts/ with a
    resend command that delivers it."""
    secret = "team_alerts"
    create = (
        f"from zenml.client import Client; Client().create_secret({secret!r}, values={{'url': {receiver!r}}})"
    )
    must(subprocess.run([sys.executable, "-c", create], cwd=PROJECT_ROOT, env=nightly["env"], text=True,
                        capture_output=True, timeout=120, check=False))  # fmt: skip
    config = nightly["state"] / "monitoring-secret.yaml"
    settings = {"webhook": {"env": "TEAM_ALERTS_URL", "secret": secret, "attempts": 2}, "retrain": False}
    config.write_text(yaml.safe_dump(settings))
    window = scoring_config(nightly["state"], "window-secret", drift=1.0)
    env = {k: v for k, v in nightly["env"].items() if k not in ("ALERT_WEBHOOK_URL", "TEAM_ALERTS_URL")}

    def watch(day):
        args = ("--date", day, "--config", str(config), "--scoring-config", window)
        return must(run_cli(PROJECT_ROOT, env, "monitor", "--project", str(nightly["project"]), *args)).stdout

    def last_alert_audit():
        audit = [json.loads(line) for line in (nightly["state"] / "project" / "audit.jsonl").open()]
        return [record for record in audit if record["what"] == "alert"][-1]

    sent = len(Receiver.bodies)
    Receiver.statuses = [503]
    out = watch("2026-03-11")
    assert len(Receiver.bodies) == sent + 2, "one retry after the 503"
    assert re.search(r"^Alert: delivered; incident \S+$", out, re.M), out
    assert Receiver.bodies[-1] == Receiver.bodies[-2], "the retry sends the same payload"
    assert re.search(rf"{MODEL_NAME} v\d+, window 2026-03-11 ", Receiver.bodies[-1]["text"]), (
        "names its window"
    )
    assert last_alert_audit()["details"]["delivered"] is True

    Receiver.statuses = [503, 503]
    out = watch("2026-03-12")
    assert len(Receiver.bodies) == sent + 4, "webhook.attempts: 2 POSTs, no more"
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Alert: NOT delivered; incident "))
    error, resend = lines[at + 1].strip(), lines[at + 2].strip()
    assert "failed after 2 attempt(s): HTTP 503" in error, error
    assert f"the 'url' value of the ZenML secret '{secret}' is current" in error, error
    kept = Path(re.search(r"--data @(\S+) ", resend)[1])
    assert kept.parent == nightly["state"] / "project" / "alerts", kept
    assert json.loads(kept.read_text()) == Receiver.bodies[-1], "the kept file is the payload that failed"
    details = last_alert_audit()["details"]
    assert details["delivered"] is False and details["undelivered_file"] == str(kept), details
    command = resend.removeprefix("resend it: ").replace('"<the webhook URL>"', shlex.quote(receiver))
    must(subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60, check=False))
    assert len(Receiver.bodies) == sent + 5 and Receiver.bodies[-1] == json.loads(kept.read_text())
