"""The container pieces that need no engine: settings, run-settings variables, the base image's
identity, what a build gets mounted, and the refusal when no engine answers."""

import re
from pathlib import Path

import pytest

from ml.settings import ConfigError, DataSettings, ServingSettings, load_settings
from stacks import containers
from stacks.run_settings import resolve_variables

ROOT = Path(__file__).resolve().parents[2]


def test_serving_runtime_is_process_or_container_and_a_typo_names_the_field(tmp_path):
    assert load_settings(ROOT / "configs/serving.yaml", ServingSettings).runtime == "process"
    bad = tmp_path / "serving.yaml"
    bad.write_text("runtime: kubernetes\n")
    with pytest.raises(
        ConfigError, match=r"runtime: Input should be 'process' or 'container' \(got 'kubernetes'\)"
    ):
        load_settings(bad, ServingSettings)
    bad.write_text("runtime: container\ncontainer: {engine: lxc}\n")
    with pytest.raises(ConfigError, match=r"container.engine"):
        load_settings(bad, ServingSettings)


def test_run_settings_variables_resolve_from_the_given_values_the_environment_then_the_default(monkeypatch):
    monkeypatch.setenv("SOME_IMAGE", "localhost/x:1")
    monkeypatch.delenv("UNSET_IMAGE", raising=False)
    text = "a: ${STATE_DIR}\nb: ${SOME_IMAGE:-other}\nc: ${UNSET_IMAGE:-fallback}\n"
    assert resolve_variables(text, {"STATE_DIR": "/s"}) == "a: /s\nb: localhost/x:1\nc: fallback\n"
    with pytest.raises(ConfigError, match="UNSET_IMAGE"):
        resolve_variables("d: ${UNSET_IMAGE}", {})


def test_the_base_image_tag_changes_with_its_definition_and_mirror(monkeypatch):
    first = containers.base_image_tag("http://mirror.one/debian")
    assert first == containers.base_image_tag("http://mirror.one/debian"), "the tag is deterministic"
    assert first != containers.base_image_tag("http://mirror.two/debian")
    monkeypatch.setattr(containers, "BASE_CONTAINERFILE", containers.BASE_CONTAINERFILE + "RUN true\n")
    assert containers.base_image_tag("http://mirror.one/debian") != first


def test_builds_get_the_host_configuration_mounted_read_only_and_no_host_path_index(tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_FIND_LINKS", "/opt/wheels")
    monkeypatch.setenv("PIP_DEFAULT_TIMEOUT", "99")
    mounts = containers.build_mounts(tmp_path)
    assert all(mount.endswith(":ro") for mount in mounts), mounts
    assert (
        f"{tmp_path}/pip.conf:/etc/pip.conf:ro" in mounts
        and f"{tmp_path}/uv.toml:/etc/uv/uv.toml:ro" in mounts
    )
    pip_conf = (tmp_path / "pip.conf").read_text()
    assert "default-timeout = 99" in pip_conf and "/opt/wheels" not in pip_conf, pip_conf
    assert "native-tls = true" in (tmp_path / "uv.toml").read_text()


def test_the_project_holds_no_package_index_host():
    for path in (
        "stacks/containers.py",
        "configs/stacks/container.yaml",
        "stacks/container.yaml",
        ".dockerignore",
    ):
        text = (ROOT / path).read_text()
        assert "pypi.org" not in text and "files.pythonhosted" not in text, f"{path} names an index host"


def test_no_engine_answering_is_named_with_how_to_start_one(tmp_path, monkeypatch):
    from stacks.preflight import check_engine

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/none.sock")
    with pytest.raises(
        ConfigError, match=r"no container engine answers at unix://.*none.sock.*stacks.containers start"
    ):
        check_engine("container")


def test_a_container_stack_refuses_a_table_its_steps_would_not_see_naming_the_folder_they_see(tmp_path):
    """The step containers see the project's data/ folder (mounted, configs/stacks/container.yaml),
    nothing else of the machine: a table elsewhere failed the run's first step, after its image was
    built; the default SQL answer, sqlite:///data/customers.sqlite, was left out of the image."""
    from stacks.preflight import check_mounted

    (tmp_path / "data").mkdir()
    common = {"target_column": "y", "positive_label": "1", "sensitive_features": ()}
    seen = [
        DataSettings(source="csv", path="data/customers.csv", **common),
        DataSettings(source="parquet", path=str(tmp_path / "data/lake"), **common),
        DataSettings(source="sql", sql_url="sqlite:///data/customers.sqlite", sql_query="SELECT 1", **common),
        DataSettings(source="sql", sql_url="postgresql+psycopg://db/x", sql_query="SELECT 1", **common),
        DataSettings(),  # the demo: generated in the step
    ]
    for data in seen:
        check_mounted("container", data, tmp_path)
    with pytest.raises(
        ConfigError, match=r"not /mnt/lake/customers.parquet \(data.path\); put the table there"
    ):
        check_mounted(
            "container",
            DataSettings(source="parquet", path="/mnt/lake/customers.parquet", **common),
            tmp_path,
        )
    elsewhere = DataSettings(
        source="sql", sql_url="sqlite:///exports/crm.sqlite", sql_query="SELECT 1", **common
    )
    with pytest.raises(
        ConfigError, match=r"data/ folder \(.*/data\), not .*/exports/crm.sqlite \(data.sql_url\)"
    ):
        check_mounted("container", elsewhere, tmp_path)
    with pytest.raises(ConfigError, match=r"not .*/customers.csv \(data.path\)"):
        check_mounted(
            "container", DataSettings(source="csv", path="data/../customers.csv", **common), tmp_path
        )


def test_the_code_archive_zenml_ships_with_each_run_carries_the_code_and_no_table_of_data(tmp_path):
    """ZenML archives the project's files that git does not ignore, uploads the archive for each run of
    a container or cloud stack (again whenever it changes) and unpacks it in every step's container.
    A CSV or a Parquet folder in data/ travelled in it (a new day's table, a new copy in the artifact
    store) and was unpacked over the data/ folder the container stack mounts: .gitignore leaves the
    project's data/ out, and only that one (ml/data/ is code)."""
    import subprocess

    from zenml.utils.code_utils import CodeArchive

    project = tmp_path / "project"
    (project / "data" / "lake" / "day=2026-12-01").mkdir(parents=True)
    (project / "ml" / "data").mkdir(parents=True)  # a package named data is code (ml/data/)
    (project / ".gitignore").write_text((ROOT / ".gitignore").read_text())
    (project / "ml" / "data" / "__init__.py").write_text("X = 1\n")
    (project / "run.py").write_text("print()\n")
    for table in ("customers.csv", "customers.sqlite", "lake/day=2026-12-01/part-0.parquet"):
        (project / "data" / table).write_text("id,y\n1,0\n")
    subprocess.run(["git", "init", "-q", str(project)], check=True)

    files = sorted(CodeArchive(str(project)).get_files())

    assert files == [".gitignore", "ml/data/__init__.py", "run.py"], files


def test_a_cloud_stack_refuses_a_table_in_the_project_and_takes_a_server_or_a_mounted_volume(tmp_path):
    """Steps that run away from this machine (SageMaker, Vertex, AzureML, Kubernetes) get the code,
    never the project's data/ folder (.gitignore): a table there failed the run's first step in the
    cloud. A database server, an absolute path (a volume the team mounts in every step) and the demo
    (generated in the step) pass."""
    from stacks.preflight import check_remote

    common = {"target_column": "y", "positive_label": "1", "sensitive_features": ()}
    for data in (
        DataSettings(source="sql", sql_url="postgresql+psycopg://db/x", sql_query="SELECT 1", **common),
        DataSettings(source="parquet", path="/mnt/lake/customers", **common),
        DataSettings(source="sql", sql_url="sqlite:////mnt/share/crm.sqlite", sql_query="SELECT 1", **common),
        DataSettings(),
    ):
        check_remote("aws", "sagemaker", data)
    with pytest.raises(
        ConfigError,
        match=r"stack .aws. runs its steps on its sagemaker orchestrator, away from this machine, and they "
        r"do not see the project.s file data/customers.csv \(data.path\).*data.source: sql.*"
        r"configs/stacks/aws.yaml",
    ):
        check_remote("aws", "sagemaker", DataSettings(source="csv", path="data/customers.csv", **common))
    with pytest.raises(ConfigError, match=r"file data/customers.sqlite \(data.sql_url\)"):
        check_remote(
            "gcp",
            "vertex",
            DataSettings(
                source="sql", sql_url="sqlite:///data/customers.sqlite", sql_query="SELECT 1", **common
            ),
        )


def test_a_cloud_stack_refuses_to_score_into_sqlite_which_its_step_container_would_take_away(monkeypatch):
    """The default scores table is SQLite in the state directory: on a stack whose steps run away
    from this machine the step wrote it in its own container, said "Scored 6366 rows" and the table
    went with the container. `score` exits 2 before the run; a database server passes, and the
    local and container stacks (the state directory mounted) keep SQLite."""
    from types import SimpleNamespace

    import zenml.client

    from ml.settings import ScoringSettings
    from stacks.preflight import check_stack

    def stack_of(flavor: str):
        store = SimpleNamespace(config=SimpleNamespace(), name="store")
        orchestrator = SimpleNamespace(flavor=flavor)
        stack = SimpleNamespace(
            name=flavor,
            orchestrator=orchestrator,
            artifact_store=store,
            experiment_tracker=None,
            model_registry=None,
        )
        monkeypatch.setattr(zenml.client, "Client", lambda: SimpleNamespace(active_stack=stack))

    server = ScoringSettings(database_url="postgresql+psycopg://scorer@db.internal/scores")
    stack_of("kubernetes")
    check_stack("score", scoring=server)
    on_a_volume = "sqlite:////mnt/scores.sqlite"
    for sqlite, shown in (
        (ScoringSettings(), "empty: SQLite in the state directory"),
        (ScoringSettings(database_url=on_a_volume), on_a_volume),
    ):
        with pytest.raises(
            ConfigError,
            match=rf"stack 'kubernetes' runs its steps on its kubernetes orchestrator.*written to a SQLite "
            rf"file in the step's container \(scoring.database_url: {re.escape(shown)}\) and lost with it; "
            r"set scoring.database_url",
        ):
            check_stack("score", scoring=sqlite)
    stack_of("local")
    check_stack("score", scoring=ScoringSettings())


def test_a_container_stack_refuses_data_files_git_tracks_which_each_step_would_unpack_over_the_mount(
    tmp_path,
):
    """A project that committed its CSV before .gitignore left data/ out: ZenML ships tracked files
    in the code archive whatever .gitignore says, and every step container unpacked the committed
    copy over the data/ folder it mounts (a nightly export that landed during the run, replaced).
    Untracked tables pass; a cloud stack, which mounts nothing, is not asked."""
    import subprocess

    from stacks.preflight import check_code_archive

    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text((ROOT / ".gitignore").read_text())
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "customers.csv").write_text("id,y\n1,0\n")
    check_code_archive("container", tmp_path, mounted=True)  # ignored, untracked
    subprocess.run([*git, "add", "-f", "data/customers.csv"], cwd=tmp_path, check=True)
    with pytest.raises(
        ConfigError,
        match=r"mounts the project's data/ folder .*git tracks data/customers.csv: ZenML would ship them.*"
        r"`git rm -r --cached data`",
    ):
        check_code_archive("container", tmp_path, mounted=True)
    check_code_archive("aws", tmp_path, mounted=False)


def test_a_project_outside_git_is_refused_by_container_and_cloud_stacks_whose_archive_would_carry_every_file(
    tmp_path, monkeypatch
):
    """Copier renders a project without `git init`. ZenML reads .gitignore through git only: outside
    a git repository its code archive, uploaded with each run of a container or cloud stack, held
    every file (shown here with ZenML's own CodeArchive): the artifact store and MLflow runs of
    .state/, growing with each run, the tables of data/, a .venv/ folder. `train`, `score`, `monitor`
    and `deploy` now exit 2 saying to make it a repository (and how); after `git init` and a commit
    the same archive holds only the code, and the local stack never asks."""
    import subprocess
    from types import SimpleNamespace

    import zenml.client
    from zenml.utils.code_utils import CodeArchive

    from stacks import preflight
    from stacks.preflight import check_stack

    project = tmp_path / "proj"
    for folder, file in (("ml/data", "__init__.py"), (".state/artifacts", "run-1.tar.gz"), ("data", "t.csv")):
        (project / folder).mkdir(parents=True)
        (project / folder / file).write_text("x\n")
    (project / ".gitignore").write_text((ROOT / ".gitignore").read_text())
    archived = sorted(CodeArchive(str(project)).get_files())
    assert {".state/artifacts/run-1.tar.gz", "data/t.csv"} <= set(archived), archived

    stack = SimpleNamespace(
        name="", orchestrator=None, experiment_tracker=None, model_registry=None,
        artifact_store=SimpleNamespace(config=SimpleNamespace(), name="store"),
    )  # fmt: skip
    monkeypatch.setattr(zenml.client, "Client", lambda: SimpleNamespace(active_stack=stack))
    monkeypatch.setattr(preflight, "check_engine", lambda name: None)  # the engine is not the question
    for name, flavor in (("container", "local_docker"), ("aws", "sagemaker"), ("k8s", "kubernetes")):
        stack.name, stack.orchestrator = name, SimpleNamespace(flavor=flavor)
        with pytest.raises(
            ConfigError,
            match=rf"stack '{name}' ships the project's code with each run.*{re.escape(str(project))} is "
            r"outside git \(it is not a git repository\), so every file of the project would be archived "
            r"and uploaded with every run \(\.state/, data/ included\); make the project a git repository "
            r"\(`git init && git add -A && git commit",
        ):
            check_stack("train", root=project)
    stack.name, stack.orchestrator = "local", SimpleNamespace(flavor="local")
    check_stack("train", root=project)

    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "project"]):
        subprocess.run([*git, *command], cwd=project, check=True)
    for name, flavor in (("container", "local_docker"), ("aws", "sagemaker")):
        stack.name, stack.orchestrator = name, SimpleNamespace(flavor=flavor)
        check_stack("train", root=project)
    assert sorted(CodeArchive(str(project)).get_files()) == [".gitignore", "ml/data/__init__.py"]

    # a project in a folder its enclosing repository ignores (scripts/demo.sh renders into build/demo):
    # ZenML's archive would hold no file; a repository of its own there passes
    demo = project / "build" / "demo"
    (demo / "ml").mkdir(parents=True)
    (demo / "ml" / "__init__.py").write_text("")
    (project / ".gitignore").write_text("build/\n")
    with pytest.raises(RuntimeError, match="does not contain any files"):
        CodeArchive(str(demo)).get_files()
    with pytest.raises(
        ConfigError,
        match=rf"{re.escape(str(demo))} lies in a folder the git repository "
        rf"{re.escape(str(project))} ignores, so the archive would hold no file",
    ):
        check_stack("train", root=demo)
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "demo"]):
        subprocess.run([*git, *command], cwd=demo, check=True)
    check_stack("train", root=demo)
    assert sorted(CodeArchive(str(demo)).get_files()) == ["ml/__init__.py"]
