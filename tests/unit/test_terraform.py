"""The Terraform under stacks/terraform, checked offline (no terraform binary, no cloud call): the
pre-commit hook runs checkov in its own environment and every finding is fixed or skipped with a
reason; every file parses with the python-hcl2 that checkov brings; each cloud's `spec_env` output
exports exactly the variables its stack spec reads (minus the credentials, which never are outputs).

The hook environment is installed once into PRE_COMMIT_HOME (default ~/.cache/andamio-pre-commit,
as the rendering test uses); the scan runs on a copy in a temporary git repository, so files other
people are editing in this checkout do not disturb it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "stacks" / "terraform"
# The clouds this project has Terraform for (the Copier answer `cloud_providers` picks them).
CLOUDS = tuple(name for name in ("aws", "gcp", "azure", "kubernetes") if (TERRAFORM / name).is_dir())
pytestmark = pytest.mark.skipif(not CLOUDS, reason="no cloud provider chosen: no Terraform to check")
# Credentials the operator exports (they go into ZenML secrets); never Terraform outputs.
CREDENTIALS = {
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "SLACK_BOT_TOKEN",
    "K8S_S3_ACCESS_KEY_ID",
    "K8S_S3_SECRET_ACCESS_KEY",
    "AZURE_STORAGE_ACCOUNT_KEY",
}


@pytest.fixture(scope="module")
def scan(tmp_path_factory) -> dict:
    home = os.environ.get("PRE_COMMIT_HOME", str(Path.home() / ".cache" / "andamio-pre-commit"))
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PRE_COMMIT_HOME": home}
    repo = tmp_path_factory.mktemp("terraform")
    shutil.copy(ROOT / ".pre-commit-config.yaml", repo)
    shutil.copytree(TERRAFORM, repo / "stacks" / "terraform")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "terraform"]):
        subprocess.run([*git, *command], cwd=repo, check=True, env=env)
    hook = subprocess.run(
        ["pre-commit", "run", "checkov", "--all-files", "--verbose"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    envs = sorted(Path(home).glob("repo*/py_env-*/bin/checkov"))
    assert envs, f"the checkov hook environment is missing in {home}:\n{hook.stdout[-3000:]}"
    report = subprocess.run(
        [str(envs[-1]), "--skip-download", "--framework", "terraform", "-o", "json", "-d", "."],
        cwd=repo / "stacks" / "terraform",
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    parsed = subprocess.run(
        [
            str(envs[-1].parent / "python"),
            "-c",
            "import hcl2, json, sys, pathlib\n"
            "out = {}\n"
            "for p in sorted(pathlib.Path(sys.argv[1]).rglob('*.tf')):\n"
            "    with p.open() as f:\n"
            "        out[str(p.relative_to(sys.argv[1]))] = hcl2.load(f)\n"
            "print(json.dumps(out, default=str))",
            str(TERRAFORM),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert parsed.returncode == 0, f"python-hcl2 could not parse:\n{parsed.stderr[-3000:]}"
    return {"hook": hook, "report": json.loads(report.stdout), "hcl": json.loads(parsed.stdout)}


def test_checkov_hook_passes_with_zero_failed_checks(scan):
    hook = scan["hook"]
    assert hook.returncode == 0, f"checkov hook failed:\n{hook.stdout[-6000:]}"
    counts = re.search(r"Passed checks: (\d+), Failed checks: (\d+), Skipped checks: (\d+)", hook.stdout)
    assert counts, hook.stdout[-3000:]
    passed, failed, _ = map(int, counts.groups())
    assert failed == 0 and passed > 50, hook.stdout[-3000:]


def test_every_skip_names_a_reason(scan):
    for path in TERRAFORM.rglob("*.tf"):
        for line in path.read_text().splitlines():
            if "checkov:skip=" in line:
                assert re.search(r"checkov:skip=CKV2?_[A-Z0-9_]+: \S.{10,}", line), f"{path.name}: {line}"
    skipped = scan["report"]["summary"]["skipped"] if isinstance(scan["report"], dict) else None
    assert skipped is not None and skipped > 0, scan["report"]


def test_checkov_parsed_every_module_without_errors(scan):
    report = scan["report"]
    assert report["summary"]["parsing_errors"] == 0, report["summary"]
    assert report["summary"]["failed"] == 0, [c["check_id"] for c in report["results"]["failed_checks"]]
    scanned = {check["file_path"].split("/")[1] for check in report["results"]["passed_checks"]}
    assert scanned == set(CLOUDS), f"modules checkov saw: {scanned}"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_spec_env_output_exports_what_the_stack_spec_reads(scan, cloud):
    outputs = scan["hcl"][f"{cloud}/outputs.tf"]["output"]
    spec_env = next(item["spec_env"] for item in outputs if "spec_env" in item)
    value = spec_env["value"][0]  # checkov's python-hcl2 wraps attribute values in lists
    exported = set(re.findall(r"export ([A-Z0-9_]+)=", value))
    spec = (ROOT / "stacks" / f"{cloud}.yaml").read_text()
    needed = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)\}", spec)) - CREDENTIALS
    assert exported == needed, f"{cloud}: not exported {needed - exported}; not read {exported - needed}"
    assert not exported & CREDENTIALS


@pytest.mark.parametrize("cloud", CLOUDS)
def test_each_module_pins_its_providers(scan, cloud):
    terraform = scan["hcl"][f"{cloud}/versions.tf"]["terraform"][0]
    providers = terraform["required_providers"][0]
    assert providers and all("~>" in spec[0]["version"] for spec in providers.values()), providers
