"""Stack specs: YAML validated into pydantic models (no ZenML import here)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from ml.settings import ConfigError, StrictModel, load_settings, state_dir

ComponentType = Literal[
    "orchestrator",
    "artifact_store",
    "experiment_tracker",
    "model_registry",
    "container_registry",
    "image_builder",
    "alerter",
    "step_operator",
    "model_deployer",
    "deployer",
]
SPEC_DIR = Path(__file__).parent
_VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")


class ComponentSpec(StrictModel):
    name: str = Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
    flavor: str
    config: dict[str, Any] = Field(default_factory=dict)


class StackSpec(StrictModel):
    name: str = Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
    description: str = ""
    components: dict[ComponentType, ComponentSpec]

    @field_validator("components")
    @classmethod
    def _needs_core(cls, value: dict) -> dict:
        missing = {"orchestrator", "artifact_store"} - set(value)
        if missing:
            raise ValueError(
                f"a stack needs an orchestrator and an artifact store; missing {sorted(missing)}"
            )
        return value


def substitute(value: Any, variables: dict[str, str]) -> Any:
    """Replace ``${NAME}`` in strings (recursively) from ``variables`` then the environment."""
    if isinstance(value, dict):
        return {key: substitute(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, variables) for item in value]
    if not isinstance(value, str):
        return value

    def lookup(match: re.Match[str]) -> str:
        key = match.group(1)
        if key in variables:
            return variables[key]
        if key in os.environ:
            return os.environ[key]
        raise ConfigError(f"stack spec refers to ${{{key}}}, which is not set; export {key}=…")

    return _VARIABLE.sub(lookup, value)


def available_specs(spec_dir: Path = SPEC_DIR) -> list[str]:
    return sorted(path.stem for path in spec_dir.glob("*.yaml"))


def load_spec(name: str, project_root: Path, spec_dir: Path = SPEC_DIR) -> StackSpec:
    path = spec_dir / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"no stack spec {name!r} in {spec_dir}; available: {available_specs(spec_dir)}")
    spec = load_settings(path, StackSpec)
    variables = {
        "PROJECT_ROOT": str(project_root),
        "STATE_DIR": str(state_dir(project_root)),
    }
    components = {
        kind: component.model_copy(update={"config": substitute(component.config, variables)})
        for kind, component in spec.components.items()
    }
    return spec.model_copy(update={"components": components})
