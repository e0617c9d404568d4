"""Runtime vs development dependencies: requirements.lock is what the Bento and the stacks' images
install, so it holds no test, check or notebook tool; requirements-dev.lock adds them at the same pins;
and the product imports nothing the runtime set lacks (shown in a venv with the runtime lock only)."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What only development needs, including what the dev group pulls in (hypothesis through schemathesis,
# jupyter_server through jupyterlab, ...): none may reach the runtime lock.
DEV_ONLY = {
    "pytest", "ruff", "pre-commit", "pre-commit-hooks", "schemathesis", "hypothesis", "moto", "s3fs",
    "boto3", "botocore", "check-jsonschema", "copier", "nbclient", "nbformat", "ipykernel", "nbstripout",
    "jupyterlab", "jupyter-server", "ipython",
}  # fmt: skip
PRODUCT = ("ml", "adapters", "steps", "pipelines", "registry", "bentos", "stacks")
# Imported by `bentoml serve` with a model to serve (its import loads it): the serving tests run it;
# its imports are the Bento's (bentos/requirements.txt, kept within requirements.lock by a test).
NEEDS_A_MODEL = {"bentos.service"}


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for m in re.finditer(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", (ROOT / lock).read_text(), re.M):
        found.setdefault(norm(m.group(1)), set()).add(m.group(2))
    return found


def requirement_name(spec: str) -> str:
    return norm(re.match(r"[A-Za-z0-9_.-]+", spec).group(0))


def test_the_runtime_lock_holds_no_test_check_or_notebook_tool():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    dev_group = {requirement_name(spec) for spec in pyproject["dependency-groups"]["dev"]}
    runtime = pins("requirements.lock")
    leaked = sorted((dev_group | DEV_ONLY) & set(runtime))
    assert not leaked, (
        f"requirements.lock (the images' and the Bento's set) pins development tools {leaked}; move the "
        "requirement that pulls them into [dependency-groups] dev of pyproject.toml and recompile both locks "
        "(README: Dependencies)"
    )
    missing = sorted(requirement_name(s) for s in pyproject["project"]["dependencies"])
    missing = [name for name in missing if name not in runtime]
    assert not missing, f"pyproject's runtime dependencies {missing} are not in requirements.lock"


def test_the_dev_lock_adds_the_dev_group_at_the_runtime_pins():
    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    differ = {name: (v, dev.get(name)) for name, v in runtime.items() if dev.get(name) != v}
    assert not differ, f"the dev lock pins runtime packages differently (runtime, dev): {differ}"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    absent = [s for s in pyproject["dependency-groups"]["dev"] if requirement_name(s) not in dev]
    assert not absent, f"dev group requirements {absent} are not in requirements-dev.lock"


@pytest.fixture(scope="module")
def runtime_venv(tmp_path_factory):
    """A venv with requirements.lock only (uv installs from its cache: the dev lock pins the same)."""
    venv = tmp_path_factory.mktemp("runtime") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    uv = Path(sys.executable).parent / "uv"
    python = venv / "bin" / "python"
    done = subprocess.run(
        [str(uv), "pip", "install", "-q", "--python", str(python), "-r", str(ROOT / "requirements.lock")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return python


def test_the_product_imports_with_the_runtime_set_alone(runtime_venv):
    modules = sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for package in PRODUCT
        if (ROOT / package).is_dir()
        for path in (ROOT / package).rglob("*.py")
    )
    modules = [name for name in modules if name not in NEEDS_A_MODEL]
    script = runtime_venv.parents[2] / "import_all.py"  # ZenML wants a main module with a file
    script.write_text(f"import importlib, sys\nsys.path.insert(0, {str(ROOT)!r})\nimport run\n"
                      "for name in sys.argv[1:]:\n    importlib.import_module(name)\n")  # fmt: skip
    home = runtime_venv.parents[1]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "ZENML_CONFIG_PATH": str(home / "zenml"),
           "ZENML_ANALYTICS_OPT_IN": "false", "DO_NOT_TRACK": "1"}  # fmt: skip
    done = subprocess.run(
        [str(runtime_venv), str(script), *modules],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert done.returncode == 0, (
        f"a product module needs a package that only requirements-dev.lock has:\n{done.stderr[-3000:]}"
    )
    cli = subprocess.run(
        [str(runtime_venv), "run.py", "--help"], cwd=ROOT, capture_output=True, text=True, env=env
    )
    assert cli.returncode == 0 and "train" in cli.stdout, cli.stderr
