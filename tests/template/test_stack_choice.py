"""The `cloud_providers` answer picks which cloud stacks a project gets, by conditional file names
(no `{% if %}` inside code): local, team and container always; each chosen cloud adds its spec, its run
settings and its Terraform; the default (every cloud) is the reference project at the root."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from tests.template.conftest import render

CLOUDS = ("aws", "gcp", "azure", "kubernetes")


@pytest.fixture(scope="module")
def aws_only(tmp_path_factory):
    return render(tmp_path_factory.mktemp("render") / "aws-only", {"cloud_providers": ["aws"]})


@pytest.fixture(scope="module")
def no_cloud(tmp_path_factory):
    return render(tmp_path_factory.mktemp("render") / "no-cloud", {"cloud_providers": []})


def stack_files(project) -> dict[str, set[str]]:
    return {
        "specs": {p.stem for p in (project / "stacks").glob("*.yaml")},
        "settings": {p.stem for p in (project / "configs" / "stacks").glob("*.yaml")},
        "terraform": {p.name for p in (project / "stacks" / "terraform").glob("*") if any(p.glob("*.tf"))},
    }


def test_default_rendering_has_every_cloud(default_project):
    files = stack_files(default_project)
    assert files["specs"] == {"local", "team", "container", *CLOUDS}, files
    assert files["settings"] == {"team", "container", *CLOUDS} and files["terraform"] == set(CLOUDS), files
    answers = yaml.safe_load((default_project / ".copier-answers.yml").read_text())
    assert answers["cloud_providers"] == list(CLOUDS), answers


def test_one_cloud_adds_only_its_spec_settings_and_terraform(aws_only):
    files = stack_files(aws_only)
    expected = {"specs": {"local", "team", "container", "aws"}, "settings": {"team", "container", "aws"}}
    assert files == {**expected, "terraform": {"aws"}}, files


def test_no_cloud_keeps_local_team_and_container(no_cloud):
    files = stack_files(no_cloud)
    expected = {"specs": {"local", "team", "container"}, "settings": {"team", "container"}}
    assert files == {**expected, "terraform": set()}, files


def test_the_one_cloud_project_checks_its_own_terraform_and_lists_its_specs(aws_only):
    listed = subprocess.run(
        [sys.executable, "-c", "from stacks.spec import available_specs; print(available_specs())"],
        cwd=aws_only,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert listed.stdout.strip() == "['aws', 'container', 'local', 'team']", listed.stdout + listed.stderr
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit/test_terraform.py"],
        cwd=aws_only,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert tests.returncode == 0, tests.stdout[-4000:]
    assert "skipped" not in tests.stdout and " passed" in tests.stdout, tests.stdout[-2000:]
