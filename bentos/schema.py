"""Pydantic models of the API, generated from the model's feature schema: types, allowed
categories and ranges, so bad input is a 400 naming the field, never a 500."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model


def _feature_field(spec: dict) -> tuple[Any, Any]:
    nullable = spec.get("nullable", True)
    if spec["kind"] == "categorical":
        allowed = tuple(spec["categories"])
        annotation: Any = Literal[allowed] if allowed else str  # type: ignore[valid-type]
        description = f"one of {list(allowed)}"
        field = Field(default=None if nullable else ..., description=description)
    else:
        low, high = spec.get("minimum"), spec.get("maximum")
        constraints: dict[str, float] = {}
        if low is not None and low >= 0:
            constraints["ge"] = 0.0  # counts, amounts, ages, rates are never negative
        if low is not None and high is not None and low >= 0 and high <= 1:
            constraints["le"] = 1.0  # shares and rates
        annotation = float
        description = f"seen in training: {low} .. {high}"
        field = Field(default=None if nullable else ..., description=description, **constraints)
    return (annotation | None if nullable else annotation), field


def record_model(
    schema: dict, mitigation: dict | None = None, name: str = "CustomerRecord"
) -> type[BaseModel]:
    """One input record: the model's features (+ the id column when the project has one; + the
    sensitive columns a fairness-mitigated release decides its group thresholds by)."""
    fields: dict[str, Any] = {spec["name"]: _feature_field(spec) for spec in schema["features"]}
    for column in (mitigation or {}).get("sensitive_features", ()):
        if column not in fields:
            numeric = column in mitigation["edges"]
            description = "sensitive column: picks the group's decision threshold (missing: its own group)"
            fields[column] = (
                (float if numeric else str) | None,
                Field(default=None, description=description),
            )
    if schema.get("id_column"):
        fields[schema["id_column"]] = (int | str, Field(description="echoed back in the response"))
    return create_model(name, __config__=ConfigDict(extra="forbid"), **fields)


class Prediction(BaseModel):
    id: int | str | None = Field(description="the record's id (its position when the project has no id)")
    label: str
    probability: float = Field(description="probability of the positive label")
    model_version: str


class Explanation(BaseModel):
    id: int | str | None
    model_version: str
    contributions: dict[str, float] = Field(description="log-odds per feature, plus 'baseline'")
