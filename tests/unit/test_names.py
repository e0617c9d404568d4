"""Step outputs and model-version metadata keys are named once, in ml/names.py."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _literal_annotated_names(path: Path) -> list[str]:
    """String literals used as the name in ``Annotated[T, "name"]``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Subscript) and getattr(node.value, "id", None) == "Annotated":
            args = node.slice.elts if isinstance(node.slice, ast.Tuple) else []
            found += [f"{path.name}:{a.lineno} {a.value!r}" for a in args[1:] if isinstance(a, ast.Constant)]
    return found


def _literal_metadata_keys(path: Path) -> list[str]:
    """String-literal keys of dicts passed to log_metadata/log_version_metadata, and literal
    ``outputs["..."]`` / ``run_metadata.get("...")`` look-ups."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in (
            "log_metadata",
            "log_version_metadata",
        ):
            for arg in node.args[:1]:
                if isinstance(arg, ast.Dict):
                    found += [
                        f"{path.name}:{k.lineno} {k.value!r}" for k in arg.keys if isinstance(k, ast.Constant)
                    ]
        outputs = isinstance(node, ast.Subscript) and getattr(node.value, "attr", None) == "outputs"
        if outputs and isinstance(node.slice, ast.Constant):
            found.append(f"{path.name}:{node.lineno} outputs[{node.slice.value!r}]")
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", None) == "get"
            and getattr(node.func.value, "attr", None) == "run_metadata"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.append(f"{path.name}:{node.lineno} run_metadata.get({node.args[0].value!r})")
    return found


def test_step_outputs_and_metadata_keys_come_from_ml_names():
    files = [
        *sorted((ROOT / "steps").glob("*.py")),
        ROOT / "run.py",
        *sorted((ROOT / "registry").glob("*.py")),
    ]
    literals = [
        hit for path in files for hit in (*_literal_annotated_names(path), *_literal_metadata_keys(path))
    ]
    assert not literals, f"name these in ml/names.py and use the constant: {literals}"
