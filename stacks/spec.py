"""Stack specs: YAML validated into pydantic models (no ZenML import here)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from adapters.state import state_dir
from ml.settings import ConfigError, StrictModel, load_settings

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
# ZenML secret references, resolved by ZenML when a component is used: {{secret_name.key}}.
SECRET_REFERENCE = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+?)\.([A-Za-z0-9_-]+)\s*\}\}")
_NAME = r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$"

# The ZenML flavors (`zenml flavor list`) a spec may use, per component type: ZenML's own stack
# components, no custom flavor. tests/unit/test_stack_registration.py checks each one exists in
# the installed ZenML.
FLAVORS: dict[str, tuple[str, ...]] = {
    "orchestrator": ("local", "local_docker", "kubernetes", "sagemaker", "vertex", "azureml"),
    "artifact_store": ("local", "s3", "gcp", "azure"),
    "experiment_tracker": ("mlflow",),
    "model_registry": ("mlflow",),
    "container_registry": ("default", "aws", "gcp", "azure", "dockerhub", "github"),
    "image_builder": ("local", "aws", "gcp", "kaniko"),
    "alerter": ("slack", "discord"),
    "step_operator": ("kubernetes", "sagemaker", "vertex", "azureml"),
    "model_deployer": ("bentoml", "mlflow"),
    "deployer": ("local", "docker", "kubernetes", "aws", "gcp"),
}


class ComponentSpec(StrictModel):
    name: str = Field(pattern=_NAME)
    flavor: str
    config: dict[str, Any] = Field(default_factory=dict)


class StackSpec(StrictModel):
    name: str = Field(pattern=_NAME)
    description: str = ""
    # ZenML secrets the apply command creates or updates: name -> key -> "${ENV_VAR}". Components
    # refer to them as {{name.key}}; the values never enter the spec, the repo or a component.
    secrets: dict[str, dict[str, str]] = Field(default_factory=dict)
    components: dict[ComponentType, ComponentSpec]

    @field_validator("components")
    @classmethod
    def _needs_core_and_known_flavors(cls, value: dict) -> dict:
        missing = {"orchestrator", "artifact_store"} - set(value)
        if missing:
            raise ValueError(
                f"a stack needs an orchestrator and an artifact store; missing {sorted(missing)}"
            )
        for kind, component in value.items():
            if component.flavor not in FLAVORS[kind]:
                raise ValueError(
                    f"components.{kind}.flavor: {component.flavor!r} is not a ZenML {kind} flavor here; "
                    f"allowed: {', '.join(FLAVORS[kind])}"
                )
        return value

    @field_validator("secrets")
    @classmethod
    def _secrets_come_from_the_environment(cls, value: dict) -> dict:
        for secret, keys in value.items():
            if not re.match(_NAME, secret):
                raise ValueError(f"secrets.{secret}: a secret name holds letters, digits, '_', '.', '-'")
            for key, item in keys.items():
                if not _VARIABLE.fullmatch(item):
                    raise ValueError(
                        f"secrets.{secret}.{key}: secret values come from the environment; write "
                        f"'${{{key.upper()}}}' (an environment variable), not a value"
                    )
        return value

    def secret_references(self) -> set[tuple[str, str]]:
        """Every {{secret.key}} the components' configuration refers to."""
        found: set[tuple[str, str]] = set()

        def walk(value: Any) -> None:
            if isinstance(value, dict):
                for item in value.values():
                    walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)
            elif isinstance(value, str):
                found.update(SECRET_REFERENCE.findall(value))

        for component in self.components.values():
            walk(component.config)
        return found


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
    # Secrets stay "${VAR}" here: apply_stack reads them when it writes the ZenML secret.
    return spec.model_copy(update={"components": components})
