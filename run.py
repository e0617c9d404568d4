"""Command line of the project: `python run.py --help`.

Every command reads its settings from configs/ (validated; unknown keys rejected) and runs on the
active ZenML stack, so `zenml stack set <name> && python run.py train` is all that changes between
a laptop and a cluster.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from adapters.sources import DataSourceError
from adapters.state import state_paths
from ml import names, status
from ml.data.validation import DataValidationError
from ml.settings import (
    ConfigError,
    MonitoringSettings,
    ProjectSettings,
    ScoringSettings,
    ServingSettings,
    TrainingSettings,
    load_settings,
)
from pipelines.runner import PipelineFailed
from registry.models import RegistryError

ROOT = Path(__file__).resolve().parent
USER_ERRORS = (ConfigError, DataValidationError, DataSourceError, RegistryError)


def cmd_train(args: argparse.Namespace) -> int:
    from zenml import Model

    from pipelines.runner import run_pipeline
    from pipelines.training import training_pipeline

    project = load_settings(args.project, ProjectSettings)
    training = load_settings(args.config, TrainingSettings)
    pipeline = training_pipeline.with_options(
        model=Model(name=project.model_name, description=f"{project.project_name} classifier"),
        enable_cache=False if args.no_cache else training.enable_cache,
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
    primary = training.primary_metric
    print(
        f"{primary} = {metrics[primary]:.3f} "
        f"(always-positive baseline {metrics[names.BASELINE_PRECISION]:.3f})"
    )
    decision = output(run, "promote", names.PROMOTION_DECISION)
    print(f"Promotion: {decision['stage']}" + "".join(f"\n  - {reason}" for reason in decision["reasons"]))
    print(f"MLflow tracking URI: {_tracking_uri()} (browse: mlflow ui --backend-store-uri <that URI>)")
    print(status.TRAINED.line(f"{run.name}, promotion {decision['stage']}"))
    write_outputs(
        args.outputs,
        model_version=version.name if version is not None else "",
        stage=decision["stage"],
        primary_metric=f"{metrics[primary]:.4f}",
    )
    return 0


def output(run, step: str, name: str):
    """The loaded artifact ``name`` that step ``step`` of ``run`` returned."""
    return run.steps[step].outputs[name][0].load()


def require_production(project: ProjectSettings) -> None:
    """Stop before a run that needs the production release when there is none (ZenML would fail
    while creating the run, with a traceback); RegistryError names the model and what to run."""
    from registry.release import production_version_or_error

    production_version_or_error(project.model_name)


def write_outputs(path: str | None, **values: object) -> None:
    """Append key=value lines to PATH (CI: `--outputs "$GITHUB_OUTPUT"` hands them to later jobs)."""
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.writelines(f"{key}={value}\n" for key, value in values.items())


def retry_config(training: TrainingSettings):
    """The steps' ZenML retry policy from configs/training.yaml (None: no retries)."""
    from zenml.config.retry_config import StepRetryConfig

    retry = training.retry
    if retry.max_retries == 0:
        return None
    return StepRetryConfig(max_retries=retry.max_retries, delay=retry.delay_seconds, backoff=retry.backoff)


def cmd_deploy(args: argparse.Namespace) -> int:
    from zenml import Model

    from pipelines.deployment import deployment_pipeline
    from pipelines.runner import run_pipeline

    project = load_settings(args.project, ProjectSettings)
    serving = load_settings(args.config, ServingSettings)
    require_production(project)
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


def cmd_score(args: argparse.Namespace) -> int:
    from zenml import Model

    from pipelines.runner import run_pipeline
    from pipelines.scoring import scoring_pipeline

    project = load_settings(args.project, ProjectSettings)
    scoring = load_settings(args.config, ScoringSettings)
    require_production(project)
    pipeline = scoring_pipeline.with_options(model=Model(name=project.model_name, version="production"))
    if args.schedule:
        return schedule(pipeline, "score", scoring.schedule.cron, data=project.data, scoring=scoring)
    day = _day(args.date)
    run = run_pipeline(pipeline, data=project.data, scoring=scoring, day=day)
    summary = output(run, "store_scores", names.SCORING_SUMMARY)
    print(f"\nScored {summary['rows']} customers for {day} with model version {summary['model_version']}")
    print(f"  table {summary['table']} in {summary['database']}; labels {summary['label_share']}")
    for column, values in summary["unseen_categories"].items():
        print(f"  {column}: {values} unseen in training, scored as missing values (retraining learns them)")
    print(status.SCORED.line(f"{summary['rows']} rows for {day}"))
    return 0


def schedule(pipeline, command: str, cron: str, **parameters) -> int:
    """Register ``pipeline`` to run on ``cron`` (UTC) with the active stack's orchestrator; each run
    resolves its own date ("today"). Refused, with the alternatives, when the orchestrator cannot."""
    from zenml.client import Client
    from zenml.config.schedule import Schedule

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


def _day(value: str | None) -> str:
    from datetime import date

    day = value or date.today().isoformat()
    try:
        date.fromisoformat(day)
    except ValueError:
        raise ConfigError(f"--date {day!r} is not a date; use YYYY-MM-DD") from None
    return day


def cmd_monitor(args: argparse.Namespace) -> int:
    from zenml import Model

    from adapters.records import audit
    from pipelines.monitoring import monitoring_pipeline
    from pipelines.runner import run_pipeline

    project = load_settings(args.project, ProjectSettings)
    scoring = load_settings(args.scoring_config, ScoringSettings)
    monitoring = load_settings(args.config, MonitoringSettings)
    require_production(project)
    pipeline = monitoring_pipeline.with_options(model=Model(name=project.model_name, version="production"))
    if args.schedule:
        parameters = {"data": project.data, "scoring": scoring, "monitoring": monitoring}
        return schedule(
            pipeline, "monitor", monitoring.schedule.cron, **parameters, project=project.project_name
        )
    day = _day(args.date)
    run = run_pipeline(
        pipeline,
        data=project.data,
        scoring=scoring,
        monitoring=monitoring,
        day=day,
        project=project.project_name,
    )
    drift = output(run, "check_drift", names.DRIFT)
    decision = output(run, "alert", names.MONITORING_DECISION)
    print(
        f"\nMonitoring {day}: drift share {drift['drift_share']:.2f} "
        f"(drifted: {', '.join(sorted(drift['drifted_columns'])) or 'none'})"
    )
    write_outputs(args.outputs, breaches=len(decision["breaches"]), retrain=str(decision["retrain"]).lower())
    if not decision["breaches"]:
        print(status.NO_BREACH.line(day))
        return 0
    print(decision["alert"]["text_en"])
    print(decision["alert"]["summary_es"])
    where = decision["alert"]["dry_run_file"] or (
        "delivered" if decision["alert"]["delivered"] else "NOT delivered"
    )
    print(f"Alert: {where}; incident {decision['incident']}")
    print(status.BREACHED.line(f"incident {decision['incident']}"))
    if decision["retrain"]:
        state = state_paths(ROOT)
        audit(state.audit_log, "monitoring", "retraining", f"incident {decision['incident']}")
        if args.defer_retraining:
            print(status.RETRAINING_DEFERRED.line("deferred to the caller, e.g. CI's cd"))
            return 0
        print(status.RETRAINING.line("launching the training pipeline"))
        return cmd_train(
            argparse.Namespace(
                project=args.project, config=args.training_config, no_cache=False, outputs=args.outputs
            )
        )
    return 0


def cmd_brief(args: argparse.Namespace) -> int:
    from pipelines.brief import brief_pipeline
    from pipelines.runner import run_pipeline

    run = run_pipeline(
        brief_pipeline,
        project=load_settings(args.project, ProjectSettings),
        monitoring=load_settings(args.config, MonitoringSettings),
        training=load_settings(args.training_config, TrainingSettings),
    )
    summary = output(run, "executive_brief", names.BRIEF_SUMMARY)
    print("\n" + status.BRIEF.line(summary["status"]))
    print("".join(f"  - {finding}\n" for finding in summary["findings"]), end="")
    print(f"  HTML: {summary['html']}\n  Markdown: {summary['markdown']}")
    print("  (also the `executive_brief` artifact of this run in the ZenML dashboard)")
    return 0


def cmd_card(args: argparse.Namespace) -> int:
    from zenml import Model

    from pipelines.card import card_pipeline
    from pipelines.runner import run_pipeline
    from registry.models import production_version

    project = load_settings(args.project, ProjectSettings)
    version = args.version
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

    try:
        Client().get_model_version(model_name, version)
    except KeyError:
        raise RegistryError(
            f"model {model_name!r} has no version {version!r}; `python run.py models` lists them"
        ) from None


def cmd_undeploy(args: argparse.Namespace) -> int:
    import json

    from bentos.local_server import stop

    state = state_paths(ROOT)
    record = state.server_record
    if not record.exists():
        print("no local server is recorded; nothing to stop")
        return 0
    deployment = json.loads(record.read_text())
    stop(deployment["pid"])
    record.unlink()
    print(f"stopped the server at {deployment['url']} (pid {deployment['pid']})")
    print(status.STOPPED.line(deployment["url"]))
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from registry.models import describe_versions

    project = load_settings(args.project, ProjectSettings)
    rows = describe_versions(project.model_name)
    if not rows:
        print(f"model {project.model_name!r} has no versions yet; run `python run.py train`")
        return 0
    metric = load_settings(args.config, TrainingSettings).primary_metric

    def shown(value, digits: int) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    print(f"{'version':>7}  {'stage':<10} {metric:>9}  {'fairness':>8}  {'threshold':>9}  decision / release")
    for row in rows:
        decision = row["decision"] or f"none: training {row['training']}"
        print(
            f"{row['version']:>7}  {row['stage']:<10} {shown(row['metrics'].get(metric), 4):>9}  "
            f"{shown(row['fairness_score'], 3):>8}  {shown(row['threshold'], 2):>9}  "
            f"{decision} / {row['release'] or '-'}"
        )
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from registry.models import rollback

    project = load_settings(args.project, ProjectSettings)
    previous, restored = rollback(project.model_name, args.to)
    from adapters.records import audit

    state = state_paths(ROOT)
    audit(
        state.audit_log,
        "operator",
        "rollback",
        f"version {restored} restored, {previous} archived",
        {"model": project.model_name, "version": restored},
    )
    print(f"Rolled back {project.model_name}: version {restored} is production again; {previous} archived")
    print(status.ROLLED_BACK.line(f"version {restored}"))
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


def cmd_data(args: argparse.Namespace) -> int:
    from adapters.sources import ensure_demo_db

    project = load_settings(args.project, ProjectSettings)
    path = ensure_demo_db(project.data.demo, ROOT)
    print(f"Demo data ({project.data.demo.customers} customers, seed {project.data.demo.seed}): {path}")
    return 0


def cmd_stack(args: argparse.Namespace) -> int:
    from stacks.apply import apply_stack, describe_stacks, remove_stack
    from stacks.spec import available_specs, load_spec

    if args.action == "apply":
        changes = apply_stack(load_spec(args.name, ROOT), activate=not args.no_activate)
        print("\n".join(changes) if changes else f"stack {args.name!r} is up to date; nothing changed")
    elif args.action == "list":
        print("specs in stacks/: " + ", ".join(available_specs()))
        print("registered (* = active):\n" + "\n".join(describe_stacks()))
    else:
        remove_stack(args.name)
        print(f"removed stack {args.name!r} and its components")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="run.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = sub.add_parser("train", help="run the training pipeline on the active stack")
    train.add_argument("--project", default=str(ROOT / "configs/project.yaml"), help="project settings")
    train.add_argument("--config", default=str(ROOT / "configs/training.yaml"), help="training settings")
    train.add_argument("--no-cache", action="store_true", help="rerun every step (ignore ZenML's cache)")
    train.add_argument("--outputs", metavar="FILE", help="append model_version=, stage=, primary_metric=")
    train.set_defaults(func=cmd_train)

    data = sub.add_parser("data", help="generate the demo SQLite database (done by `train` if missing)")
    data.add_argument("--project", default=str(ROOT / "configs/project.yaml"), help="project settings")
    data.set_defaults(func=cmd_data)

    models = sub.add_parser("models", help="list the model's versions, stages, metrics and decisions")
    models.add_argument("--project", default=str(ROOT / "configs/project.yaml"), help="project settings")
    models.add_argument("--config", default=str(ROOT / "configs/training.yaml"), help="training settings")
    models.set_defaults(func=cmd_models)

    deploy = sub.add_parser("deploy", help="serve the production model over HTTP (BentoML), locally")
    deploy.add_argument("--project", default=str(ROOT / "configs/project.yaml"), help="project settings")
    deploy.add_argument("--config", default=str(ROOT / "configs/serving.yaml"), help="serving settings")
    deploy.set_defaults(func=cmd_deploy)

    score = sub.add_parser("score", help="nightly batch scoring with the production model")
    score.add_argument("--project", default=str(ROOT / "configs/project.yaml"), help="project settings")
    score.add_argument("--config", default=str(ROOT / "configs/scoring.yaml"), help="scoring settings")
    score.add_argument("--date", help="scoring date YYYY-MM-DD (default: today); a rerun replaces that date")
    score.add_argument(
        "--schedule",
        action="store_true",
        help="register the nightly schedule of configs/scoring.yaml instead",
    )
    score.set_defaults(func=cmd_score)

    monitor = sub.add_parser("monitor", help="drift, decay and serving health; alert and retrain on breach")
    monitor.add_argument("--project", default=str(ROOT / "configs/project.yaml"), help="project settings")
    monitor.add_argument(
        "--config", default=str(ROOT / "configs/monitoring.yaml"), help="monitoring settings"
    )
    monitor.add_argument("--scoring-config", default=str(ROOT / "configs/scoring.yaml"), help="data window")
    monitor.add_argument(
        "--training-config", default=str(ROOT / "configs/training.yaml"), help="for retraining"
    )
    monitor.add_argument("--date", help="window date YYYY-MM-DD (default: today)")
    monitor.add_argument("--outputs", metavar="FILE", help="append breaches= and retrain= lines")
    monitor.add_argument(
        "--defer-retraining", action="store_true", help="on a breach asking for it, only report retrain=true"
    )
    monitor.add_argument(
        "--schedule", action="store_true", help="register the schedule of configs/monitoring.yaml instead"
    )
    monitor.set_defaults(func=cmd_monitor)

    brief = sub.add_parser("brief", help="two-page executive brief (EN + ES summary): KPIs, drift, incidents")
    brief.add_argument("--project", default=str(ROOT / "configs/project.yaml"), help="project settings")
    brief.add_argument("--config", default=str(ROOT / "configs/monitoring.yaml"), help="monitoring settings")
    brief.add_argument(
        "--training-config", default=str(ROOT / "configs/training.yaml"), help="fairness threshold"
    )
    brief.set_defaults(func=cmd_brief)

    card = sub.add_parser("card", help="write a version's model card (EN + ES summary): Markdown and HTML")
    card.add_argument("--project", default=str(ROOT / "configs/project.yaml"), help="project settings")
    card.add_argument("--version", help="model version (default: the production version)")
    card.set_defaults(func=cmd_card)

    undeploy = sub.add_parser("undeploy", help="stop the local server started by `deploy`")
    undeploy.set_defaults(func=cmd_undeploy)

    back = sub.add_parser("rollback", help="restore the production version the current one replaced")
    back.add_argument("--project", default=str(ROOT / "configs/project.yaml"), help="project settings")
    back.add_argument("--to", help="version to restore instead (see `run.py models`)")
    back.set_defaults(func=cmd_rollback)

    stack = sub.add_parser("stack", help="apply, list or remove the ZenML stacks specified in stacks/")
    stack.add_argument("action", choices=("apply", "list", "remove"))
    stack.add_argument("name", nargs="?", default="local", help="spec name (default: local)")
    stack.add_argument("--no-activate", action="store_true", help="apply without `zenml stack set`")
    stack.set_defaults(func=cmd_stack)
    return parser


def use_project_state() -> None:
    """ZenML's store and BentoML's model store live in the project's state dir unless
    ZENML_CONFIG_PATH / BENTOML_HOME say otherwise (BentoML's default, ~/bentoml, is shared by every
    project on the machine)."""
    state = state_paths(ROOT)
    os.environ.setdefault("ZENML_CONFIG_PATH", str(state.zenml))
    os.environ.setdefault("BENTOML_HOME", str(state.bentoml))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    use_project_state()
    try:
        return args.func(args)
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        print(status.failure(args.command).line(), file=sys.stderr)
        return 2
    except PipelineFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        print(status.failure(args.command).line(), file=sys.stderr)
        return 2 if exc.user_error else 1


if __name__ == "__main__":
    sys.exit(main())
