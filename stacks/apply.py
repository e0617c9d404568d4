"""Apply, list and remove stacks through ZenML's client (idempotent; never duplicates)."""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

from ml.settings import ConfigError
from stacks.run_settings import check_run_settings, load_run_settings, run_settings_path
from stacks.spec import _VARIABLE, SECRET_REFERENCE, StackSpec

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _client():
    from zenml.client import Client

    return Client()


def check_components(spec: StackSpec, client: Any = None) -> None:
    """Validate every component's configuration with its ZenML flavor's own config class (no cloud
    call): unknown keys, missing or malformed values, and plain-text values in secret fields fail
    with a ConfigError naming ``components.<type>.config.<key>``."""
    from zenml.enums import StackComponentType
    from zenml.stack.flavor import Flavor
    from zenml.utils import secret_utils

    client = client or _client()
    for kind, component in spec.components.items():
        where = f"stack {spec.name!r}: components.{kind}"
        model = client.get_flavor_by_name_and_type(component.flavor, StackComponentType(kind))
        config_class = Flavor.from_model(model).config_class
        fields = config_class.model_fields
        for key, value in component.config.items():
            if key not in fields:
                close = difflib.get_close_matches(key, list(fields), n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise ConfigError(
                    f"{where}.config.{key}: unknown key for the {component.flavor} {kind}; {hint}"
                    f"allowed: {', '.join(sorted(fields))}"
                )
            if secret_utils.is_secret_field(fields[key]) and not (
                isinstance(value, str) and SECRET_REFERENCE.fullmatch(value.strip())
            ):
                raise ConfigError(
                    f"{where}.config.{key} is a secret field: refer to a ZenML secret "
                    f"('{{{{secret_name.{key}}}}}', declared under `secrets:`), never a value"
                )
        # ZenML resolves {{secret.key}} when it validates; here a placeholder stands for the value.
        placeholders = {
            key: "placeholder" if isinstance(value, str) and SECRET_REFERENCE.fullmatch(value) else value
            for key, value in component.config.items()
        }
        try:
            config_class(**placeholders)
        except Exception as exc:  # flavors raise pydantic, ValueError or their own interface errors
            raise ConfigError(f"{where}.config ({component.flavor}): {exc}") from None


def apply_secrets(spec: StackSpec, client: Any = None) -> list[str]:
    """Create or update the spec's ZenML secrets from the environment; a secret whose variables are
    all unset is kept as it is in ZenML (a teammate created it). Returns what changed."""
    client = client or _client()
    changes = []
    for name, keys in spec.secrets.items():
        variables = {key: _VARIABLE.fullmatch(value).group(1) for key, value in keys.items()}
        missing = sorted(var for var in variables.values() if var not in os.environ)
        try:
            existing = client.get_secret(name, allow_partial_name_match=False)
        except KeyError:
            existing = None
        if missing and (existing is None or len(missing) < len(variables)):
            raise ConfigError(
                f"stack {spec.name!r}: secret {name!r} needs {', '.join(missing)}; export "
                + " ".join(f"{var}=…" for var in missing)
            )
        if missing:
            continue
        values = {key: os.environ[var] for key, var in variables.items()}
        if existing is None:
            client.create_secret(name, values=values)
            changes.append(f"created secret {name!r} (keys {', '.join(sorted(values))})")
        elif existing.secret_values != values:
            client.update_secret(name, add_or_update_values=values)
            changes.append(f"updated secret {name!r} (keys {', '.join(sorted(values))})")
    for kind, component in spec.components.items():
        name = component.config.get("authentication_secret")
        if name and name not in spec.secrets:
            try:
                client.get_secret(name, allow_partial_name_match=False)
            except KeyError:
                raise ConfigError(
                    f"stack {spec.name!r}: components.{kind}.config.authentication_secret names the ZenML "
                    f"secret {name!r}, which does not exist; declare it under `secrets:` or create it"
                ) from None
    fetched: dict[str, Any] = {}  # one lookup per secret, however many of its keys are referred to
    for name, key in sorted(spec.secret_references()):
        if name in spec.secrets:
            if key not in spec.secrets[name]:
                raise ConfigError(
                    f"stack {spec.name!r} refers to {{{{{name}.{key}}}}}; add {key} to secrets.{name}"
                )
            continue
        try:
            if name not in fetched:
                fetched[name] = client.get_secret(name, allow_partial_name_match=False)
            secret = fetched[name]
        except KeyError:
            raise ConfigError(
                f"stack {spec.name!r} refers to {{{{{name}.{key}}}}} but ZenML has no secret {name!r}; "
                f"create it (`zenml secret create {name} --{key}=…`) or declare it under `secrets:`"
            ) from None
        if key not in secret.secret_values:
            raise ConfigError(
                f"ZenML secret {name!r} has no key {key!r}; its keys: {sorted(secret.secret_values)}"
            )
    return changes


def apply_stack(spec: StackSpec, activate: bool = True) -> list[str]:
    """Validate, then create or update the secrets, each component and the stack; return what
    changed (empty: nothing)."""
    from zenml.enums import StackComponentType

    from stacks.preflight import CONTAINER_FLAVORS, check_engine

    if spec.components["orchestrator"].flavor in CONTAINER_FLAVORS:
        check_engine(spec.name)  # before anything is registered
    client = _client()
    check_components(spec, client)
    settings = run_settings_path(spec.name, PROJECT_ROOT)
    if settings is not None:
        check_run_settings(load_run_settings(settings), spec, client, where=f"{settings}: ")
    changes: list[str] = apply_secrets(spec, client)
    mapping: dict[Any, str] = {}
    for kind, component in spec.components.items():
        ctype = StackComponentType(kind)
        mapping[ctype] = component.name
        try:
            existing = client.get_stack_component(ctype, component.name, allow_name_prefix_match=False)
        except KeyError:
            client.create_stack_component(component.name, component.flavor, ctype, component.config)
            changes.append(f"created {kind} {component.name!r} ({component.flavor})")
            continue
        if existing.flavor_name != component.flavor:
            raise ValueError(
                f"{kind} {component.name!r} exists with flavor {existing.flavor_name!r}, the spec says "
                f"{component.flavor!r}; remove it (`zenml {kind.replace('_', '-')} delete "
                f"{component.name}`) or rename it in the spec"
            )
        current = {key: existing.configuration.get(key) for key in component.config}
        if current != component.config:
            client.update_stack_component(component.name, ctype, configuration=component.config)
            changes.append(f"updated {kind} {component.name!r}: {current} -> {component.config}")
    try:
        stack = client.get_stack(spec.name, allow_name_prefix_match=False)
    except KeyError:
        client.create_stack(spec.name, components=mapping)
        changes.append(f"created stack {spec.name!r}")
    else:
        current = {ctype: comps[0].name for ctype, comps in stack.components.items()}
        if current != mapping:
            removed = [ctype for ctype in current if ctype not in mapping]
            client.update_stack(spec.name, component_updates={**mapping, **{ctype: [] for ctype in removed}})
            changes.append(f"updated stack {spec.name!r} components")
    if activate and client.active_stack_model.name != spec.name:
        client.activate_stack(spec.name)
        changes.append(f"activated stack {spec.name!r}")
    return changes


def describe_stacks() -> list[str]:
    client = _client()
    active = client.active_stack_model.name
    lines = []
    for stack in client.list_stacks(size=1000).items:
        parts = ", ".join(f"{t.value}={c[0].name}" for t, c in sorted(stack.components.items()))
        lines.append(f"{'*' if stack.name == active else ' '} {stack.name}: {parts}")
    return lines


def remove_stack(name: str) -> None:
    client = _client()
    if client.active_stack_model.name == name:
        client.activate_stack("default")
    client.delete_stack(name, recursive=True)
