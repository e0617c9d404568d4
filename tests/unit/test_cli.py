"""run.py's command line (Click): every command's help shows its settings' defaults, `--help` imports
nothing heavy, usage errors exit 2 naming the problem, user errors print `error:` and the failure
status, and monitoring's retraining calls the training function with the training settings."""

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import commands
import run
from ml import names, status

ROOT = Path(__file__).resolve().parents[2]
# The settings files each command reads by default (relative to the project, as --help shows them).
DEFAULTS = {
    "train": ["project", "training"],
    "data": ["project"],
    "models": ["project", "training"],
    "deploy": ["project", "serving"],
    "score": ["project", "scoring"],
    "monitor": ["project", "monitoring", "scoring", "training"],
    "brief": ["project", "monitoring", "training"],
    "card": ["project"],
    "undeploy": [],
    "rollback": ["project"],
    "stack": [],
}
HEAVY = ("zenml", "mlflow", "pandas", "sklearn", "bentoml", "pipelines", "registry")


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """The command's ZenML, BentoML and project state in tmp_path (use_project_state keeps them)."""
    for variable, folder in (("ZENML_CONFIG_PATH", "zenml"), ("BENTOML_HOME", "bentoml")):
        monkeypatch.setenv(variable, str(tmp_path / folder))
    monkeypatch.setenv("PROJECT_STATE_DIR", str(tmp_path / "state"))
    return tmp_path


def test_the_commands_are_the_documented_ones():
    assert list(run.cli.commands) == list(DEFAULTS)


@pytest.mark.parametrize("command", DEFAULTS)
def test_every_command_help_exits_0_and_shows_its_default_settings(command, capsys):
    assert run.main([command, "--help"]) == 0
    shown = " ".join(capsys.readouterr().out.split())  # Click wraps long lines
    for name in DEFAULTS[command]:
        assert f"[default: configs/{name}.yaml]" in shown, shown


def test_a_default_settings_path_is_the_project_file_and_a_given_one_is_kept():
    context = run.cli.commands["monitor"].make_context("monitor", ["--config", "mine.yaml"])
    assert context.params["project_config"] == str(ROOT / "configs" / "project.yaml")
    assert context.params["training_config"] == str(ROOT / "configs" / "training.yaml")
    assert context.params["config"] == "mine.yaml"


def test_help_imports_nothing_heavy():
    probe = (
        "import sys, run\n"
        "codes = [run.main([*command, '--help']) for command in ([], ['train'], ['monitor'], ['stack'])]\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print(codes, heavy, file=sys.stderr)\n"
        "assert codes == [0, 0, 0, 0] and not heavy\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr


def test_without_a_production_version_commands_stop_before_importing_their_pipelines(isolated):
    """score, deploy and monitor answer "no production version" from the ZenML store alone: their
    pipelines (scikit-learn, LightGBM, Evidently, BentoML) are imported after that check."""
    probe = (  # run as `python run.py ...` is (ZenML finds the source root from the main module)
        "import runpy, sys\n"
        "codes = []\n"
        "for command in (['score'], ['deploy'], ['monitor', '--defer-retraining']):\n"
        "    sys.argv = ['run.py', *command]\n"
        "    try:\n"
        "        runpy.run_path('run.py', run_name='__main__')\n"
        "    except SystemExit as exit:\n"
        "        codes.append(exit.code)\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'lightgbm', 'evidently', "
        "'bentoml', 'steps'} | set(sys.modules) & {'pipelines.scoring', 'pipelines.deployment', "
        "'pipelines.monitoring'})\n"
        "print(codes, heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[2, 2, 2] []", result.stdout[-2000:]
    assert result.stderr.count("has no production version") == 3, result.stderr[-3000:]


def test_no_command_prints_the_usage_and_exits_2(capsys):
    assert run.main([]) == 2
    assert "Usage: run.py" in capsys.readouterr().err  # as argparse did: usage on stderr


@pytest.mark.parametrize(
    "argv, named",
    [(["train", "--bogus"], "--bogus"), (["deploy", "--date", "x"], "--date"), (["nope"], "nope")],
)
def test_a_usage_error_exits_2_naming_it(argv, named, capsys):
    assert run.main(argv) == 2
    assert named in capsys.readouterr().err


def test_a_bad_score_date_exits_2_with_the_error_and_failure_status(isolated, monkeypatch, capsys):
    # the production version is checked before the date
    monkeypatch.setattr(commands, "require_production", lambda project, command, scoring=None: None)
    assert run.main(["score", "--date", "2026-13-01"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["error: --date '2026-13-01' is not a date; use YYYY-MM-DD", status.failure("score").line()]


@pytest.mark.parametrize("command", ["score", "monitor"])
def test_a_date_that_has_not_come_exits_2_before_any_run(command, isolated, monkeypatch, capsys):
    """A typo's 2062 for 2026 filed a monitoring snapshot (and scores) under a day to come."""
    from datetime import date, timedelta

    monkeypatch.setattr(commands, "require_production", lambda project, command, scoring=None: None)
    later = (date.today() + timedelta(days=2)).isoformat()
    assert run.main([command, "--date", later]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"error: --date {later} has not come yet (today is {date.today().isoformat()} on this machine):"
        " scores and monitoring records are filed under the day they describe; give that day, or leave"
        " --date out for today",
        status.failure(command).line(),
    ], err


def test_tomorrow_is_a_date_somewhere_and_today_is_the_default():
    today = date_of("2026-12-07")
    assert commands._day("2026-12-08", today) == "2026-12-08", "a time zone ahead is already there"
    assert commands._day(None, today) == "2026-12-07"
    assert commands._day("2020-02-29", today) == "2020-02-29"


def date_of(text):
    from datetime import date

    return date.fromisoformat(text)


@pytest.mark.parametrize(
    ("command", "setting", "config"),
    [
        ("train", "training.engine", "training"),
        ("score", "scoring.engine", "scoring"),
        ("monitor", "monitoring.engine", "monitoring"),
    ],
)
def test_a_dask_engine_over_a_table_without_an_id_column_stops_before_any_run(
    command, setting, config, isolated, monkeypatch, capsys
):
    """A CSV without data.id_column and engine: dask: the error came from the first partition, after
    the cluster started (training) or the run was created. It now exits 2 before either, naming
    the setting and both fixes."""
    import yaml

    monkeypatch.setattr(commands, "require_production", lambda project, command, scoring=None: None)
    table = isolated / "table.csv"
    table.write_text("x,label\n1,yes\n2,no\n")
    project = yaml.safe_load((ROOT / "configs" / "project.yaml").read_text())
    project["data"].update(source="csv", path=str(table), target_column="label", positive_label="yes")
    project["data"].update(id_column=None, sensitive_features=[])
    settings = yaml.safe_load((ROOT / "configs" / f"{config}.yaml").read_text())
    settings["engine"] = "dask"
    if config == "training":  # a Dask engine trains LightGBM only: the linear baseline stays out
        settings["search"]["candidates"] = [c for c in settings["search"]["candidates"] if "kind" not in c]
    (isolated / "project.yaml").write_text(yaml.safe_dump(project))
    (isolated / f"{config}.yaml").write_text(yaml.safe_dump(settings))
    import pipelines.runner

    monkeypatch.setattr(pipelines.runner, "run_pipeline", lambda *a, **k: pytest.fail("a run was started"))
    argv = [
        command,
        "--project",
        str(isolated / "project.yaml"),
        "--config",
        str(isolated / f"{config}.yaml"),
    ]
    assert run.main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (
        f"error: {setting} 'dask' needs data.id_column: rows of different partitions have no other common"
        f" id; name the table's id column in configs/project.yaml, or set {setting}: pandas to read the"
        " table in one process"
    ), err
    assert err[-1] == status.failure(command).line(), err


def breached_monitoring(monkeypatch) -> list[dict]:
    """Monitoring whose run breaches and asks to retrain; returns the calls of the training function."""
    import pipelines.runner

    results = {
        names.DRIFT: {"drift_share": 0.5, "drifted_columns": ["tenure"]},
        names.SERVING_HEALTH: {"available": False, "note": "no inference log at x (nothing served yet)"},
        names.MONITORING_DECISION: {
            "breaches": ["drift"],
            "retrain": True,
            "incident": "INC-1",
            "alert": {
                "text_en": "drift",
                "summary_es": "deriva",
                "dry_run_file": "alert.json",
                "delivered": False,
            },
        },
    }
    trained = []
    monkeypatch.setattr(commands, "require_production", lambda project, command, scoring=None: None)
    monkeypatch.setattr(pipelines.runner, "run_pipeline", lambda pipeline, **parameters: SimpleNamespace())
    monkeypatch.setattr(commands, "output", lambda _run, step, name: results[name])
    monkeypatch.setattr(
        commands,
        "train",
        lambda project, training, no_cache, outputs: trained.append((training, outputs)) or 0,
    )
    return trained


def recorded_with_production(monkeypatch, recorded: dict | None) -> None:
    import registry.release

    monkeypatch.setattr(registry.release, "production_training_settings", lambda name: ("3", recorded))


def test_monitoring_retrains_with_the_training_settings_recorded_with_production(
    isolated, monkeypatch, capsys
):
    from ml.settings import TrainingSettings

    trained = breached_monitoring(monkeypatch)
    recorded_with_production(monkeypatch, TrainingSettings(seed=7).model_dump(mode="json"))
    outputs = str(isolated / "outputs")
    assert run.main(["monitor", "--outputs", outputs]) == 0
    assert [(training.seed, where) for training, where in trained] == [(7, outputs)], trained
    out = capsys.readouterr().out
    assert (
        status.RETRAINING.line("launching the training pipeline with the training settings of version 3")
        in out
    )
    assert (isolated / "outputs").read_text() == "breaches=1\nretrain=true\n"


def test_without_recorded_settings_retraining_uses_the_training_config_and_says_so(
    isolated, monkeypatch, capsys
):
    trained = breached_monitoring(monkeypatch)
    recorded_with_production(monkeypatch, None)
    training = isolated / "training.yaml"
    training.write_text("seed: 11\n")
    assert run.main(["monitor", "--training-config", str(training)]) == 0
    assert [t.seed for t, _ in trained] == [11], trained
    assert f"with {training} (version 3 has none recorded)" in capsys.readouterr().out


def test_deferred_retraining_does_not_train(isolated, monkeypatch, capsys):
    trained = breached_monitoring(monkeypatch)
    assert run.main(["monitor", "--defer-retraining"]) == 0
    assert trained == []
    assert status.RETRAINING_DEFERRED.line("deferred to the caller, e.g. CI's cd") in capsys.readouterr().out


def test_models_lists_the_metric_and_fairness_of_what_each_version_serves(isolated, monkeypatch, capsys):
    """A version whose release is the fairness-mitigated model shows that model's test-split
    precision and fairness score, not those of the plain model it was derived from (which failed a
    gate); a plain release and a rejected version show the plain model's."""
    import registry.models
    from ml.promotion import recorded_evaluation

    plain = {names.PRECISION: 0.3333}
    mitigated = {names.METRICS: {names.PRECISION: 0.6667}, names.FAIRNESS: {names.FAIRNESS_SCORE: 0.91}}
    meta = {names.METRICS: plain, names.FAIRNESS: {names.FAIRNESS_SCORE: 0.42}}

    def row(version, stage, release, with_mitigation=True):
        recorded = (
            {**meta, names.MITIGATED_EVALUATION: {"available": True, **mitigated}}
            if with_mitigation
            else meta
        )
        return {
            "training": "promotion decided",
            "threshold": 0.5,
            "version": version,
            "stage": stage,
            "decision": "rejected" if release is None else "production",
            "release": release,
            "served": recorded_evaluation(recorded, release),  # as registry.models.describe_versions
            "mlflow": None if release is None else str(int(version) + 10),  # registered apart
        }

    rows = [
        row("1", "production", names.MITIGATED_MODEL),
        row("2", "archived", names.MODEL),
        row("3", "rejected", None, with_mitigation=False),
    ]
    monkeypatch.setattr(registry.models, "describe_versions", lambda name: rows)
    assert run.main(["models"]) == 0
    header, *lines = capsys.readouterr().out.splitlines()
    listing = {line.split()[0]: line.split() for line in lines}
    end = header.index("mlflow") + len("mlflow")  # right-aligned under its header
    mlflow = {line.split()[0]: line[end - 6 : end].strip() for line in lines}
    assert listing["1"][2:4] == ["0.6667", "0.910"], listing["1"]
    assert listing["2"][2:4] == ["0.3333", "0.420"], listing["2"]
    assert listing["3"][2:4] == ["0.3333", "0.420"], listing["3"]
    assert mlflow == {"1": "11", "2": "12", "3": "-"}, "the MLflow registry's numbers"


def test_an_undelivered_alert_is_printed_with_its_error_and_the_command_that_resends_it():
    base = {
        "dry_run_file": None,
        "delivered": False,
        "error": "alert POST failed after 3 attempt(s): HTTP 503",
    }
    kept = commands.alert_outcome({**base, "undelivered_file": "/p/.state/alerts/a.json"}, "INC-7")
    first, error, resend = kept.splitlines()
    assert first == "Alert: NOT delivered; incident INC-7", kept
    assert error.strip() == base["error"], kept
    assert "curl" in resend and "--data @/p/.state/alerts/a.json" in resend, kept
    assert commands.alert_outcome(base, "INC-8").splitlines()[1:] == [f"  {base['error']}"], "nothing kept"
    sent = commands.alert_outcome({**base, "delivered": True, "error": None}, "INC-9")
    assert sent == "Alert: delivered; incident INC-9"
    assert (
        commands.alert_outcome({**base, "dry_run_file": "x.json"}, "INC-1") == "Alert: x.json; incident INC-1"
    )
