"""The API's published contract (bentos/contract.py): the OpenAPI document describes the bodies the
service really answers with, marks the request body required, and carries a short API description
instead of the project README."""

import json

import bentoml
import jsonschema
import pytest
from pydantic import ValidationError

from bentos.contract import API_DESCRIPTION, ContractService
from bentos.schema import Prediction, _rewritten, body_model, record_model

SCHEMA = {
    "features": [
        {"name": "tenure_months", "kind": "numeric", "minimum": 1.0, "maximum": 60.0, "nullable": False},
        {"name": "region", "kind": "categorical", "categories": ["north", "south"], "nullable": False},
    ],
    "id_column": "customer_id",
}
Record = record_model(SCHEMA, margin=0.5)
Body = body_model(Record, 10)


@bentoml.service(name="contract", service_class=ContractService)
class Dummy:
    @bentoml.api(input_spec=Body)
    def predict(self, records: list) -> list[Prediction]:
        return []

    @bentoml.api(input_spec=Body)
    def explain(self, records: list) -> list[Prediction]:
        return []


@pytest.fixture(scope="module")
def spec():
    return Dummy.openapi_spec.asdict()


def resolve(spec, node):
    while "$ref" in node:
        node = spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def response_schema(spec, path, status):
    response = spec["paths"][path]["post"]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    return {**resolve(spec, schema), "components": spec["components"]}


def bentoml_400_body(exc: ValidationError) -> dict:
    """The body BentoML 1.4 answers a pydantic ValidationError with (_bentoml_impl/server/app.py)."""
    body = {
        "error": f"{exc.error_count()} validation error for {exc.title}",
        "detail": exc.errors(include_context=False, include_input=False),
    }
    return json.loads(json.dumps(body))


def test_the_description_is_the_short_api_contract_not_the_readme(spec):
    description = spec["info"]["description"]
    assert description == API_DESCRIPTION, description[:300]
    assert len(description) < 3000 and "mermaid" not in description, "a short text, not the project README"
    for needle in ("/predict", "/explain", "Bearer", "413", "415", "400", "records"):
        assert needle in description, f"the description should mention {needle!r}"


@pytest.mark.parametrize("path", ["/predict", "/explain"])
def test_the_request_body_is_required_and_json_only(spec, path):
    body = spec["paths"][path]["post"]["requestBody"]
    assert body.get("required") is True, body
    assert list(body["content"]) == ["application/json"], body


@pytest.mark.parametrize("path", ["/predict", "/explain"])
def test_every_status_the_guard_and_bentoml_answer_is_documented(spec, path):
    responses = spec["paths"][path]["post"]["responses"]
    assert {"200", "400", "401", "413", "415", "500", "503"} <= set(map(str, responses)), sorted(responses)


def test_a_real_400_body_matches_the_published_400_schema(spec):
    with pytest.raises(ValidationError) as caught:
        Record(tenure_months=False, region="east", customer_id=True, extra=1)
    body = bentoml_400_body(caught.value)
    jsonschema.validate(body, response_schema(spec, "/predict", 400))
    for field in ("tenure_months", "region", "customer_id", "extra"):
        assert any(field in map(str, e["loc"]) for e in body["detail"]), (field, body)


@pytest.mark.parametrize("status", [401, 413, 415])
def test_the_guards_error_body_matches_the_published_schema(spec, status):
    jsonschema.validate({"error": "what went wrong and the fix"}, response_schema(spec, "/predict", status))


def test_the_input_schema_publishes_the_accepted_range(spec):
    name = spec["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    text = str(spec["components"]["schemas"]) + str(name)
    assert "'maximum': 89.5" in text and "'minimum': 0.0" in text, "60 + 0.5 × 59; 1 − 29.5 clipped at 0"


GOOD = {"tenure_months": 12.0, "region": "north", "customer_id": 7}


def test_a_feature_never_missing_in_training_is_published_required_and_not_null(spec):
    """The OpenAPI document tells a client which features take null (those missing somewhere in the
    training table): SCHEMA's two never were, so they are required, typed without null, and say so."""
    schemas = spec["components"]["schemas"]
    (record,) = [node for node in schemas.values() if "tenure_months" in node.get("properties", {})]
    assert {"tenure_months", "region"} <= set(record["required"]), record
    for name in ("tenure_months", "region"):
        field = record["properties"][name]
        assert '"type": "null"' not in json.dumps(field), field
        assert field["description"].endswith("; never missing in training: required, null refused"), field


@pytest.mark.parametrize(
    ("body", "loc", "says"),
    [
        ([GOOD], [], 'Input should be an object: {"records": [record, ...]}, got an array: wrap it'),
        ({"rows": [GOOD]}, ["records"], "the body is {\"records\": [record, ...]}, got the keys ['rows']"),
        ({}, ["records"], "got an empty object"),
        ("records", [], "got a string"),
        ({"records": GOOD}, ["records"], 'got an object: wrap the one record in [ ]: {"records": [{...}]}'),
        ({"records": [GOOD], "model": "v2"}, ["model"], "the body holds only 'records'"),
        (
            {"records": [{**GOOD, "tenure_months": "12%"}]},
            ["records", 0, "tenure_months"],
            "Input should be a valid number, got the string '12%': send a JSON number (12.5, not \"12.5\")",
        ),
        (
            {"records": [GOOD, {**GOOD, "tenure_months": True}]},
            ["records", 1, "tenure_months"],
            "got true, a boolean: send a JSON number (1 or 0 for yes or no)",
        ),
        (
            {"records": [{**GOOD, "region": "east"}]},
            ["records", 0, "region"],
            "'north' or 'south', got 'east'",
        ),
        (
            {"records": [{**GOOD, "customer_id": True}]},
            ["records", 0, "customer_id"],
            "Input should be an integer or a string (the id, echoed back), got true, a boolean",
        ),
        (
            {"records": [GOOD] * 11},
            ["records"],
            "List should have at most 10 items after validation, not 11: send them in requests of at most"
            " that many, or raise max_batch_size (configs/serving.yaml, SERVING_MAX_BATCH_SIZE)",
        ),
        (
            {"records": [{**GOOD, "customer_id": 7.5}]},
            ["records", 0, "customer_id"],
            "got 7.5",
        ),
        (
            {"records": [{"region": "north", "customer_id": 7}]},
            ["records", 0, "tenure_months"],
            "Field required: the record has no 'tenure_months'; a record holds its id and each feature"
            " that was never missing in the table the model was trained on (GET /docs.json lists them)",
        ),
        (
            {"records": [GOOD, {"region": "north", "tenure_months": 3.0}]},
            ["records", 1, "customer_id"],
            "Field required: the record has no 'customer_id'",
        ),
        (
            {"records": [{**GOOD, "tenure_months": None}]},
            ["records", 0, "tenure_months"],
            "Input should be a valid number, got null: 'tenure_months' was never missing in the table the"
            " model was trained on, so it learnt no answer for a missing value; send its value",
        ),
        (
            {"records": [GOOD, {**GOOD, "region": None}]},
            ["records", 1, "region"],
            "Input should be 'north' or 'south', got null: 'region' was never missing in the table",
        ),
    ],
    ids=[
        "array",
        "other-key",
        "empty",
        "string",
        "one-record",
        "extra-key",
        "quoted-number",
        "boolean",
        "category",
        "id-boolean",
        "too-many",
        "id-fraction",
        "left-out",
        "no-id",
        "null-number",
        "null-category",
    ],
)
def test_a_body_a_client_gets_wrong_is_a_400_saying_what_was_sent_and_the_fix(spec, body, loc, says):
    """A client's first requests: a bare array, another key than "records", one record not in a
    list, a number quoted or a boolean. pydantic's messages ("Field required", "Input should be a
    valid number") named neither what was sent nor the shape; BentoML drops the input from the 400."""
    with pytest.raises(ValidationError) as caught:
        Dummy.apis["predict"].input_spec.model_validate(body)  # Body as BentoML wraps it
    answer = bentoml_400_body(caught.value)
    jsonschema.validate(answer, response_schema(spec, "/predict", 400))
    (error,) = answer["detail"]  # the id's two union errors (int, str) are one
    assert error["loc"] == loc and says in error["msg"], error
    assert answer["error"] == "1 validation error for Input", answer


def test_a_valid_body_gives_the_method_its_records():
    body = Dummy.apis["predict"].input_spec.model_validate(
        {"records": [GOOD, {**GOOD, "customer_id": "c-8"}]}
    )
    assert [record.customer_id for record in body.records] == [7, "c-8"], body


def test_columns_pydantic_reserves_are_fields_by_their_own_names_in_the_schema_the_rows_and_the_errors():
    """A MongoDB export's id '_id', a pandas merge's '_merge', 'model_config', 'json': record_model
    failed on them ("Fields must not use names with leading underscores", "'FieldInfo' object is not
    iterable"), so a model trained on such a table could not be served. They are fields under other
    names, with the column as alias: clients send, the OpenAPI document shows and the 400s name the
    column, and the model gets its rows keyed by column."""
    schema = {
        "features": [
            {"name": "_merge", "kind": "categorical", "categories": ["both", "left_only"], "nullable": False},
            {"name": "model_config", "kind": "numeric", "minimum": 1.0, "maximum": 9.0, "nullable": False},
            {"name": "json", "kind": "numeric", "minimum": 0.0, "maximum": 1.0, "nullable": True},
            {"name": "field_0", "kind": "numeric", "minimum": 0.0, "maximum": 1.0, "nullable": True},
        ],
        "id_column": "_id",
        "target_column": "label",
        "sensitive_features": ["_sex"],
    }
    body = body_model(record_model(schema, margin=0.5), 10)
    sent = {"_id": "64b7f0", "_merge": "both", "model_config": 3.0, "json": 0.5, "field_0": 0.1}
    (row,) = [record.__dict__ for record in body.model_validate({"records": [sent]}).records]
    assert row == sent, "the model and the inference log read the rows by column"
    properties = body.model_json_schema()["$defs"]["Record"]["properties"]
    assert sorted(properties) == sorted(sent), properties
    with pytest.raises(ValidationError) as caught:
        body.model_validate({"records": [{**sent, "model_config": "3", "_sex": "f"}]})
    locs = {tuple(error["loc"]): error["msg"] for error in caught.value.errors()}
    assert "got the string '3'" in locs[("records", 0, "model_config")], locs
    assert "'_sex' is a sensitive column" in locs[("records", 0, "_sex")], locs
    with pytest.raises(ValidationError, match="field_1"):  # the field's own name is no input
        body.model_validate({"records": [{**sent, "field_1": 3.0}]})


def union_errors(field: str, *branches: tuple[str, str]) -> list[dict]:
    """pydantic's errors of a union field of record 0, one per (error type, branch tag)."""
    return [
        {"type": kind, "loc": ("records", 0, field, tag), "msg": f"not a {tag}", "input": []}
        for kind, tag in branches
    ]


def test_only_the_ids_integer_or_string_errors_are_said_as_one():
    other_union = union_errors("x", ("float_type", "float"), ("string_type", "str"))
    assert _rewritten(other_union) is None, "pydantic's own errors stand"
    (said,) = _rewritten(union_errors("cid", ("int_type", "int"), ("string_type", "str")))
    assert said["loc"] == ("records", 0, "cid") and said["type"].message().endswith("got an array"), said
