"""What each `run.py` command does: plain functions called with the command's values (run.py is
the table that maps the command line onto them).

Only ml.names and ml.status are imported at the top, so `run.py --help` stays fast: each command
imports ZenML, pandas, the pipelines and the registry when it runs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ml import names, status
from ml.words import counted

if TYPE_CHECKING:
    from datetime import date

    from ml.settings import ProjectSettings, TrainingSettings

ROOT = Path(__file__).resolve().parent


def cmd_train(project_config: str, config: str, no_cache: bool = False, outputs: str | None = None) -> int:
    from ml.settings import ProjectSettings, TrainingSettings, load_settings

    project = load_settings(project_config, ProjectSettings)
    return train(project, load_settings(config, TrainingSettings), no_cache, outputs)


def train(project: ProjectSettings, training: TrainingSettings, no_cache: bool, outputs: str | None) -> int:
    from ml.settings import check_engine

    check_engine(project.data, training.engine, "training.engine")  # before a cluster or a run starts
    from zenml import Model

    from adapters.sources import check_source
    from ml.promotion import always_positive
    from ml.training import check_search
    from pipelines.runner import run_pipeline
    from pipelines.training import training_pipeline
    from registry.release import record_of
    from stacks.preflight import check_stack

    check_source(project.data, ROOT)  # a missing table stops here, before a run or a version exists
    check_search(training)  # a typo in a candidate's parameters too
    # and a stack that cannot run it (or whose step containers would not see the table)
    check_stack("train", needs=("experiment_tracker",), data=project.data, root=ROOT)
    pipeline = training_pipeline.with_options(
        model=Model(name=project.model_name, description=f"{project.project_name} classifier"),
        enable_cache=False if no_cache else training.enable_cache,
        cache_policy=code_cache_policy(),
        retry=retry_config(training),
    )
    run = run_pipeline(
        pipeline,
        data=project.data,
        training=training,
        code_reference=code_reference(project, training),
        project=project.project_name,
        card=project.card,
    )
    metrics = output(run, "evaluate", names.METRICS)
    version = run.model_version
    print(f"\nTraining run {run.name}: {run.status.value}")
    if version is not None:
        print(f"Model {version.model.name} version {version.name}")
    decision = output(run, "promote", names.PROMOTION_DECISION)
    primary, value = training.primary_metric, metrics[training.primary_metric]
    baseline = always_positive(primary, metrics[names.BASELINE_PRECISION])  # the base rate's
    note = (
        f"always-positive baseline {baseline:.3f}"
        if baseline is not None
        else "no always-positive baseline: its recall is 1"
    )
    if decision["candidate"] == names.MITIGATED_MODEL:  # the release's metric, not the plain model's
        value = record_of(version)["primary_metric"]["value"]
        note = f"the mitigated model; before mitigation {metrics[primary]:.3f}, {note}"
    elif training.decision_threshold == "max_f1":  # the threshold it chose, which the release keeps
        chosen = decision[names.DECISION_THRESHOLD]
        note = f"at decision threshold {chosen:.4f}, its best F1 on validation; {note}"
    print(f"{primary} = {value:.3f} ({note})")
    print(f"Promotion: {decision['stage']}" + "".join(f"\n  - {reason}" for reason in decision["reasons"]))
    print(f"MLflow tracking URI: {_tracking_uri()} (browse: mlflow ui --backend-store-uri <that URI>)")
    print(status.TRAINED.line(f"{run.name}, promotion {decision['stage']}"))
    _say_if_served_behind(project.model_name)
    write_outputs(
        outputs,
        model_version=version.name if version is not None else "",
        stage=decision["stage"],
        primary_metric=f"{value:.4f}",
    )
    return 0


def output(run, step: str, name: str):
    """The loaded artifact ``name`` that step ``step`` of ``run`` returned."""
    return run.steps[step].outputs[name][0].load()


def require_production(project: ProjectSettings, command: str, scoring=None) -> None:
    """Stop before a run that needs the production release when there is none (ZenML would fail
    while creating the run, with a traceback); RegistryError names the model and what to run.
    Callers import their pipeline (its steps: scikit-learn, LightGBM, Evidently) after this check,
    so that the answer "no production version" takes the ZenML store's time only."""
    from registry.release import production_version_or_error
    from stacks.preflight import check_stack

    reads = project.data if command in ("score", "monitor") else None  # the table, in its steps
    # its servers answer, its containers see the table, and (``scoring``) it keeps the scores
    check_stack(command, data=reads, root=ROOT, scoring=scoring)
    production_version_or_error(project.model_name)


def write_outputs(path: str | None, **values: object) -> None:
    """Append key=value lines to PATH (CI: `--outputs "$GITHUB_OUTPUT"` hands them to later jobs)."""
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.writelines(f"{key}={value}\n" for key, value in values.items())


# The project's own code the steps run: ZenML's cache key holds a step's own source, not what it
# imports, so a rerun after a change here (a gate's rule, a metric, a reader) reused what the old
# code had computed (the fairness gate's verdict of the code before a `git pull`).
CODE_DIRS = ("ml", "adapters", "registry", "steps", "pipelines", "bentos")
CODE_SUFFIXES = (".py", ".j2", ".yaml")


def code_cache_policy():
    """ZenML's default cache policy, plus the contents of the project's code (``CODE_DIRS``) in
    every step's cache key: paths relative to the project root, ZenML's source root here and in a
    container image, so a step that runs in a container finds the same files."""
    from zenml.config.cache_policy import CachePolicy

    files = sorted(
        str(path.relative_to(ROOT))
        for folder in CODE_DIRS
        for path in (ROOT / folder).rglob("*")
        if path.suffix in CODE_SUFFIXES and "__pycache__" not in path.parts and path.is_file()
    )
    return CachePolicy(file_dependencies=files)


def retry_config(training: TrainingSettings):
    """The steps' ZenML retry policy from configs/training.yaml (None: no retries)."""
    from zenml.config.retry_config import StepRetryConfig

    retry = training.retry
    if retry.max_retries == 0:
        return None
    return StepRetryConfig(max_retries=retry.max_retries, delay=retry.delay_seconds, backoff=retry.backoff)


def cmd_deploy(project_config: str, config: str) -> int:
    from zenml import Model

    from ml.settings import ProjectSettings, ServingSettings, load_settings

    project = load_settings(project_config, ProjectSettings)
    serving = load_settings(config, ServingSettings)
    require_production(project, "deploy")
    from pipelines.deployment import deployment_pipeline  # after the check: see require_production
    from pipelines.runner import run_pipeline

    pipeline = deployment_pipeline.with_options(model=Model(name=project.model_name, version="production"))
    run = run_pipeline(pipeline, serving=serving)
    deployment = output(run, "deploy_local", names.DEPLOYMENT)
    print("\n" + status.DEPLOYED.line(deployment["url"]))
    print(f"  model {deployment['models']['primary']}, Bento {deployment['bento_tag']}")
    example, url = deployment["smoke_test"]["example_request"], deployment["url"]
    auth = ' -H "Authorization: Bearer $SERVING_AUTH_TOKEN"' if os.environ.get("SERVING_AUTH_TOKEN") else ""
    print(f"  try: curl -s -X POST {url}/predict -H 'Content-Type: application/json'{auth} -d @{example}")
    print("  stop it: python run.py undeploy")
    return 0


def cmd_score(
    project_config: str, config: str, date: str | None = None, register_schedule: bool = False
) -> int:
    from zenml import Model

    from ml.settings import ProjectSettings, ScoringSettings, check_engine, load_settings

    project = load_settings(project_config, ProjectSettings)
    scoring = load_settings(config, ScoringSettings)
    check_engine(project.data, scoring.engine, "scoring.engine")
    require_production(project, "score", scoring)
    from pipelines.runner import run_pipeline  # after the check: see require_production
    from pipelines.scoring import scoring_pipeline

    pipeline = scoring_pipeline.with_options(model=Model(name=project.model_name, version="production"))
    if register_schedule:
        return schedule(pipeline, "score", scoring.schedule.cron, data=project.data, scoring=scoring)
    day = _day(date)
    run = run_pipeline(pipeline, data=project.data, scoring=scoring, day=day)
    summary = output(
        run, "score_on_dask" if scoring.engine == "dask" else "store_scores", names.SCORING_SUMMARY
    )
    print(f"\nScored {summary['rows']} rows for {day} with model version {summary['model_version']}")
    print(f"  table {summary['table']} in {summary['database']}; labels {summary['label_share']}")
    if names.SCORING_ENGINE in summary:
        count = summary[names.SCORING_ENGINE]["partitions"]
        print(f"  engine dask: {counted(count, 'partition|partitions')}")
    for staging in summary.get(names.CLEARED_STAGING, []):
        print(f"  dropped the staging tables {staging}_p* that a killed run of that date left")
    # scikit-learn's import: after the run, never before a refusal
    from ml.scoring import missing_untrained_lines, unseen_lines

    for line in unseen_lines(summary[names.UNSEEN_CATEGORIES]):
        print(f"  {line}")
    for line in missing_untrained_lines(summary[names.MISSING_UNTRAINED]):
        print(f"  {line}")
    print(status.SCORED.line(f"{summary['rows']} rows for {day}"))
    return 0


def schedule(pipeline, command: str, cron: str, **parameters) -> int:
    """Register ``pipeline`` to run on ``cron`` (UTC) with the active stack's orchestrator; each run
    resolves its own date ("today"). Refused, with the alternatives, when the orchestrator cannot."""
    from zenml.client import Client
    from zenml.config.schedule import Schedule

    from ml.settings import ConfigError

    stack = Client().active_stack
    orchestrator = stack.orchestrator
    if not orchestrator.config.is_schedulable:
        raise ConfigError(
            f"the active stack {stack.name!r} has orchestrator {orchestrator.name!r} (flavor "
            f"{orchestrator.flavor}), which cannot run schedules; run `python run.py {command}` from cron "
            f"({cron} cd {ROOT} && .venv/bin/python run.py {command}) or let .github/workflows/nightly.yml "
            "do it, or `zenml stack set` a stack whose orchestrator schedules (kubernetes, aws, gcp, azure)"
        )
    name = f"{pipeline.name}-nightly"
    pipeline.with_options(schedule=Schedule(name=name, cron_expression=cron))(**parameters, day="today")
    print(status.SCHEDULED.line(f"{name} at '{cron}' (UTC) on stack {stack.name}"))
    return 0


def _day(value: str | None, today: date | None = None) -> str:
    """``--date``: a day that has begun somewhere (up to a day after this machine's today, for the
    time zones ahead of it); a later one, a typo's 2062 for 2026, would file scores, snapshots and
    alerts under a day that has not come."""
    from datetime import date, timedelta

    from ml.settings import ConfigError

    today = today or date.today()
    day = value or today.isoformat()
    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise ConfigError(f"--date {day!r} is not a date; use YYYY-MM-DD") from None
    if when > today + timedelta(days=1):
        raise ConfigError(
            f"--date {day} has not come yet (today is {today.isoformat()} on this machine): scores and"
            " monitoring records are filed under the day they describe; give that day, or leave --date"
            " out for today"
        )
    return day


def cmd_monitor(
    project_config: str,
    config: str,
    scoring_config: str,
    training_config: str,
    date: str | None = None,
    outputs: str | None = None,
    defer_retraining: bool = False,
    register_schedule: bool = False,
) -> int:
    from zenml import Model

    from ml.live_fairness import live_fairness_line
    from ml.monitoring import live_quality_line, serving_line
    from ml.settings import MonitoringSettings, ProjectSettings, ScoringSettings, check_engine, load_settings

    project = load_settings(project_config, ProjectSettings)
    scoring = load_settings(scoring_config, ScoringSettings)
    monitoring = load_settings(config, MonitoringSettings)
    check_engine(project.data, monitoring.engine, "monitoring.engine")
    require_production(project, "monitor")
    from pipelines.monitoring import monitoring_pipeline  # after the check: see require_production
    from pipelines.runner import run_pipeline

    pipeline = monitoring_pipeline.with_options(model=Model(name=project.model_name, version="production"))
    if register_schedule:
        parameters = {"data": project.data, "scoring": scoring, "monitoring": monitoring}
        return schedule(
            pipeline, "monitor", monitoring.schedule.cron, **parameters, project=project.project_name
        )
    day = _day(date)
    run = run_pipeline(
        pipeline,
        data=project.data,
        scoring=scoring,
        monitoring=monitoring,
        day=day,
        project=project.project_name,
        launch_retraining=not defer_retraining,  # the step records a retraining as launched or deferred
    )
    drift = output(run, "check_drift_on_dask" if monitoring.engine == "dask" else "check_drift", names.DRIFT)
    decision = output(run, "alert", names.MONITORING_DECISION)
    print(
        f"\nMonitoring {day}: drift share {drift['drift_share']:.2f} "
        f"(drifted: {', '.join(sorted(drift['drifted_columns'])) or 'none'})"
    )
    print(live_quality_line(drift.get("quality")))
    fairness = live_fairness_line((drift.get("quality") or {}).get(names.LIVE_FAIRNESS))
    if fairness:
        print(fairness)
    print(serving_line(output(run, "check_serving", names.SERVING_HEALTH), monitoring.retention_days))
    write_outputs(outputs, breaches=len(decision["breaches"]), retrain=str(decision["retrain"]).lower())
    if not decision["breaches"]:
        print(status.NO_BREACH.line(day))
        return 0
    print(decision["alert"]["text_en"])
    print(decision["alert"]["summary_es"])
    print(alert_outcome(decision["alert"], decision["incident"]))
    print(status.BREACHED.line(f"incident {decision['incident']}"))
    if decision["retrain"]:
        if defer_retraining:
            print(status.RETRAINING_DEFERRED.line("deferred to the caller, e.g. CI's cd"))
            return 0
        training, source = retraining_settings(project, training_config)
        print(status.RETRAINING.line(f"launching the training pipeline with {source}"))
        return train(project, training, no_cache=False, outputs=outputs)
    return 0


def alert_outcome(alert: dict, incident: str) -> str:
    """What became of the alert: delivered, written instead of sent (dry run), or not delivered: why,
    and the file keeping its payload with the command that resends it."""
    if alert["dry_run_file"] or alert["delivered"]:
        return f"Alert: {alert['dry_run_file'] or 'delivered'}; incident {incident}"
    lines = [f"Alert: NOT delivered; incident {incident}", f"  {alert.get('error') or 'no error recorded'}"]
    if alert.get("undelivered_file"):
        lines.append(
            "  resend it: curl -sS --fail-with-body -X POST -H 'Content-Type: application/json' "
            f'--data @{alert["undelivered_file"]} "<the webhook URL>"'
        )
    return "\n".join(lines)


def retraining_settings(project: ProjectSettings, training_config: str) -> tuple[TrainingSettings, str]:
    """The training settings recorded with the production version (the released model's recipe);
    ``training_config`` when none were recorded or they no longer validate. Returns them and what
    they are, for the status line."""
    from pydantic import ValidationError

    from ml.settings import TrainingSettings, load_settings
    from registry.release import production_training_settings

    version, recorded = production_training_settings(project.model_name)
    if recorded is not None:
        try:
            return TrainingSettings.model_validate(recorded), f"the training settings of version {version}"
        except ValidationError as error:
            why = f"those of version {version} no longer validate ({error.error_count()} errors)"
    else:
        why = f"version {version} has none recorded"
    return load_settings(training_config, TrainingSettings), f"{training_config} ({why})"


def cmd_brief(project_config: str, config: str, training_config: str) -> int:
    from ml.settings import MonitoringSettings, ProjectSettings, TrainingSettings, load_settings
    from pipelines.brief import brief_pipeline
    from pipelines.runner import run_pipeline

    run = run_pipeline(
        brief_pipeline,
        project=load_settings(project_config, ProjectSettings),
        monitoring=load_settings(config, MonitoringSettings),
        training=load_settings(training_config, TrainingSettings),
    )
    summary = output(run, "executive_brief", names.BRIEF_SUMMARY)
    print("\n" + status.BRIEF.line(summary["status"]))
    print("".join(f"  - {finding}\n" for finding in summary["findings"]), end="")
    print(f"  HTML: {summary['html']}\n  Markdown: {summary['markdown']}")
    print("  (also the `executive_brief` artifact of this run in the ZenML dashboard)")
    return 0


def cmd_card(project_config: str, version: str | None = None) -> int:
    from zenml import Model

    from ml.settings import ProjectSettings, load_settings
    from pipelines.card import card_pipeline
    from pipelines.runner import run_pipeline
    from registry.models import RegistryError, production_version

    project = load_settings(project_config, ProjectSettings)
    if version is None:
        production = production_version(project.model_name)
        if production is None:
            raise RegistryError(
                f"model {project.model_name!r} has no production version; name one with --version N "
                "(`python run.py models` lists them) or train first (`python run.py train`)"
            )
        version = production.name
    _version_or_error(project.model_name, str(version))
    pipeline = card_pipeline.with_options(model=Model(name=project.model_name, version=str(version)))
    run = run_pipeline(pipeline, project=project.project_name, data=project.data, card=project.card)
    where = run.model_version.run_metadata[names.MODEL_CARD] if run.model_version else {}
    print(f"\nModel card of {project.model_name} version {version}:")
    print(f"  HTML: {where.get('html')}\n  Markdown: {where.get('markdown')}")
    if where.get("mlflow_artifacts"):
        print(f"  MLflow: {where['mlflow_artifacts']}")
    print("  (also the `model_card` artifact of the version in the ZenML dashboard)")
    return 0


def _version_or_error(model_name: str, version: str) -> None:
    from zenml.client import Client

    from registry.models import RegistryError

    try:
        Client().get_model_version(model_name, version)
    except KeyError:
        raise RegistryError(
            f"model {model_name!r} has no version {version!r}; `python run.py models` lists them"
        ) from None


def cmd_undeploy() -> int:
    import json

    from adapters.state import state_paths
    from bentos.local_server import stop

    record = state_paths(ROOT).server_record
    if not record.exists():
        print("no local server is recorded; nothing to stop")
        return 0
    deployment = json.loads(record.read_text())
    if deployment.get("container"):  # runtime: container
        from bentos.container_server import stop as stop_container

        stop_container(deployment["engine"], deployment["container"])
        what = f"container {deployment['container']}"
    else:
        stop(deployment["pid"])
        what = f"pid {deployment['pid']}"
    record.unlink()
    print(f"stopped the server at {deployment['url']} ({what})")
    print(status.STOPPED.line(deployment["url"]))
    return 0


def cmd_models(project_config: str, config: str) -> int:
    from ml.promotion import served_evaluation
    from ml.settings import ProjectSettings, TrainingSettings, load_settings
    from registry.models import describe_versions

    project = load_settings(project_config, ProjectSettings)
    rows = describe_versions(project.model_name)
    if not rows:
        print(f"model {project.model_name!r} has no versions yet; run `python run.py train`")
        return 0
    metric = load_settings(config, TrainingSettings).primary_metric

    def shown(value, digits: int) -> str:
        return "-" if value is None else value if isinstance(value, str) else f"{value:.{digits}f}"

    print(
        f"{'version':>7}  {'stage':<10} {metric:>9}  {'fairness':>8}  {'threshold':>9}  {'mlflow':>6}"
        "  decision / release"
    )
    for row in rows:
        decision = row["decision"] or f"none: training {row['training']}"
        served = served_evaluation(row)  # of what the version serves (mitigated or not)
        print(
            f"{row['version']:>7}  {row['stage']:<10} {shown(served.metrics.get(metric), 4):>9}  "
            f"{shown(served.fairness, 3):>8}  {shown(served.threshold, 2):>9}  {row['mlflow'] or '-':>6}  "
            f"{decision} / {row['release'] or '-'}"
        )
    _say_if_served_behind(project.model_name)
    return 0


def served_behind_production(model_name: str) -> str | None:
    """The status line saying this project's running server serves another release than production
    (a promotion or a rollback changes production, not the server: `deploy` does); None otherwise."""
    import json

    from adapters.state import state_paths
    from bentos.local_server import server_processes
    from registry.models import production_version
    from registry.release import RegistryError, record_of

    record = state_paths(ROOT).server_record
    if not record.exists():
        return None  # no server deployed: the registry is not asked
    deployment = json.loads(record.read_text())
    if not deployment.get("container") and not server_processes(deployment["pid"]):
        return None  # the recorded server is gone: nothing serves an old release
    version = production_version(model_name)
    if version is None:
        return None
    try:
        production = record_of(version)["bento_tag"]
    except RegistryError:
        return None
    served = deployment["models"]["primary"]
    if served == production:
        return None
    return status.SERVER_BEHIND.line(
        f"{deployment['url']} serves {served}, production is version {version.name} ({production}); "
        "`python run.py deploy` serves it"
    )


def _say_if_served_behind(model_name: str) -> None:
    line = served_behind_production(model_name)
    if line:
        print(line)


def cmd_rollback(project_config: str, to: str | None = None) -> int:
    from adapters.records import audit
    from adapters.state import state_paths
    from ml.settings import ProjectSettings, load_settings
    from registry.models import rollback

    project = load_settings(project_config, ProjectSettings)
    previous, restored, was = rollback(project.model_name, to)
    audit(
        state_paths(ROOT).audit_log,
        "operator",
        "rollback",
        f"version {restored} ({was}) made production, {previous} archived",
        {"model": project.model_name, "version": restored},
    )
    again = " again" if was == "archived" else f" (it was {was})"
    print(f"Rolled back {project.model_name}: version {restored} is production{again}; {previous} archived")
    print(status.ROLLED_BACK.line(f"version {restored}"))
    _say_if_served_behind(project.model_name)
    return 0


def code_reference(project: ProjectSettings, training: TrainingSettings) -> dict:
    """What produced a model: the git commit (and whether the tree was dirty) and a config hash."""
    import hashlib
    import subprocess

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    configs = project.model_dump_json() + training.model_dump_json()
    commit = git("rev-parse", "HEAD")
    porcelain = git("status", "--porcelain") if commit else None
    reference = {
        "git_commit": commit,
        "git_dirty": bool(porcelain) if commit else None,
        "config_sha256": hashlib.sha256(configs.encode()).hexdigest(),
    }
    if commit is None:
        reference["note"] = f"no git commit recorded: {ROOT} is not in a git repository with a commit"
    return reference


def _tracking_uri() -> str:
    from zenml.client import Client

    tracker = Client().active_stack.experiment_tracker
    return tracker.get_tracking_uri() if tracker is not None else "(no experiment tracker on this stack)"


def cmd_data(project_config: str) -> int:
    from adapters.sources import ensure_demo_db
    from ml.settings import ProjectSettings, load_settings

    project = load_settings(project_config, ProjectSettings)
    path = ensure_demo_db(project.data.demo, ROOT)
    print(f"Demo data ({project.data.demo.customers} customers, seed {project.data.demo.seed}): {path}")
    return 0


def cmd_stack(action: str, name: str = "local", no_activate: bool = False) -> int:
    from stacks.apply import apply_stack, describe_stacks, remove_stack
    from stacks.spec import available_specs, load_spec

    if action == "apply":
        changes = apply_stack(load_spec(name, ROOT), activate=not no_activate)
        print("\n".join(changes) if changes else f"stack {name!r} is up to date; nothing changed")
    elif action == "list":
        print("specs in stacks/: " + ", ".join(available_specs()))
        print("registered (* = active):\n" + "\n".join(describe_stacks()))
    else:
        remove_stack(name)
        print(f"removed stack {name!r} and its components")
    return 0


def exit_code(error: Exception) -> int | None:
    """2 for an error the user fixes (settings, data, registry, a pipeline failing on them), 1 for
    another failed pipeline; None (a traceback) for anything else."""
    from adapters.sources import DataSourceError
    from ml.data.validation import DataValidationError
    from ml.settings import ConfigError
    from pipelines.runner import ImageBuildFailed, PipelineFailed
    from registry.models import RegistryError

    if isinstance(error, PipelineFailed):
        return 2 if error.user_error else 1
    if isinstance(error, ImageBuildFailed):
        return 1
    return (
        2 if isinstance(error, (ConfigError, DataValidationError, DataSourceError, RegistryError)) else None
    )


def use_project_state() -> None:
    """ZenML's store and BentoML's model store live in the project's state dir unless
    ZENML_CONFIG_PATH / BENTOML_HOME say otherwise (BentoML's default, ~/bentoml, is shared by every
    project on the machine)."""
    from adapters.state import state_paths

    state = state_paths(ROOT)
    os.environ.setdefault("ZENML_CONFIG_PATH", str(state.zenml))
    os.environ.setdefault("BENTOML_HOME", str(state.bentoml))
