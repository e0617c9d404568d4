"""The served model without a server: the native bundle scores exactly like the training
pipeline, and the generated API schema refuses bad records naming the field."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from bentos.bundle import BundleError, NativeModel, export_bundle, load_model
from bentos.schema import record_model
from ml import names
from ml.data.demo import generate_demo
from ml.data.validation import as_declared
from ml.fairness import mitigate
from ml.features import FeatureSchema, binary_target, build_customer_features, feature_columns, infer_schema
from ml.scoring import missing_untrained
from ml.settings import DataSettings, FairnessSettings, FeatureSettings, ModelSettings, SplitSettings
from ml.training import as_model_input, predict_proba, split_dataset, train_model

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def trained():
    tables = generate_demo(customers=2000, seed=5)
    frame = build_customer_features(tables.customers, tables.sales)
    data = DataSettings()
    schema = infer_schema(frame, feature_columns(frame, data, FeatureSettings()), data, names.BAD)
    return frame, schema, train_model(frame, schema, ModelSettings(), 0)


@pytest.fixture(scope="module")
def bundle(trained, tmp_path_factory):
    frame, schema, model = trained
    directory = tmp_path_factory.mktemp("bundle")
    export_bundle(model, schema.to_dict(), 0.5, directory, {"model_version": "7"})
    return NativeModel.load(directory)


def records_of(frame, schema):
    return json.loads(frame[[*schema.names, names.ID]].to_json(orient="records"))


@pytest.mark.parametrize("kind", ["lightgbm", "logistic_regression"])
def test_a_table_whose_columns_are_named_as_spreadsheets_name_them_is_served_under_its_own_names(
    trained, tmp_path, kind
):
    """'region: sales', 'orders [count]', 'tenure, months': the API takes the table's names, the
    bundle scores as batch scoring does, and a bad value is refused naming its column."""
    frame, _, _ = trained
    odd = {"region": "region: sales", "n_orders": "orders [count]", "tenure_months": "tenure, months"}
    frame = frame.rename(columns=odd)
    data = DataSettings()
    schema = infer_schema(frame, feature_columns(frame, data, FeatureSettings()), data, names.BAD)
    model = train_model(frame, schema, ModelSettings(kind=kind), 0)
    export_bundle(model, schema.to_dict(), 0.5, tmp_path, {"model_version": "2"})
    served, Record = load_model(tmp_path), record_model(schema.to_dict())
    records = [Record(**record).__dict__ for record in records_of(frame.head(200), schema)]
    assert set(odd.values()) <= set(records[0]), records[0]
    np.testing.assert_allclose(served.predict_proba(records), predict_proba(model, frame.head(200), schema))
    assert set(served.contributions(records[:1])[0]) == {*schema.names, "baseline"}
    with pytest.raises(ValidationError, match=re.escape("orders [count]")):
        Record(**{**records_of(frame.head(1), schema)[0], "orders [count]": "many"})


def test_native_bundle_scores_exactly_like_the_pipeline(trained, bundle):
    frame, schema, model = trained
    odd = frame.head(50).copy()
    odd.loc[odd.index[:5], "region"] = "atlantis"  # unknown category
    odd.loc[odd.index[5:10], "annual_income"] = np.nan
    np.testing.assert_allclose(
        bundle.predict_proba(records_of(odd, schema)), predict_proba(model, odd, schema), rtol=0, atol=1e-12
    )


def test_a_missing_category_is_one_missing_value_in_training_batch_scoring_and_serving(trained, tmp_path):
    frame, schema, _ = trained
    holes = frame.copy()
    holes["region"] = holes["region"].astype(object)
    holes.loc[holes.index[:100], "region"] = None  # a SQL NULL
    holes.loc[holes.index[100:200], "region"] = np.nan  # a CSV's empty cell
    model = train_model(holes, schema, ModelSettings(), 0)
    learnt = list(model.named_steps["prep"].named_transformers_["cat"].categories_[0])
    assert None not in learnt, f"None learnt as a category of its own: {learnt}"
    spec = export_bundle(model, schema.to_dict(), 0.5, tmp_path, {"model_version": "8"})
    assert spec["categories"]["region"] == ["central", "east", "north", "south", "west"]
    batch = predict_proba(model, holes.head(300), schema)  # the booster path
    assert np.array_equal(batch, model.predict_proba(as_model_input(holes.head(300), schema))[:, 1])
    assert np.array_equal(batch[:100], predict_proba(model, holes.head(100).assign(region=np.nan), schema))
    served = NativeModel.load(tmp_path).predict_proba(records_of(holes.head(300), schema))  # JSON null
    np.testing.assert_allclose(served, batch, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["lightgbm", "logistic_regression"])
def test_every_row_of_the_table_a_model_came_from_is_served_as_batch_scoring_scores_it(kind, tmp_path):
    """statsmodels' autos: its 6 convertibles fell in the test and validation splits, and the smoke
    test's 400 ("Input should be 'hardtop', 'hatchback', 'sedan' or 'wagon'") stopped every
    deployment of a model that batch scoring served. A category, a missing value or a number beyond
    the margin that only other splits hold is accepted and decides as in batch; a category the
    table never held is still a 400."""
    tables = generate_demo(customers=2000, seed=5)
    frame = build_customer_features(tables.customers, tables.sales)
    split = split_dataset(frame, names.TARGET, SplitSettings(), seed=1)
    test = split.test.copy()
    test.loc[test.index[:3], "region"] = "islands"  # only in the test split
    test.loc[test.index[3], "tenure_months"] = np.nan  # never missing in training
    span = split.train["annual_income"].max() - split.train["annual_income"].min()
    test.loc[test.index[4], "annual_income"] = split.train["annual_income"].max() + 2 * span
    data = DataSettings()
    columns = feature_columns(frame, data, FeatureSettings())
    schema = infer_schema(split.train, columns, data, names.BAD, others=(split.validation, test))
    region = next(s for s in schema.features if s.name == "region")
    assert "islands" not in region.categories and region.untrained_categories == ("islands",), region
    model = train_model(split.train, schema, ModelSettings(kind=kind), 0)
    export_bundle(model, schema.to_dict(), 0.5, tmp_path, {"model_version": "1"})
    Record = record_model(schema.to_dict(), margin=0.5)
    validated = [Record(**record).model_dump() for record in records_of(test, schema)]  # no 400
    served = load_model(tmp_path).predict_proba(validated)
    np.testing.assert_allclose(served, predict_proba(model, test, schema), rtol=0, atol=1e-12)
    unseen_as_missing = predict_proba(model, test.head(3).assign(region=np.nan), schema)
    np.testing.assert_allclose(served[:3], unseen_as_missing, rtol=0, atol=1e-12)
    described = Record.model_json_schema()["properties"]["region"]["description"]
    assert "['islands'] not in the training split: scored as a missing value" in described, described
    tenure = next(s for s in schema.features if s.name == "tenure_months")
    assert tenure.nullable and not tenure.learnt_missing, tenure  # null served, its answer never learnt
    described = Record.model_json_schema()["properties"]["tenure_months"]["description"]
    assert described.endswith(
        "; null accepted, though never missing in the training split: the model never learnt it"
        " (LightGBM reads it as 0)"
    ), described
    assert missing_untrained(test, schema) == {"tenure_months": 1}, "batch scoring counts that row too"
    with pytest.raises(ValidationError, match=r"region\n  Input should be 'central', .* or 'islands'"):
        Record(**{**records_of(test.head(1), schema)[0], "region": "atlantis"})


def test_an_unknown_value_of_a_feature_with_hundreds_of_categories_is_a_short_400_naming_it():
    """titanic's ticket: 929 categories. pydantic's literal error listed every one (a 30 kB 400);
    the message counts them, shows a few and says where all are: the field's enum in the OpenAPI
    document. A ticket written as a number in JSON is still its category."""
    data = DataSettings(
        source="csv", path="t.csv", target_column="survived", positive_label="1", id_column=None
    )
    tickets = [str(110_000 + 7 * i) for i in range(600)]
    frame = pd.DataFrame({"ticket": tickets, "fare": np.arange(600.0), "survived": ["0", "1"] * 300})
    train, test = frame.iloc[:500], frame.iloc[500:]
    schema = infer_schema(
        train,
        ["ticket", "fare"],
        DataSettings(**{**data.model_dump(), "sensitive_features": []}),
        "0",
        others=(test,),
    )
    Record = record_model(schema.to_dict())
    assert Record(ticket="113500", fare=3.0).ticket == "113500", "an untrained category is served"
    assert Record(ticket=110_007, fare=3.0).ticket == "110007", "a number is its category as written"
    with pytest.raises(ValidationError) as caught:
        Record(ticket="999999", fare=3.0)
    (error,) = caught.value.errors()
    assert error["loc"] == ("ticket",) and error["type"] == "literal_error", error
    assert error["msg"].startswith(
        "Input should be one of the 600 categories of the table the model came from, got '999999'; e.g."
        " ['110000', '110007',"
    ), error["msg"]
    assert error["msg"].endswith("all of them in the OpenAPI document's enum of this field (GET /docs.json)")
    assert len(error["msg"]) < 600, len(error["msg"])
    field = Record.model_json_schema()["properties"]["ticket"]
    assert field["enum"] == tickets, "the document lists every category"
    assert field["description"].startswith("one of 600 categories (this field's enum), e.g. ['110000'")
    assert field["description"].endswith(
        "; 100 of them not in the training split: scored as a missing value"
        "; never missing in training: required, null refused"
    )


def test_contributions_add_up_to_the_log_odds(trained, bundle):
    frame, schema, _ = trained
    records = records_of(frame.head(20), schema)
    proba = bundle.predict_proba(records)
    for contributions, p in zip(bundle.contributions(records), proba, strict=True):
        assert sum(contributions.values()) == pytest.approx(np.log(p / (1 - p)), abs=1e-9)
        assert set(contributions) == {*schema.names, "baseline"}


def test_bundle_is_plain_files_no_pickle(bundle, trained, tmp_path):
    frame, schema, model = trained
    export_bundle(model, schema.to_dict(), 0.5, tmp_path, {"model_version": "7"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["booster.txt", "spec.json"]
    assert (tmp_path / "booster.txt").read_text().startswith("tree"), "LightGBM's own text format"


def test_a_linear_model_is_served_from_its_numbers_like_the_pipeline(trained, tmp_path):
    frame, schema, _ = trained
    holes = frame.copy()
    holes["region"] = holes["region"].astype(object)
    holes.loc[holes.index[:50], "region"] = np.nan  # missing in training: a one-hot column of its own
    linear = train_model(holes, schema, ModelSettings(kind="logistic_regression"), 0)
    spec = export_bundle(linear, schema.to_dict(), 0.65, tmp_path, {"model_version": "9"})
    assert spec["estimator"] == "linear" and not (tmp_path / "booster.txt").exists()
    served = load_model(tmp_path)
    odd = holes.head(200).copy()
    odd.loc[odd.index[60:65], "region"] = "atlantis"  # unknown category: all one-hot columns zero
    odd.loc[odd.index[65:70], "annual_income"] = np.nan  # imputed with the training median
    records = records_of(odd, schema)
    proba = served.predict_proba(records)
    np.testing.assert_allclose(proba, predict_proba(linear, odd, schema), rtol=0, atol=1e-12)
    decisions = served.decisions(records, proba)
    assert np.array_equal(decisions, (predict_proba(linear, odd, schema) >= 0.65).astype(int)), (
        "the served decisions must use the release's threshold (0.65), not 0.5"
    )
    for contributions, p in zip(served.contributions(records[:20]), proba[:20], strict=True):
        assert sum(contributions.values()) == pytest.approx(np.log(p / (1 - p)), abs=1e-9)
        assert set(contributions) == {*schema.names, "baseline"}


def test_models_the_bundle_cannot_hold_are_refused_naming_the_kinds(trained, tmp_path):
    frame, schema, _ = trained
    forest = train_model(frame.head(300), schema, ModelSettings(kind="random_forest"), 0)
    with pytest.raises(BundleError, match=r"LightGBM or linear models .* got RandomForestClassifier"):
        export_bundle(forest, schema.to_dict(), 0.5, tmp_path, {})
    with pytest.raises(BundleError, match="only training pipelines"):
        export_bundle(object(), schema.to_dict(), 0.5, tmp_path, {})


@pytest.mark.parametrize("kind", ["lightgbm", "logistic_regression"])
def test_a_mitigated_release_decides_each_row_as_batch_scoring_does_in_any_batch(kind, tmp_path):
    tables = generate_demo(customers=4000, seed=3, bias=0.6)
    frame = build_customer_features(tables.customers, tables.sales)
    split = split_dataset(frame, names.TARGET, SplitSettings(), seed=1)
    data = DataSettings()
    schema = infer_schema(split.train, feature_columns(frame, data, FeatureSettings()), data, names.BAD)
    model = train_model(split.train, schema, ModelSettings(kind=kind), 1)
    y_val = binary_target(split.validation[names.TARGET], names.GOOD)
    settings = FairnessSettings(bins={})  # age cut at its quartiles, learnt at fitting time
    mitigated = mitigate(model, schema, split.validation, y_val, ("gender", "age"), settings, seed=4)
    assert set(mitigated.edges_) == {"age"}, mitigated.edges_
    test = split.test
    batch = mitigated.predict(test)
    assert 0 < batch.mean() < 1
    alone = np.array([mitigated.predict(test.iloc[[i]])[0] for i in range(40)])
    assert np.array_equal(alone, batch[:40]), "a row's decision must not depend on its batch"
    shuffled = test.sample(frac=1.0, random_state=0)
    assert np.array_equal(
        mitigated.predict(shuffled), pd.Series(batch, test.index)[shuffled.index].to_numpy()
    )
    export_bundle(mitigated, schema.to_dict(), 0.5, tmp_path, {"model_version": "3"})
    served = load_model(tmp_path)
    columns = [*schema.names, "gender", "age", names.ID]
    records = json.loads(test[columns].to_json(orient="records"))
    Record = record_model(schema.to_dict(), served.spec["mitigation"])
    validated = [Record(**record).__dict__ for record in records]  # as the API hands them over
    proba = served.predict_proba(validated)
    np.testing.assert_allclose(proba, mitigated.predict_proba(test)[:, 1], rtol=0, atol=1e-12)
    assert np.array_equal(served.decisions(validated, proba), batch), "served vs batch decisions"
    # age picks the group's threshold: a number far beyond the table's ages is refused naming it, as a
    # feature's is (an age of 900 took the oldest group's threshold); a missing age is its own group
    low, high = split.train["age"].min(), split.train["age"].max()
    assert schema.sensitive_ranges == {"age": (low, high)} and "gender" not in schema.sensitive_ranges
    assert FeatureSchema.from_dict(json.loads(json.dumps(schema.to_dict()))) == schema
    for age in (900.0, -5.0):
        with pytest.raises(
            ValidationError, match=rf"age\n  Input should be within .* got {age}: training saw"
        ):
            Record(**{**records[0], "age": age})
    assert Record(**{**records[0], "age": None}).__dict__["age"] is None
    assert Record(**{**records[0], "age": high + (high - low) * 0.4}).__dict__["age"] > high
    unranged = record_model({**schema.to_dict(), "sensitive_ranges": {}}, served.spec["mitigation"])
    assert unranged(**{**records[0], "age": 900.0}).__dict__["age"] == 900.0  # releases made before


def test_a_mitigated_release_groups_a_sensitive_column_coded_by_numbers_by_value_everywhere(tmp_path):
    """gender written 1/2 (as many survey tables do): its groups are '1' and '2', not the quartile
    bands '1-2' and '2+'; the bundle declares it a number, and a record sending 2 or 2.0 decides as
    batch scoring decides the row."""
    tables = generate_demo(customers=3000, seed=5, bias=0.6)
    frame = build_customer_features(tables.customers, tables.sales)
    frame["gender"] = frame["gender"].map({"female": 1, "male": 2})
    split = split_dataset(frame, names.TARGET, SplitSettings(), seed=1)
    data = DataSettings()
    schema = infer_schema(split.train, feature_columns(frame, data, FeatureSettings()), data, names.BAD)
    model = train_model(split.train, schema, ModelSettings(), 1)
    y_val = binary_target(split.validation[names.TARGET], names.GOOD)
    mitigated = mitigate(model, schema, split.validation, y_val, ("gender",), FairnessSettings(), seed=4)
    assert (mitigated.edges_, mitigated.codes_, sorted(mitigated.groups_)) == ({}, ("gender",), ["1", "2"])
    batch = mitigated.predict(split.test)
    export_bundle(mitigated, schema.to_dict(), 0.5, tmp_path, {"model_version": "3"})
    served = load_model(tmp_path)
    Record = record_model(schema.to_dict(), served.spec["mitigation"])
    records = json.loads(split.test[[*schema.names, "gender", names.ID]].to_json(orient="records"))
    assert any(record["gender"] is None for record in records), "missing is a group of its own"
    as_floats = [{**r, "gender": None if r["gender"] is None else float(r["gender"])} for r in records]
    for sent in (records, as_floats):
        validated = [Record(**record).__dict__ for record in sent]
        proba = served.predict_proba(validated)
        assert np.array_equal(served.decisions(validated, proba), batch), "served vs batch decisions"
    with pytest.raises(ValidationError, match="gender"):
        Record(**{**records[0], "gender": "female"})


@pytest.fixture(scope="module")
def Record(trained):
    return record_model(trained[1].to_dict())


def valid(trained):
    frame, schema, _ = trained
    return records_of(frame.head(1), schema)[0]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"region": "atlantis"}, "region", "Input should be 'central', 'east', 'north', 'south' or 'west'"),
        ({"tenure_months": "twelve"}, "tenure_months", "valid number"),
        ({"return_rate": 1.5}, "return_rate", "Input should be within 0.0 .. 1.0, got 1.5"),
        ({"n_orders": -3}, "n_orders", "Input should be within 0.0 .. "),
        ({"n_orders": False}, "n_orders", "Input should be a valid number"),
        ({"return_rate": True}, "return_rate", "Input should be a valid number"),
        ({"favourite_colour": "red"}, "favourite_colour", "Extra inputs are not permitted"),
        ({"segment": None}, "segment", "Input should be"),
    ],
)
def test_bad_records_are_refused_naming_the_field(trained, Record, change, field, message):
    with pytest.raises(ValidationError) as caught:
        Record(**{**valid(trained), **change})
    errors = {str(e["loc"][0]): e["msg"] for e in caught.value.errors()}
    assert field in errors and message in errors[field], errors


def test_a_sensitive_column_or_the_target_sent_by_a_client_is_refused_saying_what_it_is(trained, Record):
    """statsmodels' autos: a client sending its whole row (`fuel`, the sensitive column, beside the
    features) got pydantic's "Extra inputs are not permitted". The 400 names the setting and the
    fix; neither column is in the OpenAPI document, nor in what the model and the log are given."""
    with pytest.raises(ValidationError) as caught:
        Record(**{**valid(trained), "gender": "female", "age": 40, names.TARGET: "good"})
    errors = {str(e["loc"][0]): e["msg"] for e in caught.value.errors()}
    assert set(errors) == {"gender", "age", names.TARGET}, errors
    assert errors["gender"].startswith("'gender' is a sensitive column (data.sensitive_features)"), errors
    assert "leave it out of the record" in errors["age"], errors
    assert errors[names.TARGET].startswith(f"'{names.TARGET}' is the target column (data.target_column)")
    kept = Record(**valid(trained)).__dict__
    assert not {"gender", "age", names.TARGET} & set(kept), kept
    assert not {"gender", "age", names.TARGET} & set(Record.model_json_schema()["properties"])


def test_a_dropped_column_sent_by_a_client_is_refused_saying_it_is_dropped(trained):
    """titanic with `name` dropped (features.drop): a client sending a passenger's whole row was told
    "Extra inputs are not permitted". The 400 says the model does not take it and where that is set;
    a column the table never had is still pydantic's extra input."""
    frame, _, _ = trained
    data = DataSettings()
    schema = infer_schema(
        frame, feature_columns(frame, data, FeatureSettings(drop=["segment"])), data, names.BAD
    )
    assert schema.unused_columns == ("segment",), schema.unused_columns
    assert FeatureSchema.from_dict(schema.to_dict()) == schema
    before = {key: value for key, value in schema.to_dict().items() if key != "unused_columns"}
    assert FeatureSchema.from_dict(before).unused_columns == (), "versions trained before it: none"
    Record = record_model(schema.to_dict())
    record = {name: value for name, value in valid(trained).items() if name != "segment"}
    with pytest.raises(ValidationError) as caught:
        Record(**{**record, "segment": "retail", "favourite_colour": "red"})
    errors = {str(e["loc"][0]): e["msg"] for e in caught.value.errors()}
    assert errors == {
        "segment": "'segment' is a column of the training table the model does not take (features.drop in"
        " configs/training.yaml, or data.group_column): leave it out of the record",
        "favourite_colour": "Extra inputs are not permitted",
    }, errors
    assert (
        "segment" not in Record(**record).__dict__
        and "segment" not in Record.model_json_schema()["properties"]
    )


def test_missing_required_field_and_nullable_income(trained, Record):
    record = valid(trained)
    del record["region"]
    with pytest.raises(ValidationError, match=r"region\n  Field required"):
        Record(**record)
    assert Record(**{**valid(trained), "annual_income": None}).annual_income is None


def numeric_spec(schema, name):
    return next(spec for spec in schema.to_dict()["features"] if spec["name"] == name)


def test_numbers_accept_ints_and_refuse_booleans_and_strings(trained, Record):
    record = Record(**{**valid(trained), "tenure_months": 12})
    assert record.tenure_months == 12.0, "an int is a valid float"
    for wrong in (True, False, "12"):
        with pytest.raises(ValidationError, match=r"tenure_months\n  Input should be a valid number"):
            Record(**{**valid(trained), "tenure_months": wrong})


def test_values_beyond_the_training_range_plus_the_margin_are_refused_naming_field_and_range(trained):
    schema = trained[1]
    spec = numeric_spec(schema, "tenure_months")
    low, high = spec["minimum"], spec["maximum"]
    span = high - low
    Record = record_model(schema.to_dict(), margin=0.5)
    base = valid(trained)
    assert Record(**{**base, "tenure_months": high + 0.5 * span}).tenure_months == high + 0.5 * span
    with pytest.raises(ValidationError) as caught:
        Record(**{**base, "tenure_months": high + 0.5 * span + 1})
    (error,) = caught.value.errors()
    assert error["loc"] == ("tenure_months",), error
    assert f"{high + 0.5 * span + 1}" in error["msg"], f"the message names the value: {error['msg']}"
    assert f"{max(0.0, low - 0.5 * span)} .. {high + 0.5 * span}" in error["msg"], error["msg"]
    assert f"{low} .. {high}" in error["msg"] and "range_margin" in error["msg"], error["msg"]
    wider = record_model(schema.to_dict(), margin=2.0)
    assert wider(**{**base, "tenure_months": high + span}).tenure_months == high + span, "margin 2"


def test_the_json_schema_publishes_the_accepted_range(trained):
    schema = trained[1]
    spec = numeric_spec(schema, "tenure_months")
    span = spec["maximum"] - spec["minimum"]
    published = record_model(schema.to_dict(), margin=0.5).model_json_schema()["properties"]["tenure_months"]
    number = next(s for s in published.get("anyOf", [published]) if s.get("type") == "number")
    assert number["maximum"] == spec["maximum"] + 0.5 * span, published
    assert number["minimum"] == max(0.0, spec["minimum"] - 0.5 * span), published


def test_serving_pins_match_the_lock():
    lock: dict[str, set[str]] = {}  # the universal lock may pin other versions for Python >= 3.12
    text = (ROOT / "requirements.lock").read_text()
    for m in re.finditer(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", text, re.M):
        lock.setdefault(m.group(1).lower(), set()).add(m.group(2))
    for line in (ROOT / "bentos/requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            assert version in lock.get(name.lower(), set()), (
                f"{line} is not in the lock: {lock.get(name.lower())}"
            )


def test_frame_round_trip_keeps_ids(trained):
    frame, schema, _ = trained
    assert [r[names.ID] for r in records_of(frame.head(3), schema)] == frame[names.ID].head(3).tolist()
    assert isinstance(pd.DataFrame(records_of(frame.head(3), schema)), pd.DataFrame)


def test_a_number_listed_as_missing_is_missing_in_training_batch_scoring_and_serving(tmp_path):
    """statsmodels' anes96 as a survey file writes it: -1 for "refused to answer" in a numeric
    column. With ``missing_values: [-1]`` training learns no -1, and the API reads a raw row's -1 as
    batch scoring does (missing), so the same row gets the same probability."""
    import statsmodels.api as sm

    raw = sm.datasets.anes96.load_pandas().data.drop(columns=["logpopul"])
    raw["TVnews"] = raw["TVnews"].astype(int)
    raw.loc[raw.index % 7 == 0, "TVnews"] = -1
    data = DataSettings(
        source="csv", path="anes96.csv", target_column="vote", positive_label=1, id_column=None,
        sensitive_features=("age",), missing_values=[-1, "?"],
    )  # fmt: skip
    assert data.positive_label == "1" and data.missing_values == ("-1", "?"), "YAML numbers are their text"
    frame = as_declared(raw, data)
    assert frame["TVnews"].isna().sum() == (raw["TVnews"] == -1).sum() > 100
    assert frame["TVnews"].min() == 0 and frame["popul"].min() == 0, "only the marker is missing"
    schema = infer_schema(frame, feature_columns(frame, data, FeatureSettings()), data, "0")
    model = train_model(frame, schema, ModelSettings(), 0)
    export_bundle(model, schema.to_dict(), 0.5, tmp_path, {"model_version": "1"})
    Record = record_model(schema.to_dict())
    rows = json.loads(raw[schema.names].head(70).to_json(orient="records"))
    assert sum(row["TVnews"] == -1 for row in rows) == 10, "the raw rows still hold the marker"
    served = NativeModel.load(tmp_path).predict_proba([Record(**row).__dict__ for row in rows])
    np.testing.assert_allclose(served, predict_proba(model, frame.head(70), schema), rtol=0, atol=1e-12)
    with pytest.raises(ValidationError, match="TVnews"):
        Record(**{**rows[1], "TVnews": -2})  # not a marker: beyond the range, refused by name


@pytest.mark.parametrize("kind", ["lightgbm", "logistic_regression"])
def test_a_model_of_numbers_only_is_served_like_the_pipeline(kind, tmp_path):
    """scikit-learn's wine (13 measurements, no category; cultivar 1 against the rest): the one-hot
    encoder of a table without categorical features is never fitted, and the bundle does without it."""
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True).frame
    data = DataSettings(
        source="csv", path="wine.csv", target_column="target", positive_label="1", negative_label="other",
        id_column=None, sensitive_features=(),
    )  # fmt: skip
    frame = as_declared(wine, data)
    schema = infer_schema(frame, feature_columns(frame, data, FeatureSettings()), data, "other")
    assert not schema.categorical and len(schema.numeric) == 13
    model = train_model(frame, schema, ModelSettings(kind=kind), 0)
    spec = export_bundle(model, schema.to_dict(), 0.5, tmp_path, {"model_version": "1"})
    assert spec["estimator"] == ("linear" if kind == "logistic_regression" else "lightgbm")
    records = json.loads(frame[schema.names].to_json(orient="records"))
    served = load_model(tmp_path).predict_proba(records)
    np.testing.assert_allclose(served, predict_proba(model, frame, schema), rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["lightgbm", "logistic_regression"])
def test_a_column_constant_in_training_accepts_any_number_and_decides_as_batch_scoring(kind, tmp_path):
    """scikit-learn's digits (8 against the rest): edge pixels are 0 in every training image. A
    range widened from a zero-width one refused ink there (a 400 for a row batch scoring decides);
    the model does not use the column, so any number is accepted (not a negative one) and the
    probability is the one of the same row with the training value, served and in batch."""
    from sklearn.datasets import load_digits

    digits = load_digits(as_frame=True).frame
    digits = digits.assign(target=np.where(digits["target"] == 8, "eight", "other"))
    data = DataSettings(
        source="csv", path="digits.csv", target_column="target", positive_label="eight", id_column=None,
        sensitive_features=(),
    )  # fmt: skip
    frame = as_declared(digits, data)
    schema = infer_schema(frame, feature_columns(frame, data, FeatureSettings()), data, "other")
    spec = numeric_spec(schema, "pixel_0_0")
    assert spec["minimum"] == spec["maximum"] == 0.0, spec
    model = train_model(frame, schema, ModelSettings(kind=kind), 0)
    export_bundle(model, schema.to_dict(), 0.5, tmp_path, {"model_version": "1"})
    Record = record_model(schema.to_dict(), margin=0.5)
    row = json.loads(frame[schema.names].head(1).to_json(orient="records"))[0]
    inked = {**row, "pixel_0_0": 9.0}
    assert Record(**inked).pixel_0_0 == 9.0, "a value the model does not read is no reason for a 400"
    with pytest.raises(ValidationError, match=r"pixel_0_0\n  Input should be greater than or equal to 0"):
        Record(**{**row, "pixel_0_0": -1.0})
    served = load_model(tmp_path).predict_proba([row, inked])
    batch = predict_proba(model, pd.DataFrame([row, inked]), schema)
    np.testing.assert_allclose(served, batch, rtol=0, atol=1e-12)
    assert served[0] == served[1], "the model does not use a column constant in training"
    described = Record.model_json_schema()["properties"]["pixel_0_0"]
    assert "always 0.0 in training: the model does not use it" in described["description"], described


def test_a_category_coded_by_numbers_accepts_the_json_number_and_decides_as_the_written_code(tmp_path):
    """statsmodels' fair (affairs > 0 against none): ``occupation`` 1-6 declared categorical is read
    from the CSV as written, "6.0". A client sending 6 (or 6.0) means that category: it is accepted
    and decides as "6.0" does; 6.5, 7 or a boolean are still refused naming the allowed codes."""
    import statsmodels.api as sm

    fair = sm.datasets.fair.load_pandas().data
    fair = fair.assign(affairs=np.where(fair["affairs"] > 0, "yes", "no"))
    csv = tmp_path / "fair.csv"
    fair.to_csv(csv, index=False)
    data = DataSettings(
        source="csv", path=str(csv), target_column="affairs", positive_label="yes", id_column=None,
        sensitive_features=(), columns={"occupation": "categorical"},
    )  # fmt: skip
    frame = as_declared(pd.read_csv(csv, dtype={"occupation": str}), data)
    schema = infer_schema(frame, feature_columns(frame, data, FeatureSettings()), data, "no")
    codes = next(s for s in schema.to_dict()["features"] if s["name"] == "occupation")["categories"]
    assert "6.0" in codes and "6" not in codes, codes
    model = train_model(frame, schema, ModelSettings(), 0)
    export_bundle(model, schema.to_dict(), 0.5, tmp_path / "bundle", {"model_version": "1"})
    Record = record_model(schema.to_dict(), margin=0.5)
    row = {**json.loads(frame[schema.names].head(1).to_json(orient="records"))[0], "occupation": "6.0"}
    for sent in (6, 6.0):
        assert Record(**{**row, "occupation": sent}).occupation == "6.0", sent
    for wrong in (6.5, 7, True):
        with pytest.raises(ValidationError, match=r"occupation\n  Input should be '1.0', '2.0'"):
            Record(**{**row, "occupation": wrong})
    served = load_model(tmp_path / "bundle").predict_proba(
        [Record(**{**row, "occupation": 6}).model_dump(), row]
    )
    batch = predict_proba(model, pd.DataFrame([row]), schema)
    assert served[0] == served[1] and served[1] == pytest.approx(batch[0], abs=1e-12), (served, batch)


def test_a_column_of_booleans_takes_json_booleans_and_decides_as_batch_scoring_does(tmp_path):
    """A PostgreSQL boolean feature (statsmodels' fair: `married_happily`, NULL for some) is a
    category read 'True'/'False'. The API asked for the strings and refused a client's JSON `true`
    ("Input should be 'False' or 'True', got True"), and so the deployment's own smoke test, which
    sends the table's rows, failed. A JSON boolean is that category; other values are refused."""
    import statsmodels.api as sm

    fair = sm.datasets.fair.load_pandas().data.head(800)
    happy = (fair["rate_marriage"] >= 4).astype(object).where(fair.index % 17 > 0, None)
    frame = fair.assign(affairs=np.where(fair["affairs"] > 0, "yes", "no"), married_happily=happy)
    data = DataSettings(
        source="sql", sql_url="sqlite://", sql_query="SELECT 1", target_column="affairs",
        positive_label="yes", id_column=None, sensitive_features=(),
    )  # fmt: skip
    schema = infer_schema(frame, feature_columns(frame, data, FeatureSettings()), data, "no")
    spec = next(s for s in schema.to_dict()["features"] if s["name"] == "married_happily")
    assert (spec["kind"], list(spec["categories"])) == ("categorical", ["False", "True"]), spec
    model = train_model(frame, schema, ModelSettings(), 0)
    export_bundle(model, schema.to_dict(), 0.5, tmp_path / "bundle", {"model_version": "1"})
    Record = record_model(schema.to_dict(), margin=0.5)
    rows = json.loads(frame[schema.names].head(40).to_json(orient="records"))
    assert {type(row["married_happily"]) for row in rows} == {bool, type(None)}, "JSON true, false, null"
    records = [Record(**row).model_dump() for row in rows]
    assert [r["married_happily"] for r in records[:3]] == [None, "False", "True"], records[:3]
    described = Record.model_json_schema()["properties"]["married_happily"]["description"]
    assert described == "one of ['False', 'True'] (JSON true and false are read as them)", described
    for wrong in ("true", 1):
        with pytest.raises(ValidationError, match=r"married_happily\n  Input should be 'False' or 'True'"):
            Record(**{**rows[1], "married_happily": wrong})
    served = load_model(tmp_path / "bundle").predict_proba(records)
    batch = predict_proba(model, frame.head(40), schema)
    np.testing.assert_allclose(served, batch, atol=1e-12)


def test_a_parquet_list_column_is_json_text_in_training_and_the_api_takes_the_json_list(tmp_path):
    """A Spark export's list column (tags) stopped training in load_data ("unhashable type:
    'numpy.ndarray'"). It is read as JSON text, a category, on both engines (adapters/sources.py);
    the API takes the JSON list a client sends for it and decides as batch scoring does."""
    import statsmodels.api as sm

    from adapters.sources import read_flat_table

    fair = sm.datasets.fair.load_pandas().data.head(800)
    tags = [["kids", "city"] if i % 3 else ["rural"] for i in range(len(fair))]
    raw = fair.assign(affairs=np.where(fair["affairs"] > 0, "yes", "no"), tags=tags)
    raw.to_parquet(tmp_path / "t.parquet", index=False)
    data = DataSettings(
        source="parquet", path="t.parquet", target_column="affairs", positive_label="yes", id_column=None,
        sensitive_features=(),
    )  # fmt: skip
    frame = read_flat_table(data, tmp_path)
    assert frame["tags"].head(2).tolist() == ['["rural"]', '["kids", "city"]'], frame["tags"].head(2)
    schema = infer_schema(frame, feature_columns(frame, data, FeatureSettings()), data, "no")
    spec = next(s for s in schema.to_dict()["features"] if s["name"] == "tags")
    assert (spec["kind"], list(spec["categories"])) == ("categorical", ['["kids", "city"]', '["rural"]']), (
        spec
    )
    model = train_model(frame, schema, ModelSettings(), 0)
    export_bundle(model, schema.to_dict(), 0.5, tmp_path / "bundle", {"model_version": "1"})
    Record = record_model(schema.to_dict(), margin=0.5)
    rows = json.loads(frame[schema.names].head(30).to_json(orient="records"))
    as_clients_send = [{**row, "tags": json.loads(row["tags"])} for row in rows]  # ["rural"], a list
    records = [Record(**row).model_dump() for row in as_clients_send]
    assert [r["tags"] for r in records[:2]] == ['["rural"]', '["kids", "city"]'], records[:2]
    described = Record.model_json_schema()["properties"]["tags"]["description"]
    assert "(a JSON list or object is read as its text)" in described, described
    with pytest.raises(ValidationError, match=r"tags\n  Input should be '\[\"kids\", \"city\"\]' or"):
        Record(**{**rows[0], "tags": ["city", "kids"]})
    served = load_model(tmp_path / "bundle").predict_proba(records)
    np.testing.assert_allclose(served, predict_proba(model, frame.head(30), schema), atol=1e-12)
