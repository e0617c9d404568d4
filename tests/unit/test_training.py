from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ml import names
from ml.data.demo import generate_demo
from ml.evaluation import classification_metrics, data_fingerprint
from ml.features import binary_target, build_customer_features, feature_columns, infer_schema
from ml.settings import ConfigError, DataSettings, FeatureSettings, ModelSettings, SplitSettings
from ml.training import (
    as_model_input,
    booster_feature_names,
    booster_input,
    booster_layout,
    make_estimator,
    predict_proba,
    split_dataset,
    train_model,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dataset():
    tables = generate_demo(customers=3000, seed=3)
    return build_customer_features(tables.customers, tables.sales)


@pytest.fixture(scope="module")
def split(dataset):
    return split_dataset(dataset, names.TARGET, SplitSettings(), seed=0)


def schema_of(frame):
    data = DataSettings()
    return infer_schema(frame, feature_columns(frame, data, FeatureSettings()), data, names.BAD)


def test_columns_named_as_spreadsheets_name_them_train_every_kind_and_keep_their_names(split):
    """LightGBM refuses a feature name holding one of ",:[]{} ("Do not support special JSON
    characters in feature name"): a CSV's 'region: sales' failed every LightGBM candidate. The
    booster gets names it takes; the pipeline, its layout and the schema keep the table's own."""
    odd = {"region": "region: sales", "n_orders": "orders [count]", "tenure_months": "tenure, months"}
    odd |= {"segment": "{segment}", "return_rate": 'return "rate"', "avg_amount": "avg amount"}
    train, test = (part.rename(columns=odd) for part in (split.train, split.test))
    schema = schema_of(train)
    assert set(odd.values()) <= set(schema.names)
    plain_schema = schema_of(split.train)
    plain = train_model(split.train, plain_schema, ModelSettings(), 0)
    for kind in ("lightgbm", "logistic_regression"):
        model = train_model(train, schema, ModelSettings(kind=kind), 0)
        proba = predict_proba(model, test, schema)
        np.testing.assert_allclose(proba, model.predict_proba(as_model_input(test, schema))[:, 1])
    order, categories = booster_layout(model := train_model(train, schema, ModelSettings(), 0))
    assert set(odd.values()) <= set(order) and "region: sales" in categories, (order, categories)
    booster = model.named_steps["clf"].booster_.feature_name()
    assert booster == booster_feature_names(order) and "region__sales" in booster, booster
    np.testing.assert_allclose(  # the same trees as under the plain names: only the names differ
        predict_proba(model, test, schema), predict_proba(plain, split.test, plain_schema)
    )
    assert booster_feature_names(["a:b", "a,b", "c"]) == ["a_b_0", "a_b_1", "c"], "unique names"


def test_split_is_stratified_disjoint_and_reproducible(dataset, split):
    ids = [set(part[names.ID]) for part in (split.train, split.validation, split.test)]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2]), "split parts overlap"
    assert sum(map(len, ids)) == len(dataset), "rows lost in the split"
    rates = [(part[names.TARGET] == names.GOOD).mean() for part in (split.train, split.test)]
    assert abs(rates[0] - rates[1]) < 0.01, f"not stratified: {rates}"
    again = split_dataset(dataset, names.TARGET, SplitSettings(), seed=0)
    assert again.test.index.equals(split.test.index), "same seed must give the same split"


@pytest.mark.parametrize("kind", ["lightgbm", "logistic_regression", "random_forest"])
def test_every_model_kind_beats_the_always_positive_baseline(split, kind):
    schema = schema_of(split.train)
    model = train_model(split.train, schema, ModelSettings(kind=kind), seed=0)
    proba = predict_proba(model, split.test, schema)
    metrics = classification_metrics(binary_target(split.test[names.TARGET], names.GOOD), proba, 0.5)
    assert metrics[names.PRECISION] > metrics[names.BASELINE_PRECISION] + 0.07, (kind, metrics)
    assert metrics[names.ROC_AUC] > 0.7, (kind, metrics)


def test_training_is_deterministic_for_a_seed(split):
    schema = schema_of(split.train)
    first = predict_proba(train_model(split.train, schema, ModelSettings(), 1), split.test, schema)
    second = predict_proba(train_model(split.train, schema, ModelSettings(), 1), split.test, schema)
    np.testing.assert_array_equal(first, second, err_msg="same seed, different predictions")


def test_unseen_category_and_missing_values_are_scored(split):
    schema = schema_of(split.train)
    model = train_model(split.train, schema, ModelSettings(), 0)
    odd = split.test.head(3).assign(region="atlantis", annual_income=np.nan)
    assert np.isfinite(predict_proba(model, odd, schema)).all(), "unknown category broke scoring"


def test_unknown_hyperparameter_is_rejected_with_a_suggestion():
    with pytest.raises(ConfigError, match=r"'num_leafs' \(did you mean 'num_leaves'\?\)"):
        make_estimator(ModelSettings(params={"num_leafs": 8}), seed=0)


def test_metrics_on_a_hand_checked_example():
    y = np.array([1, 1, 0, 0, 1])
    proba = np.array([0.9, 0.4, 0.6, 0.1, 0.8])
    metrics = classification_metrics(y, proba, 0.5)
    assert metrics[names.PRECISION] == pytest.approx(2 / 3)
    assert metrics[names.RECALL] == pytest.approx(2 / 3)
    assert metrics[names.CONFUSION_MATRIX] == [[1, 1], [1, 2]]
    assert metrics[names.BASELINE_PRECISION] == pytest.approx(0.6)


def test_fingerprint_changes_with_content_only(dataset):
    assert data_fingerprint(dataset) == data_fingerprint(dataset.copy())
    changed = dataset.copy()
    changed.loc[changed.index[0], "age"] += 1
    assert data_fingerprint(changed)["sha256"] != data_fingerprint(dataset)["sha256"]
    assert data_fingerprint(dataset)["rows"] == len(dataset)


def test_model_input_texts_categories_and_keeps_missing_values_missing(dataset):
    schema = schema_of(dataset)
    frame = dataset.head(4).copy()
    column = schema.categorical[0]
    frame[column] = pd.array(["7", None, "north", None], dtype="string")  # pandas' own NA
    out = as_model_input(frame, schema)
    assert list(out.columns) == schema.names
    assert out[column].tolist()[::2] == ["7", "north"]
    assert all(isinstance(v, float) and np.isnan(v) for v in out[column].tolist()[1::2]), (
        "pd.NA must reach the encoder as NaN, which it treats as missing"
    )
    # The encoder accepts it, and the rows score.
    model = train_model(dataset, schema, ModelSettings(), seed=0)
    assert np.isfinite(model.predict_proba(out)[:, 1]).all()


def test_lightgbm_is_scored_by_its_booster_with_exactly_the_pipelines_probabilities(dataset):
    schema = schema_of(dataset)
    model = train_model(dataset, schema, ModelSettings(), seed=0)
    odd = dataset.head(8).copy()
    odd["region"] = ["atlantis", None, np.nan, "north", "south", "north", "east", "west"]  # unseen, missing
    odd.loc[odd.index[:3], "annual_income"] = np.nan
    for frame in (dataset, odd):
        matrix = booster_input(model, frame)
        assert matrix is not None and matrix.shape == (len(frame), len(schema.names))
        expected = model.predict_proba(as_model_input(frame, schema))[:, 1]
        assert np.array_equal(predict_proba(model, frame, schema), expected), "not the pipeline's answer"


def test_other_models_go_through_scikit_learn(split):
    schema = schema_of(split.train)
    model = train_model(split.train, schema, ModelSettings(kind="logistic_regression"), seed=0)
    assert booster_input(model, split.test) is None
    expected = model.predict_proba(as_model_input(split.test, schema))[:, 1]
    assert np.array_equal(predict_proba(model, split.test, schema), expected)


def test_a_candidate_may_name_another_estimator_which_starts_from_its_own_defaults():
    from ml.training import candidate_settings

    base = ModelSettings(kind="lightgbm", params={"num_leaves": 7})
    assert candidate_settings(base, {"n_estimators": 50}).params == {"num_leaves": 7, "n_estimators": 50}
    linear = candidate_settings(base, {"kind": "logistic_regression", "C": 0.1})
    assert (linear.kind, linear.params) == ("logistic_regression", {"C": 0.1}), linear


def test_a_candidates_unknown_kind_or_parameter_is_refused_before_the_run():
    from ml.settings import SearchSettings, TrainingSettings
    from ml.training import check_search

    bad_kind = TrainingSettings(search=SearchSettings(candidates=({}, {"kind": "xgboost"})))
    with pytest.raises(ConfigError, match=r"search.candidates\[1\].*kind 'xgboost' is not one of lightgbm, "):
        check_search(bad_kind)
    typo = TrainingSettings(search=SearchSettings(candidates=({"kind": "logistic_regression", "c": 1.0},)))
    with pytest.raises(
        ConfigError,
        match=r"search.candidates\[0\].*logistic_regression has unknown parameter\(s\) 'c'; valid ones: C, ",
    ):
        check_search(typo)


def test_shipped_lightgbm_candidates_under_another_model_kind_are_refused_saying_to_give_them_their_kind():
    """A user set model.kind: logistic_regression (statsmodels' survival data) and got "unknown
    parameter(s) 'learning_rate', 'n_estimators', 'num_leaves'; valid ones: C, ..." for the shipped
    candidate {num_leaves: 31, learning_rate: 0.03, n_estimators: 400}: not what to do about it."""
    from ml.settings import TrainingSettings
    from ml.training import check_search

    shipped = yaml.safe_load((ROOT / "configs/training.yaml").read_text())
    linear = TrainingSettings.model_validate(
        {**shipped, "model": {"kind": "logistic_regression", "params": {}}}
    )
    with pytest.raises(ConfigError) as caught:
        check_search(linear)
    assert str(caught.value) == (
        "search.candidates[1] ({'num_leaves': 31, 'learning_rate': 0.03, 'n_estimators': 400}) in the"
        " training config: 'learning_rate', 'n_estimators', 'num_leaves' are lightgbm parameters, and a"
        " candidate without a kind of its own is a model.kind one (logistic_regression); to keep it in the"
        " search give it its kind, {kind: lightgbm, learning_rate: 0.03, n_estimators: 400, num_leaves: 31},"
        " or remove it"
    ), caught.value
    kept = [{}, {"kind": "lightgbm", "num_leaves": 31}, {"kind": "lightgbm", "num_leaves": 7}, {"C": 0.1}]
    check_search(
        TrainingSettings.model_validate({**shipped, "model": linear.model, "search": {"candidates": kept}})
    )


def test_max_f1_picks_the_threshold_with_the_best_f1_on_the_rows_it_is_given():
    """statsmodels' cataneo2 births (low birth weight: 6 %): at 0.5 the model labelled 2 of 929 test
    rows positive; ``decision_threshold: max_f1`` picks the threshold with the best F1 instead."""
    from sklearn.metrics import f1_score

    from ml.training import max_f1_threshold

    rng = np.random.default_rng(3)
    y = (rng.random(400) < 0.08).astype(int)
    proba = np.clip(0.05 + 0.25 * y + rng.normal(0, 0.1, 400), 0.001, 0.999)  # never 0.5: a rare label
    best = max_f1_threshold(y, proba)
    f1_at = {t: f1_score(y, (proba >= t).astype(int)) for t in np.unique(proba)}
    assert f1_score(y, (proba >= best).astype(int)) == max(f1_at.values()) > f1_score(y, proba >= 0.5), best
    assert best == max(t for t, f1 in f1_at.items() if f1 == max(f1_at.values())), "the highest of the best"
    assert max_f1_threshold(np.array([1, 0, 1, 0]), np.array([0.9, 0.9, 0.2, 0.1])) == 0.2, "F1 0.8 there"
    assert max_f1_threshold(np.zeros(5, dtype=int), np.linspace(0.1, 0.5, 5)) == 0.5, "no positive label"
    assert 0 < max_f1_threshold(np.array([1, 1, 0]), np.array([0.0, 1.0, 0.0])) < 1, "inside (0, 1)"


def test_a_candidate_is_scored_at_its_max_f1_threshold_on_the_rows_it_is_selected_on(split):
    from ml.settings import SearchSettings, TrainingSettings
    from ml.training import candidate_score, max_f1_threshold, predict_proba

    schema, settings = schema_of(split.train), ModelSettings(kind="logistic_regression")
    fitted = train_model(split.train, schema, settings, 0)
    one = TrainingSettings(search=SearchSettings(candidates=({},)), decision_threshold="max_f1")
    metrics, method, threshold = candidate_score(
        (split.train, split.validation), schema, settings, one, fitted
    )
    y = binary_target(split.validation[schema.target_column], schema.positive_label)
    proba = predict_proba(fitted, split.validation, schema)
    assert method == "validation split" and threshold == max_f1_threshold(y, proba) != 0.5, threshold
    assert metrics == classification_metrics(y, proba, threshold), "measured at its own threshold"
    fixed = one.model_copy(update={"decision_threshold": 0.5})
    at_half, _, half = candidate_score((split.train, split.validation), schema, settings, fixed, fitted)
    assert half == 0.5 and metrics[names.F1] >= at_half[names.F1], (metrics, at_half)
    folds = one.model_copy(update={"search": SearchSettings(candidates=({}, {}), cv_folds=3)})
    _, method, on_folds = candidate_score((split.train, split.validation), schema, settings, folds, fitted)
    assert method.startswith("3-fold") and 0 < on_folds < 1 and on_folds != threshold, on_folds


@pytest.mark.parametrize("value", [0, 1, 1.5, "auto", "0.5", True])
def test_a_decision_threshold_that_is_neither_a_probability_nor_max_f1_is_refused_naming_both(value):
    from pydantic import ValidationError

    from ml.settings import TrainingSettings

    with pytest.raises(ValidationError, match=r"decision_threshold must be a probability between 0 and 1"):
        TrainingSettings(decision_threshold=value)


def test_small_tables_compare_candidates_by_cross_validation_and_large_ones_on_the_validation_split(split):
    from ml.settings import SearchSettings, TrainingSettings
    from ml.training import candidate_score, model_kind, selection_method

    search = SearchSettings(candidates=({}, {"kind": "logistic_regression"}), cv_below_rows=5000, cv_folds=3)
    assert selection_method(1200, 2, search) == "3-fold cross-validation on train + validation"
    assert selection_method(1200, 1, search) == "validation split", "one candidate: nothing to choose"
    assert selection_method(6000, 2, search) == "validation split"
    training = TrainingSettings(search=search)
    schema = schema_of(split.train)
    settings = ModelSettings(kind="logistic_regression")
    fitted = train_model(split.train, schema, settings, 0)
    metrics, method, _ = candidate_score((split.train, split.validation), schema, settings, training, fitted)
    assert method.startswith("3-fold") and 0.5 < metrics[names.ROC_AUC] < 1, (method, metrics)
    rows = len(split.train) + len(split.validation)
    assert sum(sum(row) for row in metrics[names.CONFUSION_MATRIX]) == rows, (
        "every row scored once, out of fold"
    )
    on_split, method, _ = candidate_score(
        (split.train, split.validation),
        schema,
        settings,
        training.model_copy(update={"search": search.model_copy(update={"cv_below_rows": 0})}),
        fitted,
    )
    assert method == "validation split" and sum(map(sum, on_split[names.CONFUSION_MATRIX])) == len(
        split.validation
    )
    assert model_kind(fitted) == "logistic_regression"


def test_training_on_dask_refuses_a_search_candidate_of_another_kind():
    from pydantic import ValidationError

    from ml.settings import SearchSettings, TrainingSettings

    search = SearchSettings(candidates=({}, {"kind": "logistic_regression", "C": 0.1}))
    with pytest.raises(
        ValidationError, match=r"search.candidates\[1\] \(kind 'logistic_regression'\).*engine: pandas"
    ):
        TrainingSettings(search=search, engine="dask")
    assert TrainingSettings(search=SearchSettings(candidates=({},)), engine="dask").engine == "dask"


@pytest.fixture(scope="module")
def modechoice():
    """statsmodels' modechoice: 210 travellers, one row per mode each (air, train, bus, car), the
    chosen one "yes": a traveller's four rows belong together."""
    import statsmodels.api as sm

    table = sm.datasets.modechoice.load_pandas().data
    return table.assign(
        individual=table["individual"].astype(int),
        mode=table["mode"].map({1: "air", 2: "train", 3: "bus", 4: "car"}),
        choice=table["choice"].map({1: "yes", 0: "no"}),
    )


def test_a_group_column_keeps_a_groups_rows_in_one_split_and_one_fold(modechoice, monkeypatch):
    import ml.training
    from ml.settings import SearchSettings, TrainingSettings
    from ml.training import candidate_score

    data = DataSettings(
        source="parquet", path="m.parquet", target_column="choice", positive_label="yes", id_column=None,
        group_column="individual", sensitive_features=("psize",),
    )  # fmt: skip
    grouped = split_dataset(modechoice, "choice", SplitSettings(), 0, data.group_column)
    people = [set(part["individual"]) for part in (grouped.train, grouped.validation, grouped.test)]
    assert not (people[0] & people[1] or people[0] & people[2] or people[1] & people[2]), "a traveller split"
    assert [len(p) for p in people] == [126, 42, 42] and sum(
        map(len, (grouped.train, grouped.validation, grouped.test))
    ) == len(modechoice)
    plain = split_dataset(modechoice, "choice", SplitSettings(), 0)
    assert len(set(plain.train["individual"]) & set(plain.test["individual"])) > 100, "rows alone: twins"
    columns = feature_columns(modechoice, data, FeatureSettings())
    assert "individual" not in columns and "mode" in columns, columns
    schema = infer_schema(grouped.train, columns, data, "no")
    folds = []
    real_train = ml.training.train_model
    monkeypatch.setattr(
        ml.training, "train_model", lambda frame, *a: folds.append(frame) or real_train(frame, *a)
    )
    training = TrainingSettings(search=SearchSettings(candidates=({}, {"num_leaves": 7}), cv_folds=3))
    split = (grouped.train, grouped.validation)
    _, method, _ = candidate_score(split, schema, ModelSettings(), training, None, data.group_column)
    assert method.startswith("3-fold") and len(folds) == 3
    together = pd.concat(split, ignore_index=True)  # as candidate_score joins them
    for fitted in folds:
        held_out = together.drop(index=fitted.index)
        assert not set(fitted["individual"]) & set(held_out["individual"]), "a traveller in two folds"


def test_a_split_a_group_column_leaves_with_one_class_is_named_with_the_fix():
    from ml.data.validation import DataValidationError

    people = pd.DataFrame({"person": np.repeat(np.arange(6), 3), "x": np.arange(18.0)})
    labelled = people.assign(label=np.where(people["person"] % 2 == 0, "good", "bad"))  # one class each
    expected = (
        r"the (test|validation) split holds 1 of the 6 groups of data.group_column 'person' and only the "
        r"class\(es\) \['(good|bad)'\]: raise training.split.(test|validation)_size, or train on more groups"
    )
    with pytest.raises(DataValidationError, match=expected):
        split_dataset(labelled, names.TARGET, SplitSettings(), 0, "person")


def test_the_logged_models_example_is_what_it_reads_so_mlflow_validates_it(tmp_path, monkeypatch, caplog):
    """A PostgreSQL boolean feature (statsmodels' `fair` with `married_happily` true, false or
    NULL) is a category: the model reads it as text ('True'), as every category. The MLflow model
    was logged with the raw rows as its example: MLflow's check of it failed ("Failed to validate
    serving input example ... y contains previously unseen labels: np.True_") in every training
    run, and its signature typed the column boolean. The example is now the model's input."""
    import logging

    import mlflow
    import mlflow.tracking._tracking_service.utils as tracking_utils
    import statsmodels.api as sm
    from mlflow.types import DataType

    from ml.training import as_model_input
    from steps.mlflow_logging import log_trained_model

    table = sm.datasets.fair.load_pandas().data.head(600)
    table["affair"] = np.where(table["affairs"] > 0, "yes", "no")
    happy = (table["rate_marriage"] >= 4).astype(object)
    table["married_happily"] = happy.where(table.index % 17 > 0, None)
    table = table.drop(columns="affairs")
    data = DataSettings(
        source="csv", path="fair.csv", target_column="affair", positive_label="yes", id_column=None
    )
    schema = infer_schema(table, feature_columns(table, data, FeatureSettings()), data, "no")
    assert "married_happily" in schema.categorical, schema.categorical
    model = train_model(table, schema, ModelSettings(), 0)
    monkeypatch.chdir(tmp_path)
    # mlflow.set_tracking_uri's global, restored after the test (one set by an earlier test of this
    # process would win over the MLFLOW_TRACKING_URI variable)
    monkeypatch.setattr(tracking_utils, "_tracking_uri", f"sqlite:///{tmp_path}/mlflow.db")
    with caplog.at_level(logging.WARNING, logger="mlflow"), mlflow.start_run():
        uri = log_trained_model(model, table, schema)  # the table's rows as they come
    types = {spec.name: spec.type for spec in mlflow.models.get_model_info(uri).signature.inputs.inputs}
    loaded = mlflow.pyfunc.load_model(uri)
    assert not [r for r in caplog.records if "Failed to validate" in r.getMessage()], caplog.text[-2000:]
    assert types["married_happily"] == DataType.string, types
    rows = as_model_input(table.tail(50), schema)
    np.testing.assert_array_equal(loaded.predict(rows), model.predict(rows))
