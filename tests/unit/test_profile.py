import json

import numpy as np
import pytest

from ml import names
from ml.data.demo import generate_demo
from ml.features import build_customer_features
from ml.profile import profile_dataset


@pytest.fixture(scope="module")
def frame():
    tables = generate_demo(customers=400, seed=1)
    return build_customer_features(tables.customers, tables.sales)


@pytest.fixture(scope="module")
def profile(frame):
    return profile_dataset(frame, names.TARGET, names.ID)


def test_summary_counts_the_rows_and_columns_of_the_frame(frame, profile):
    summary = profile.summary
    assert (summary["rows"], summary["columns"]) == frame.shape, (summary["rows"], summary["columns"])
    assert summary["sampled_rows"] == len(frame), (
        f"a small frame is profiled whole: {summary['sampled_rows']}"
    )


def test_missing_share_is_evidently_s_and_equals_pandas(frame, profile):
    missing = profile.summary["missing_share"]
    assert set(missing) == set(frame.columns), f"one share per column, got {sorted(missing)}"
    assert missing["annual_income"] > 0, "the demo data has unknown incomes; the profile must see them"
    expected = frame.isna().mean()
    for column, share in missing.items():
        assert share == pytest.approx(expected[column]), (
            f"{column}: evidently {share}, pandas {expected[column]}"
        )


def test_target_distribution_sums_to_one_and_matches_pandas(frame, profile):
    distribution = profile.summary["target_distribution"]
    assert sum(distribution.values()) == pytest.approx(1.0), f"shares must sum to 1: {distribution}"
    expected = frame[names.TARGET].value_counts(normalize=True).to_dict()
    assert distribution == pytest.approx(expected), f"evidently {distribution}, pandas {expected}"


def test_missing_labels_are_left_out_of_the_target_distribution(frame):
    holes = frame.head(200).copy()
    holes.loc[holes.index[:20], names.TARGET] = np.nan
    summary = profile_dataset(holes, names.TARGET, names.ID).summary
    distribution = summary["target_distribution"]
    expected = holes[names.TARGET].value_counts(normalize=True).to_dict()  # pandas drops NaN too
    assert distribution == pytest.approx(expected), (
        f"shares among labelled rows: {distribution} vs {expected}"
    )
    assert summary["missing_share"][names.TARGET] == pytest.approx(0.1), "20 of 200 labels are missing"


def test_columns_are_declared_by_role(frame, profile):
    summary = profile.summary
    assert "annual_income" in summary["numeric_columns"], summary["numeric_columns"]
    assert {"region", names.TARGET} <= set(summary["categorical_columns"]), summary["categorical_columns"]
    declared = summary["numeric_columns"] + summary["categorical_columns"]
    assert names.ID not in declared, "the id column is an id, neither numeric nor categorical"
    assert sorted(declared) == sorted(c for c in frame.columns if c != names.ID), (
        "every other column declared"
    )


def test_summary_survives_a_json_round_trip(profile):
    assert json.loads(json.dumps(profile.summary)) == profile.summary, "summary must be plain JSON data"


def test_html_is_evidently_s_standalone_report(frame, profile):
    page = profile.html.strip()
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>"), page[:200]
    assert len(page) > 100_000, f"Evidently's report embeds its viewer; got only {len(page)} characters"
    missing = [column for column in ("annual_income", "region", names.TARGET) if column not in page]
    assert not missing, f"columns absent from the report: {missing}"


def test_sampling_caps_the_profiled_rows_reproducibly(frame):
    first = profile_dataset(frame, names.TARGET, names.ID, sample_rows=120, seed=5).summary
    assert first["sampled_rows"] == 120, f"sample_rows=120 profiled {first['sampled_rows']} rows"
    assert first["rows"] == len(frame), "rows counts the whole table, not the sample"
    again = profile_dataset(frame, names.TARGET, names.ID, sample_rows=120, seed=5).summary
    assert again == first, "the same seed must profile the same rows"


def test_bad_arguments_are_rejected_with_the_offending_values(frame):
    with pytest.raises(ValueError, match=r"column\(s\) \['churned'\] not in the table"):
        profile_dataset(frame, "churned", names.ID)
    with pytest.raises(ValueError, match="sample_rows must be a positive number of rows, got 0"):
        profile_dataset(frame, names.TARGET, None, sample_rows=0)


def test_a_group_column_is_profiled_for_missing_values_only_never_as_a_numeric_feature():
    """statsmodels' modechoice: ``individual`` numbers the travellers whose four rows belong
    together (data.group_column); its mean or histogram means nothing, so it is not declared
    numeric, as the id is not, and its missing values are still counted."""
    import statsmodels.api as sm

    table = sm.datasets.modechoice.load_pandas().data.assign(
        choice=lambda t: t["choice"].map({1: "yes", 0: "no"}), row=lambda t: range(len(t))
    )
    summary = profile_dataset(table, "choice", "row", group_column="individual").summary
    assert "individual" not in summary["numeric_columns"] + summary["categorical_columns"], summary
    assert {"mode", "ttme", "hinc"} <= set(summary["numeric_columns"]), summary["numeric_columns"]
    assert summary["missing_share"]["individual"] == 0.0, summary["missing_share"]
    with pytest.raises(ValueError, match=r"column\(s\) \['traveller'\] not in the table"):
        profile_dataset(table, "choice", "row", group_column="traveller")


def test_a_column_without_values_is_profiled_for_its_missing_values_only_without_a_warning():
    """statsmodels' `fertility`: '2012' and '2013' hold no value (an export's empty columns, which
    features.drop keeps from the model). Evidently divided by their zero values ("RuntimeWarning:
    invalid value encountered in scalar divide", twice in every training run): they are counted
    missing, every row of them, and profiled for nothing else."""
    import warnings

    import statsmodels.api as sm

    table = sm.datasets.fertility.load_pandas().data.drop(columns=["Indicator Name", "Indicator Code"])
    table["high"] = np.where(table["2011"] > 2.1, "yes", "no")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        summary = profile_dataset(table, "high", "Country Code").summary
    assert summary["empty_columns"] == ["2012", "2013"], summary["empty_columns"]
    assert summary["missing_share"]["2012"] == summary["missing_share"]["2013"] == 1.0, summary
    assert "2012" not in summary["numeric_columns"] and "2011" in summary["numeric_columns"], summary


def test_a_sql_date_column_read_as_python_dates_is_profiled_for_its_missing_values():
    """A PostgreSQL DATE column reads into pandas as `datetime.date` objects (dtype object), not
    datetime64. Profiled as a category, Evidently failed on it ("2 validation errors for
    ByLabelCountValue ... ufunc 'isnan' not supported") and every training run with such a
    column stopped in `profile_data`. statsmodels' `fair`, with the survey's dates so read."""
    import datetime

    import statsmodels.api as sm

    table = sm.datasets.fair.load_pandas().data
    table["affair"] = np.where(table["affairs"] > 0, "yes", "no")
    days = [datetime.date(1974, 1 + row % 9, 10 + row % 9) for row in range(len(table))]
    table["surveyed_on"] = [None if row % 50 == 0 else day for row, day in enumerate(days)]
    table["stamped_at"] = [datetime.datetime(1974, 5, 1, 12, row % 60) for row in range(len(table))]
    summary = profile_dataset(table.drop(columns="affairs"), "affair", None).summary
    assert summary["datetime_columns"] == ["surveyed_on", "stamped_at"], summary["datetime_columns"]
    assert summary["missing_share"]["surveyed_on"] == 128 / len(table), summary["missing_share"]
    assert "rate_marriage" in summary["numeric_columns"], summary
