"""No secret in the repository (the pre-commit secrets hook, shown to catch a planted token) and
dependency pins at versions without the known advisories."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PRE_COMMIT = [sys.executable, "-m", "pre_commit"]


def locked(name: str) -> Version:
    text = (ROOT / "requirements.lock").read_text()
    match = re.search(rf"^{re.escape(name)}==([^\s;\\]+)", text, flags=re.MULTILINE | re.IGNORECASE)
    assert match, f"{name} is not pinned in requirements.lock"
    return Version(match.group(1))


@pytest.mark.parametrize(
    ("package", "minimum", "why"),
    [
        ("bentoml", "1.4.39", "earlier 1.4 releases have published advisories (e.g. unsafe deserialization)"),
        ("mlflow", "3.8", "earlier releases have published advisories (path traversal, RCE)"),
    ],
)
def test_locked_versions_are_past_the_known_advisories(package, minimum, why):
    assert locked(package) >= Version(minimum), f"{package} {locked(package)} < {minimum}: {why}"


def test_pandas_stays_below_3_in_the_lock_and_the_requirements():
    assert locked("pandas") < Version("3"), "evidently 0.7.23 does not import under pandas 3"
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'"pandas[^"]*<3"', pyproject), "pyproject.toml must cap pandas below 3"


def run_secrets_hook(repo: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*PRE_COMMIT, "run", "secrets", "--all-files", "--color", "never"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def planted_repo(tmp_path):
    """A git repository with this project's pre-commit config and a file holding a fake token."""
    git = shutil.which("git")
    assert git, "git is needed to run pre-commit"
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(ROOT / ".pre-commit-config.yaml", repo / ".pre-commit-config.yaml")
    fake = "AKIA" + "ABCDEFGHIJKLMNOP"  # split so this test file itself holds no token
    (repo / "settings.py").write_text(f'AWS_KEY = "{fake}"\n')
    (repo / "clean.py").write_text("x = 1\n")
    for args in (["init", "-q"], ["add", "."]):
        subprocess.run([git, *args], cwd=repo, check=True, capture_output=True)
    return repo


def test_the_secrets_hook_catches_a_planted_token(planted_repo):
    result = run_secrets_hook(planted_repo)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "settings.py:1" in result.stdout and "clean.py" not in result.stdout, result.stdout


def test_the_repository_holds_no_token_or_webhook_url(tmp_path):
    repo = ROOT
    if not (ROOT / ".git").exists():  # a freshly generated project: scan a git copy of its files
        repo = tmp_path / "copy"
        skip = shutil.ignore_patterns(".venv", ".state", ".git", "mlruns", "build", "__pycache__", "*.sqlite")
        shutil.copytree(ROOT, repo, ignore=skip, symlinks=True)
        for args in (["init", "-q"], ["add", "."]):
            subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    result = run_secrets_hook(repo)
    assert result.returncode == 0, result.stdout + result.stderr
