"""Per-stack run settings: ``configs/stacks/<stack>.yaml`` is a ZenML run configuration (image
requirements, resources, step operators) that the runner adds to every pipeline run while that stack
is active, so switching stacks is `zenml stack set NAME` and nothing else."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from ml.settings import ConfigError

RUN_SETTINGS_DIR = Path("configs") / "stacks"
ALLOWED_KEYS = ("tags", "settings", "steps")
# Settings keys that belong to a stack component: validated with that component's flavor.
COMPONENT_SETTINGS = ("orchestrator", "step_operator", "experiment_tracker", "image_builder")


def run_settings_path(stack: str, root: Path) -> Path | None:
    path = root / RUN_SETTINGS_DIR / f"{stack}.yaml"
    return path if path.is_file() else None


def load_run_settings(path: Path) -> dict[str, Any]:
    """Read the file; unknown top-level keys and anything ZenML's run configuration rejects fail."""
    from pydantic import ValidationError
    from zenml.config.pipeline_run_configuration import PipelineRunConfiguration

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    unknown = sorted(set(raw) - set(ALLOWED_KEYS))
    if unknown:
        raise ConfigError(f"{path}: {', '.join(unknown)}: unknown key; allowed: {', '.join(ALLOWED_KEYS)}")
    try:
        PipelineRunConfiguration.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return raw


def flavor_settings_class(flavor: Any) -> Any:
    """The settings class of a flavor, found without importing its implementation (which needs the
    integration's packages, e.g. sagemaker): ZenML's flavor configs inherit their settings class."""
    from zenml.config.base_settings import BaseSettings
    from zenml.stack.stack_component import StackComponentConfig

    for cls in flavor.config_class.__mro__:
        is_settings = cls is not BaseSettings and issubclass(cls, BaseSettings)
        if is_settings and not issubclass(cls, StackComponentConfig):
            return cls
    return None


def check_run_settings(raw: dict[str, Any], spec: Any, client: Any, where: str = "") -> None:
    """Validate the settings against the stack ``spec``: docker/resources with ZenML's classes,
    component settings with the flavor's own settings class, step operators by name."""
    from pydantic import ValidationError
    from zenml.config import DockerSettings, ResourceSettings
    from zenml.enums import StackComponentType
    from zenml.stack.flavor import Flavor

    def check(settings: dict[str, Any], at: str) -> None:
        for key, value in (settings or {}).items():
            kind = key.split(".")[0]
            if key == "docker":
                cls = DockerSettings
            elif key == "resources":
                cls = ResourceSettings
            elif kind in COMPONENT_SETTINGS and kind in spec.components:
                component = spec.components[kind]
                model = client.get_flavor_by_name_and_type(component.flavor, StackComponentType(kind))
                cls = flavor_settings_class(Flavor.from_model(model))
                if cls is None:
                    raise ConfigError(f"{where}{at}.{key}: the {component.flavor} {kind} takes no settings")
            else:
                raise ConfigError(
                    f"{where}{at}.{key}: not a setting of this stack; use docker, resources or one of "
                    f"its components: {', '.join(c for c in COMPONENT_SETTINGS if c in spec.components)}"
                )
            try:
                cls.model_validate(value)
            except ValidationError as exc:
                raise ConfigError(f"{where}{at}.{key}: {exc}") from None
            extra = set(value) - set(cls.model_fields)
            if extra:
                raise ConfigError(
                    f"{where}{at}.{key}: unknown {', '.join(sorted(extra))}; allowed: "
                    f"{', '.join(sorted(cls.model_fields))}"
                )

    check(raw.get("settings") or {}, "settings")
    operator = spec.components.get("step_operator")
    for step, config in (raw.get("steps") or {}).items():
        check(config.get("settings") or {}, f"steps.{step}.settings")
        name = config.get("step_operator")
        if name is not None and (operator is None or name != operator.name):
            raise ConfigError(
                f"{where}steps.{step}.step_operator: {name!r} is not this stack's step operator "
                f"({operator.name if operator else 'the stack has none'})"
            )


_VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}")


def resolve_variables(text: str, variables: dict[str, str]) -> str:
    """``${NAME}`` from ``variables`` then the environment, ``${NAME:-default}`` when neither has it."""

    def lookup(match: re.Match[str]) -> str:
        key, default = match.group(1), match.group(2)
        value = variables.get(key, os.environ.get(key))
        if value:
            return value
        if default is not None:
            return default
        raise ConfigError(f"the run settings refer to ${{{key}}}, which is not set; export {key}=…")

    return _VARIABLE.sub(lookup, text)


def with_stack_settings(pipeline: Any, root: Path) -> Any:
    """``pipeline`` with the active stack's run settings applied (unchanged when it has none).
    ``${PROJECT_ROOT}``, ``${STATE_DIR}`` and environment variables in the file are resolved into a
    copy under the state directory (e.g. the container stack's volume of the state directory)."""
    from zenml.client import Client

    from adapters.state import state_dir

    path = run_settings_path(Client().active_stack_model.name, root)
    if path is None:
        return pipeline
    text = path.read_text(encoding="utf-8")
    if "${PROJECT_ROOT}/data" in text:  # a volume's source (the container stack's): it must exist
        (root / "data").mkdir(exist_ok=True)
    if _VARIABLE.search(text):
        variables = {"PROJECT_ROOT": str(root), "STATE_DIR": str(state_dir(root))}
        resolved = state_dir(root) / "run-settings" / path.name
        resolved.parent.mkdir(parents=True, exist_ok=True)
        resolved.write_text(resolve_variables(text, variables), encoding="utf-8")
        path = resolved
    load_run_settings(path)
    return pipeline.with_options(config_path=str(path))
