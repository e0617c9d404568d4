"""Apply, list and remove stacks through ZenML's client (idempotent; never duplicates)."""

from __future__ import annotations

from typing import Any

from stacks.spec import StackSpec


def _client():
    from zenml.client import Client

    return Client()


def apply_stack(spec: StackSpec, activate: bool = True) -> list[str]:
    """Create or update each component and the stack; return what changed (empty: nothing)."""
    from zenml.enums import StackComponentType

    client = _client()
    changes: list[str] = []
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
