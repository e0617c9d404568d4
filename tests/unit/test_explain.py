from dataclasses import replace

import numpy as np
import pytest

from ml import names
from ml.data.demo import generate_demo
from ml.explain import (
    BASELINE,
    contributions_for,
    explain,
    explanation_html,
    reference_values,
)
from ml.features import build_customer_features, feature_columns, infer_schema
from ml.settings import DataSettings, FeatureSettings, ModelSettings
from ml.training import as_model_input, predict_proba, train_model


@pytest.fixture(scope="module")
def dataset():
    tables = generate_demo(customers=2000, seed=3)
    return build_customer_features(tables.customers, tables.sales)


@pytest.fixture(scope="module")
def schema(dataset):
    data = DataSettings()
    return infer_schema(dataset, feature_columns(dataset, data, FeatureSettings()), data, names.BAD)


@pytest.fixture(scope="module")
def models(dataset, schema):
    return {
        kind: train_model(dataset, schema, ModelSettings(kind=kind), seed=0)
        for kind in ("lightgbm", "logistic_regression")
    }


def test_lightgbm_contributions_plus_baseline_equal_the_raw_log_odds_score(dataset, schema, models):
    model, rows = models["lightgbm"], dataset.head(60)
    contributions = contributions_for(model, rows, schema)
    assert list(contributions.columns) == [*schema.names, BASELINE], list(contributions.columns)
    assert contributions.index.equals(rows.index), "contributions must keep the input rows' index"
    raw = model[-1].predict(model[:-1].transform(as_model_input(rows, schema)), raw_score=True)
    np.testing.assert_allclose(
        contributions.sum(axis=1).to_numpy(),
        raw,
        rtol=0,
        atol=1e-9,
        err_msg="TreeSHAP contributions + baseline must add up to the booster's raw score",
    )
    assert contributions[BASELINE].nunique() == 1, "the expected value is the same for every row"


@pytest.mark.parametrize(
    ("kind", "method", "units"),
    [("lightgbm", "lightgbm-pred-contrib", "log-odds"), ("logistic_regression", "occlusion", "probability")],
)
def test_late_payment_rate_is_a_top_three_global_feature(dataset, schema, models, kind, method, units):
    explanation = explain(models[kind], dataset, schema, max_rows=400)
    importance = explanation.global_importance
    assert (explanation.method, explanation.units) == (method, units), (explanation.method, units)
    assert sorted(importance.index) == sorted(schema.names), (
        f"one entry per feature: {list(importance.index)}"
    )
    assert importance.is_monotonic_decreasing, f"importance must be sorted, largest first: {importance}"
    assert (importance >= 0).all(), f"mean absolute contributions cannot be negative: {importance}"
    top3 = list(importance.index[:3])
    assert "late_payment_rate" in top3, f"{kind}: late payments drive the label, yet the top 3 is {top3}"


def test_occlusion_gives_zero_contribution_to_a_feature_the_model_never_saw_vary(dataset, schema):
    # Trained with tenure constant, the logistic regression cannot use tenure; explained on rows
    # where tenure does vary, occlusion must still give it nothing.
    model = train_model(
        dataset.assign(tenure_months=12), schema, ModelSettings(kind="logistic_regression"), 0
    )
    explanation = explain(model, dataset, schema, max_rows=300)
    assert explanation.method == "occlusion", explanation.method
    tenure = explanation.contributions["tenure_months"]
    assert tenure.abs().max() < 1e-9, f"an unusable feature got contributions up to {tenure.abs().max()}"
    used = explanation.global_importance["late_payment_rate"]
    assert used > 0.01, f"a used feature must get a real contribution, got {used}"


def test_occlusion_baseline_is_the_probability_of_the_reference_row(dataset, schema, models):
    model, rows = models["logistic_regression"], dataset.head(50)
    reference = reference_values(rows, schema)
    assert reference["late_payment_rate"] == rows["late_payment_rate"].median(), reference
    assert reference["region"] == rows["region"].mode().iloc[0], reference
    contributions = contributions_for(model, rows, schema)
    expected = predict_proba(model, rows.head(1).assign(**reference), schema)[0]
    np.testing.assert_allclose(
        contributions[BASELINE], expected, err_msg="baseline must be P(positive) of the reference row"
    )


@pytest.mark.parametrize("kind", ["lightgbm", "logistic_regression"])
def test_unknown_categories_and_missing_values_are_explained(dataset, schema, models, kind):
    odd = dataset.head(30).copy()
    odd.loc[odd.index[:10], "region"] = "atlantis"
    odd.loc[odd.index[:10], "annual_income"] = np.nan
    contributions = contributions_for(models[kind], odd, schema)
    assert np.isfinite(contributions.to_numpy()).all(), f"{kind}: non-finite contributions\n{contributions}"
    if kind == "lightgbm":
        raw = models[kind][-1].predict(
            models[kind][:-1].transform(as_model_input(odd, schema)), raw_score=True
        )
        np.testing.assert_allclose(
            contributions.sum(axis=1), raw, atol=1e-9, err_msg="additivity must hold for odd rows too"
        )


def test_a_single_row_is_explained_against_reference_values_of_other_rows(dataset, schema, models):
    model, row = models["logistic_regression"], dataset.head(1)
    alone = contributions_for(model, row, schema)
    assert (alone[schema.names] == 0).all(axis=None), "a row is its own reference: nothing to explain"
    against_training = contributions_for(model, row, schema, reference=reference_values(dataset, schema))
    assert against_training[schema.names].abs().to_numpy().max() > 1e-3, (
        f"against the training medians the row must have non-zero contributions: {against_training}"
    )


def test_html_page_shows_chart_method_units_and_every_feature(dataset, schema, models):
    explanation = explain(models["lightgbm"], dataset, schema, max_rows=50)
    page = explanation_html(explanation, "Why the model scores customers", top_rows=3)
    assert page.lstrip().startswith("<!DOCTYPE html>"), "a standalone HTML page is expected"
    assert "<svg" in page, "the global-importance chart is missing"
    assert "lightgbm-pred-contrib" in page and "log-odds" in page, "method and units must be stated"
    missing = [name for name in schema.names if name not in page]
    assert not missing, f"features missing from the page: {missing}"
    assert "first 3 rows" in page, "the contributions table must hold top_rows rows"


def test_max_rows_caps_the_explained_rows_with_a_seeded_sample(dataset, schema, models):
    model = models["lightgbm"]
    first = explain(model, dataset, schema, max_rows=40, seed=1).contributions
    assert len(first) == 40, f"max_rows=40 explained {len(first)} rows"
    assert first.index.isin(dataset.index).all(), "sampled rows must keep the input frame's index"
    again = explain(model, dataset, schema, max_rows=40, seed=1).contributions
    assert again.index.equals(first.index), "the same seed must explain the same rows"
    other = explain(model, dataset, schema, max_rows=40, seed=2).contributions
    assert not other.index.equals(first.index), "another seed should sample other rows"
    small = explain(model, dataset.head(25), schema, max_rows=40).contributions
    assert small.index.equals(dataset.head(25).index), "a frame under max_rows is explained whole"


def test_bad_input_is_rejected_with_the_offending_values(dataset, schema, models):
    with pytest.raises(ValueError, match=r"lacks the model's feature column\(s\) \['region'\]"):
        contributions_for(models["lightgbm"], dataset.drop(columns="region"), schema)
    with pytest.raises(ValueError, match="max_rows must be a positive number of rows, got 0"):
        explain(models["lightgbm"], dataset, schema, max_rows=0)
    with pytest.raises(ValueError, match="empty frame"):
        explain(models["logistic_regression"], dataset.iloc[0:0], schema)


def test_lightgbm_contributions_land_on_the_right_feature_whatever_the_schema_order(dataset, schema):
    # Numerics listed first: the preprocessing still outputs categoricals first, so a mix-up of the
    # booster's columns and the schema's would move the constant feature's zeros to another column.
    reordered = replace(schema, features=tuple(reversed(schema.features)))
    model = train_model(dataset.assign(tenure_months=12), reordered, ModelSettings(kind="lightgbm"), 0)
    explanation = explain(model, dataset, reordered, max_rows=300)
    zero = [name for name in reordered.names if (explanation.contributions[name] == 0).all()]
    assert zero == ["tenure_months"], f"only the constant feature may get no contribution, got {zero}"
    assert list(explanation.contributions.columns) == [*reordered.names, BASELINE], "schema order expected"
