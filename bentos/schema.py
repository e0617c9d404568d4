"""Pydantic models of the API, generated from the model's feature schema: types, allowed
categories and ranges, so bad input is a 400 naming the field, never a 500. What is allowed is what
the table the model was trained from held (every split): each of its rows is served, a category the
training split lacked scored as a missing value, as batch scoring scores it.

Numbers are strict (an int is a valid float, a boolean or a string is not). A numeric feature
accepts its training range widened by ``margin`` times that range on each side (SERVING_RANGE_MARGIN,
``range_margin`` in configs/serving.yaml); counts and amounts never go below 0, shares never above 1.
A number constant in training (digits' edge pixels) has no range: the model never splits on it
(LightGBM, a forest) or weighs it (a linear model's coefficient stays 0), so any value is accepted
and decides as batch scoring does."""

from __future__ import annotations

import json
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    create_model,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

DEFAULT_MARGIN = 0.5


def accepted_range(low: float | None, high: float | None, margin: float | None) -> tuple[float, float] | None:
    """The values a numeric feature seen in training within [low, high] accepts (None: unbounded)."""
    if low is None or high is None or margin is None:
        return None
    span = (high - low) or abs(high) or 1.0
    lowest, highest = low - margin * span, high + margin * span
    if low >= 0:
        lowest = max(lowest, 0.0)  # counts, amounts, ages, rates are never negative
        if high <= 1:
            highest = min(highest, 1.0)  # shares and rates
    return lowest, highest


def _within(lowest: float, highest: float, low: float, high: float, margin: float) -> AfterValidator:
    def check(value: float | None) -> float | None:
        if value is not None and not lowest <= value <= highest:  # also refuses NaN
            raise PydanticCustomError(
                "out_of_range",
                f"Input should be within {lowest} .. {highest}, got {value}: training saw {low} .. {high}, "
                f"widened by range_margin={margin} of that range (configs/serving.yaml, "
                "SERVING_RANGE_MARGIN); check the value's unit or raise the margin",
            )
        return value

    return AfterValidator(check)


def _bounded(bounds: tuple[float, float], low: float, high: float, margin: float) -> Any:
    """A number within ``bounds`` (``accepted_range`` of ``low`` .. ``high``, seen in training), refused
    with a 400 saying so, and declared in the OpenAPI document."""
    extra = {"minimum": bounds[0], "maximum": bounds[1]}
    return Annotated[StrictFloat, _within(*bounds, low, high, margin), Field(json_schema_extra=extra)]


NEVER_MISSING = "; never missing in training: required, null refused"
# missing somewhere in the table, never in the training split: null taken, read as batch scoring reads it
UNLEARNT_MISSING = "; null accepted, though never missing in the training split: the model never learnt it"
READ_AS = {
    "numeric": " (LightGBM reads it as 0)",
    "categorical": " (LightGBM reads it as a category it never saw)",
}


def _missing(spec: dict, nullable: bool) -> str:
    """The end of a feature's description saying what its null is."""
    if not nullable:
        return NEVER_MISSING
    return UNLEARNT_MISSING + READ_AS[spec["kind"]] if spec.get("missing_learnt") is False else ""


def _feature_field(spec: dict, margin: float | None) -> tuple[Any, Any]:
    nullable = spec.get("nullable", True)
    if spec["kind"] == "categorical":
        untrained = tuple(spec.get("untrained_categories", ()))  # in the table, not the training split
        allowed = (*spec["categories"], *untrained)
        if len(allowed) > CATEGORIES_SHOWN:  # pydantic's message would list them all (titanic's 929 tickets)
            annotation: Any = Annotated[
                str, AfterValidator(_one_of(allowed)), Field(json_schema_extra={"enum": allowed})
            ]
            shown = list(allowed[:CATEGORIES_SHOWN])
            description = f"one of {len(allowed)} categories (this field's enum), e.g. {shown}"
            untrained_shown: Any = f"{len(untrained)} of them"
        else:
            annotation = Literal[allowed] if allowed else str  # type: ignore[valid-type]
            description, untrained_shown = f"one of {list(allowed)}", list(untrained)
            if set(allowed) <= {"False", "True"}:  # a column of booleans
                description += " (JSON true and false are read as them)"
            elif any(category[:1] in "[{" for category in allowed):  # a Parquet list, a SQL JSON
                description += " (a JSON list or object is read as its text)"
        if untrained:
            description += f"; {untrained_shown} not in the training split: scored as a missing value"
        if allowed:
            annotation = Annotated[annotation, BeforeValidator(_code_as_written(allowed))]
        description += _missing(spec, nullable)
        field = Field(default=None if nullable else ..., description=description)
    else:
        low, high = spec.get("minimum"), spec.get("maximum")
        constant = low is not None and low == high  # no model splits on it, no range tells a unit error
        bounds = None if constant else accepted_range(low, high, margin)
        annotation = StrictFloat
        description = f"seen in training: {low} .. {high}"
        if constant:
            description = f"always {low} in training: the model does not use it, any number is accepted"
            description += " (never negative)" if low >= 0 else ""
        markers = tuple(spec.get("missing_markers") or ())
        if markers:  # read as missing, as batch scoring and training read the source's markers
            nullable = True
            description += f"; {list(markers)} mean not known (data.missing_values), as null does"
        if bounds is not None:
            annotation = _bounded(bounds, low, high, margin)
            description += f"; accepted: {bounds[0]} .. {bounds[1]}"
        elif low is not None and low >= 0:
            annotation = Annotated[StrictFloat, Field(ge=0.0)]  # no margin configured: never negative
        description += _missing(spec, nullable)
        field = Field(default=None if nullable else ..., description=description, allow_inf_nan=False)
        if markers:
            return Annotated[annotation | None, BeforeValidator(_as_missing(markers))], field
    return (annotation | None if nullable else annotation), field


CATEGORIES_SHOWN = 20  # a 400 for an unknown category lists them when they are no more


def _one_of(allowed: tuple[str, ...]):
    """The check of a feature with more than CATEGORIES_SHOWN categories: a 400 that counts them and
    shows a few, where pydantic's would list every one (the OpenAPI document's enum has them all)."""
    known = set(allowed)

    def check(value: str) -> str:
        if value not in known:
            raise PydanticCustomError(
                "literal_error",
                f"Input should be one of the {len(allowed)} categories of the table the model came from,"
                f" got {value!r}; e.g. {list(allowed[:CATEGORIES_SHOWN])}, all of them in the OpenAPI"
                " document's enum of this field (GET /docs.json)",
            )
        return value

    return check


def _code_as_written(allowed: tuple[str, ...]):
    """A JSON number sent for a category coded by numbers (occupation 6, written "6" or "6.0" in
    the table), a JSON boolean for a column of booleans (a SQL boolean, read 'True'/'False'), or a
    JSON list or object for a column of them (a Parquet list, a SQL JSON column, read as JSON text
    '["a", "b"]'): the category it is written as, so the row decides as batch scoring decides it;
    other values are left to the check of the allowed ones (a boolean is never a number's code)."""
    known = set(allowed)

    def read(value: Any) -> Any:
        if isinstance(value, bool):
            return str(value) if str(value) in known else value
        if isinstance(value, list | dict):  # written as the sources write them (adapters/sources.py)
            text = json.dumps(value, ensure_ascii=False)
            return text if text in known else value
        if not isinstance(value, int | float):
            return value
        written = [str(value), repr(float(value))]
        if float(value).is_integer():
            written.append(str(int(value)))
        return next((text for text in written if text in known), value)

    return read


SENSITIVE = (
    "a sensitive column (data.sensitive_features) the model does not decide by: leave it out of the"
    " record (the fairness gate judged the model on the test split, not per request)"
)
TARGET = "the target column (data.target_column), what the model answers: leave it out of the record"
UNUSED = (
    "a column of the training table the model does not take (features.drop in configs/training.yaml,"
    " or data.group_column): leave it out of the record"
)


def _refuse(column: str, why: str):
    def refuse(value: Any) -> Any:
        raise PydanticCustomError("not_an_input", f"{column!r} is {why}")

    return refuse


def _as_missing(markers: tuple[float, ...]):
    def read(value: Any) -> Any:
        strict_number = isinstance(value, int | float) and not isinstance(value, bool)
        return None if strict_number and value in markers else value

    return read


def record_model(
    schema: dict,
    mitigation: dict | None = None,
    name: str = "Record",
    margin: float | None = DEFAULT_MARGIN,
) -> type[BaseModel]:
    """One input record: the model's features (+ the id column when the project has one; + the
    sensitive columns a fairness-mitigated release decides its group thresholds by). ``margin``:
    how far beyond its training range (in multiples of that range) a number is accepted; None: any."""
    fields: dict[str, Any] = {spec["name"]: _feature_field(spec, margin) for spec in schema["features"]}
    for column in (mitigation or {}).get("sensitive_features", ()):
        if column not in fields:
            numeric = column in mitigation["edges"] or column in mitigation.get("codes", ())
            description = "sensitive column: picks the group's decision threshold (missing: its own group)"
            annotation: Any = StrictFloat if numeric else StrictStr
            low, high = schema.get("sensitive_ranges", {}).get(column, (None, None))
            bounds = accepted_range(low, high, margin) if numeric and low != high else None
            if bounds is not None:  # an age of 900 picked the oldest group's threshold
                annotation = _bounded(bounds, low, high, margin)
                description += f"; seen in training: {low} .. {high}; accepted: {bounds[0]} .. {bounds[1]}"
            fields[column] = (annotation | None, Field(default=None, description=description))
    if schema.get("id_column"):
        echoed = Field(description="echoed back in the response")
        fields[schema["id_column"]] = (StrictInt | StrictStr, echoed)
    known = {column: SENSITIVE for column in schema.get("sensitive_features", ())}
    known[schema.get("target_column") or ""] = TARGET
    known.update({column: UNUSED for column in schema.get("unused_columns", ())})
    not_inputs = {column: why for column, why in known.items() if column and column not in fields}
    for column, why in not_inputs.items():  # a 400 saying what it is, not pydantic's "Extra inputs"
        refuse = BeforeValidator(_refuse(column, why))
        fields[column] = (SkipJsonSchema[Annotated[Any, refuse]], Field(default=None, exclude=True))
    named = {column: _field_name(column, i, fields) for i, column in enumerate(fields)}
    renamed = {field: column for column, field in named.items() if field != column}
    aliased = {
        named[column]: (
            Annotated[annotation, Field(alias=column)] if named[column] != column else annotation,
            field,
        )
        for column, (annotation, field) in fields.items()
    }
    namespace = {"not_inputs": tuple(named[column] for column in not_inputs), "renamed": renamed}
    base = type(f"{name}Base", (_Record,), namespace)
    return create_model(name, __base__=base, **aliased)


def _field_name(column: str, index: int, columns) -> str:
    """The pydantic field of ``column``: the column's own name, unless pydantic refuses it or
    BaseModel has it (``_id``, a MongoDB export's id; ``model_config``, ``json``, ``copy``): then
    ``field_<index>`` (underscores added while a column has that name), with the column as its
    alias: what clients send, and what the schema and the errors show."""
    if not (column.startswith(("_", "model_")) or hasattr(_Record, column)):
        return column
    field = f"field_{index}"
    while field in columns:
        field += "_"
    return field


class _Record(BaseModel):
    """A record's fields, keyed by column: those that only refuse a value (``not_inputs``) are not
    kept, and a field renamed for pydantic (``renamed``: field -> column) is its column again. The
    model and the inference log get what the client may send, by the table's names."""

    model_config = ConfigDict(extra="forbid")
    not_inputs: ClassVar[tuple[str, ...]] = ()
    renamed: ClassVar[dict[str, str]] = {}

    def model_post_init(self, context: Any) -> None:
        values = self.__dict__
        for field in self.not_inputs:
            values.pop(field, None)
        for field, column in self.renamed.items():
            if field in values:
                values[column] = values.pop(field)


BODY = '{"records": [record, ...]}'
TITLE = "Input"  # of the request body's schema and its 400s ("2 validation errors for Input")
JSON_KINDS = {list: "an array", dict: "an object", str: "a string", bool: "a boolean", type(None): "null"}


def _json_kind(value: Any) -> str:
    return JSON_KINDS.get(type(value), "a number" if isinstance(value, int | float) else type(value).__name__)


def _sent(value: Any) -> str:
    """A value as the client wrote it in JSON: the string '12%', true (a boolean), 1.5, an array."""
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, bool):
        return f"{str(value).lower()}, a boolean"
    return repr(value) if isinstance(value, int | float) else _json_kind(value)


# the errors pydantic gives a null sent for a feature that takes none (never missing in training)
NULL_REFUSED = frozenset({"float_type", "literal_error", "string_type"})


def _plainer(error: Any) -> str | None:
    """A message that says what was sent and the fix, for the pydantic errors a client writing its
    first request meets (None: pydantic's own message stands)."""
    kind, value, loc = error["type"], error.get("input"), error["loc"]
    if kind == "missing" and len(loc) == 3:  # a record without its id or one of the features
        return (
            f"Field required: the record has no {loc[-1]!r}; a record holds its id and each feature"
            " that was never missing in the table the model was trained on (GET /docs.json lists them)"
        )
    if value is None and len(loc) == 3 and kind in NULL_REFUSED:  # a feature's null, not the id's
        return (
            f"{error['msg'].split(', got ')[0]}, got null: {loc[-1]!r} was never missing in the table the"
            " model was trained on, so it learnt no answer for a missing value; send its value (the"
            " OpenAPI document, GET /docs.json, marks the features that take null)"
        )
    if kind == "float_type" and isinstance(value, str | bool):
        sent = _sent(value)
        example = "1 or 0 for yes or no" if isinstance(value, bool) else '12.5, not "12.5"'
        return f"Input should be a valid number, got {sent}: send a JSON number ({example})"
    if kind == "list_type" and loc == ("records",):
        fix = ': wrap the one record in [ ]: {"records": [{...}]}' if isinstance(value, dict) else ""
        return f"Input should be an array of records, got {_json_kind(value)}{fix}"
    if kind == "literal_error" and "got " not in error["msg"]:
        return f"{error['msg']}, got {value!r}"
    if kind == "extra_forbidden" and len(loc) == 1:
        return f"Extra inputs are not permitted: the body holds only 'records': {BODY}"
    if kind == "too_long" and loc == ("records",):
        return (
            f"{error['msg']}: send them in requests of at most that many, or raise max_batch_size"
            " (configs/serving.yaml, SERVING_MAX_BATCH_SIZE)"
        )
    return None


def _line(kind: str, message: str, loc: tuple, value: Any) -> dict:
    """One line of a ValidationError, with our message."""
    return {"type": PydanticCustomError(kind, message), "loc": loc, "input": value}


def _id_unions(errors: list[Any]) -> set[tuple]:
    """Where pydantic gave the id column's two errors (an integer or a string): the ``loc`` of each
    field with both an ``int_type`` error at ``(..., "int")`` and a ``string_type`` one at
    ``(..., "str")`` (another union's errors stay as they are)."""
    tagged = {(e["type"], e["loc"][-1:]): set() for e in errors}
    for error in errors:
        tagged[error["type"], error["loc"][-1:]].add(error["loc"][:-1])
    return tagged.get(("int_type", ("int",)), set()) & tagged.get(("string_type", ("str",)), set())


def _rewritten(errors: list[Any]) -> list[dict] | None:
    """``errors`` as the 400 says them (``_plainer``'s messages; the id's two union errors as one);
    None when pydantic's stand as they are."""
    out, ids, said = [], _id_unions(errors), set()
    changed = bool(ids)
    for error in errors:
        loc, message = error["loc"], _plainer(error)
        if loc[:-1] in ids and loc[-1:] in (("int",), ("str",)):
            loc = loc[:-1]
            if loc in said:
                continue
            said.add(loc)
            message = (
                f"Input should be an integer or a string (the id, echoed back), got {_sent(error['input'])}"
            )
        changed = changed or message is not None
        out.append(_line(error["type"], message or error["msg"], loc, error["input"]))
    return out if changed else None


class _Body(BaseModel):
    """A request body: ``{"records": [...]}``, nothing else; its errors say what was sent and the fix."""

    # BentoML wraps the model in one named InputIODescriptor: its errors keep the title "Input"
    model_config = ConfigDict(extra="forbid", title=TITLE)

    @model_validator(mode="wrap")
    @classmethod
    def _explained(cls, data: Any, handler: Any) -> Any:
        if not isinstance(data, dict):
            wrap = ': wrap it: {"records": <the array>}' if isinstance(data, list) else ""
            message = f"Input should be an object: {BODY}, got {_json_kind(data)}{wrap}"
            raise ValidationError.from_exception_data(TITLE, [_line("model_type", message, (), data)])
        if "records" not in data:
            given = f"the keys {sorted(data)}" if data else "an empty object"
            message = f"Field required: the body is {BODY}, got {given}"
            raise ValidationError.from_exception_data(TITLE, [_line("missing", message, ("records",), data)])
        try:  # the valid body costs this one call; only a refused one is rewritten
            return handler(data)
        except ValidationError as refused:
            rewritten = _rewritten(refused.errors())
            if rewritten is None:
                raise
            raise ValidationError.from_exception_data(TITLE, rewritten) from None


def body_model(record: type[BaseModel], max_records: int, name: str = TITLE) -> type[BaseModel]:
    """The request body of /predict and /explain: 1 to ``max_records`` records (BentoML's
    ``input_spec``; the method takes ``records``)."""
    batch = Annotated[list[record], Field(min_length=1, max_length=max_records)]  # type: ignore[valid-type]
    return create_model(name, __base__=_Body, records=(batch, ...))


class Prediction(BaseModel):
    id: int | str | None = Field(description="the record's id (its position when the project has no id)")
    label: str = Field(
        description="the release's decision: the positive label when probability is at least its decision "
        "threshold; a fairness-mitigated release decides by the rule of the record's group (its model "
        "card lists each group's rule), so one probability may get either label in different groups"
    )
    probability: float = Field(description="probability of the positive label")
    model_version: str


class Explanation(BaseModel):
    id: int | str | None
    model_version: str
    contributions: dict[str, float] = Field(description="log-odds per feature, plus 'baseline'")
