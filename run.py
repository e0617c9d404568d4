"""Command line of the project: `python run.py --help`.

Every command reads its settings from configs/ (validated; unknown keys rejected) and runs on the
active ZenML stack, so `zenml stack set <name> && python run.py train` is all that changes between
a laptop and a cluster. This file is the table of commands and their options; what each one does is
a function in commands.py.
"""

from __future__ import annotations

import sys

import click
from click.core import ParameterSource

from commands import (
    ROOT,
    cmd_brief,
    cmd_card,
    cmd_data,
    cmd_deploy,
    cmd_models,
    cmd_monitor,
    cmd_rollback,
    cmd_score,
    cmd_stack,
    cmd_train,
    cmd_undeploy,
    exit_code,
    use_project_state,
)
from ml import status


def _in_project(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A default settings path is this project's file (shown relative to it); a given one, as given."""
    return str(ROOT / value) if ctx.get_parameter_source(param.name) is ParameterSource.DEFAULT else value


def settings(flag: str, name: str, what: str, dest: str | None = None) -> click.Option:
    """``--FLAG FILE``: a settings file, by default the project's configs/NAME.yaml."""
    return click.Option(
        [flag, dest or flag[2:].replace("-", "_")],
        default=f"configs/{name}.yaml",
        show_default=True,
        metavar="FILE",
        help=what,
        callback=_in_project,
    )


def flag(name: str, what: str, dest: str | None = None) -> click.Option:
    return click.Option([name, dest or name[2:].replace("-", "_")], is_flag=True, help=what)


def value(name: str, what: str, metavar: str = "TEXT") -> click.Option:
    return click.Option([name], metavar=metavar, help=what)


PROJECT = settings("--project", "project", "project settings", dest="project_config")
TRAINING = settings("--config", "training", "training settings")
SCORING = settings("--config", "scoring", "scoring settings")
MONITORING = settings("--config", "monitoring", "monitoring settings")
DATE = "YYYY-MM-DD"
SCHEDULE = "register the nightly schedule of configs/{}.yaml instead"
STACK_ACTION = click.Argument(["action"], type=click.Choice(["apply", "list", "remove"]))

# The commands: name -> (function, what it does, its options); the function is called with them as keywords.
COMMANDS = {
    "train": (
        cmd_train,
        "run the training pipeline on the active stack",
        [
            PROJECT,
            TRAINING,
            flag("--no-cache", "rerun every step (ignore ZenML's cache)"),
            value("--outputs", "append model_version=, stage=, primary_metric=", "FILE"),
        ],
    ),
    "data": (cmd_data, "generate the demo SQLite database (done by `train` if missing)", [PROJECT]),
    "models": (cmd_models, "list the model's versions, stages, metrics and decisions", [PROJECT, TRAINING]),
    "deploy": (
        cmd_deploy,
        "serve the production model over HTTP (BentoML), locally",
        [PROJECT, settings("--config", "serving", "serving settings")],
    ),
    "score": (
        cmd_score,
        "nightly batch scoring with the production model",
        [
            PROJECT,
            SCORING,
            value("--date", "scoring date (default: today); a rerun replaces that date", DATE),
            flag("--schedule", SCHEDULE.format("scoring"), "register_schedule"),
        ],
    ),
    "monitor": (
        cmd_monitor,
        "drift, decay and serving health; alert and retrain on breach",
        [
            PROJECT,
            MONITORING,
            settings("--scoring-config", "scoring", "data window"),
            settings("--training-config", "training", "for retraining"),
            value("--date", "window date (default: today)", DATE),
            value("--outputs", "append breaches= and retrain= lines", "FILE"),
            flag("--defer-retraining", "on a breach asking for it, only report retrain=true"),
            flag("--schedule", SCHEDULE.format("monitoring"), "register_schedule"),
        ],
    ),
    "brief": (
        cmd_brief,
        "two-page executive brief (EN + ES summary): KPIs, drift, incidents",
        [PROJECT, MONITORING, settings("--training-config", "training", "fairness threshold")],
    ),
    "card": (
        cmd_card,
        "write a version's model card (EN + ES summary): Markdown and HTML",
        [PROJECT, value("--version", "model version (default: the production version)", "N")],
    ),
    "undeploy": (cmd_undeploy, "stop the local server started by `deploy`", []),
    "rollback": (
        cmd_rollback,
        "restore the production version the current one replaced",
        [PROJECT, value("--to", "version to restore instead (column `version` of `run.py models`)", "N")],
    ),
    "stack": (
        cmd_stack,
        "apply, list or remove the ZenML stacks specified in stacks/ (NAME: a spec, default: local)",
        [
            STACK_ACTION,
            click.Argument(["name"], required=False, default="local"),
            flag("--no-activate", "apply without `zenml stack set`"),
        ],
    ),
}


def command(name: str, function, summary: str, params: list[click.Parameter]) -> click.Command:
    def invoke(**values) -> int:
        use_project_state()
        try:
            return function(**values)
        except Exception as error:
            code = exit_code(error)
            if code is None:
                raise
            print(f"error: {error}", file=sys.stderr)
            print(status.failure(name).line(), file=sys.stderr)
            return code

    return click.Command(name, callback=invoke, params=params, help=summary, short_help=summary)


class Commands(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # the table's order, not alphabetical


HELP = {"help_option_names": ["-h", "--help"], "max_content_width": 110}
cli = Commands("run.py", help=__doc__.splitlines()[0], context_settings=HELP)
for _name, _command in COMMANDS.items():
    cli.add_command(command(_name, *_command))


def main(argv: list[str] | None = None) -> int:
    """Run the command ``argv`` names (default: sys.argv[1:]); its exit code: 0, 2 for a usage or
    user error (`error: <message>` and the failure status on stderr), 1 for a failed pipeline."""
    try:
        return cli.main(argv, prog_name="run.py", standalone_mode=False)
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.Abort:
        print("Aborted!", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
