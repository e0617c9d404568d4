from datetime import date

import pandas as pd
import pytest

from ml import names
from ml.features import FeatureSchema, build_customer_features, feature_columns, infer_schema
from ml.settings import DataSettings, FeatureSettings


@pytest.fixture
def tables():
    customers = pd.DataFrame(
        {
            names.ID: [1, 2, 3],
            "gender": ["female", "male", "female"],
            "age": [30, 40, 50],
            "region": ["north", "south", "north"],
            names.TARGET: ["good", "bad", "good"],
        }
    )
    sales = pd.DataFrame(
        {
            "sale_id": [1, 2, 3],
            names.ID: [1, 1, 2],
            "sale_date": pd.to_datetime(["2025-12-01", "2025-06-01", "2025-12-30"]),
            "amount": [10.0, 30.0, 5.0],
            "channel": ["online", "store", "online"],
            "returned": [False, True, False],
            "days_late": [0, 10, 0],
        }
    )
    return customers, sales


def test_aggregates_are_computed_per_customer(tables):
    out = build_customer_features(*tables, as_of=date(2026, 1, 1)).set_index(names.ID)
    assert out.loc[1, "n_orders"] == 2, "customer 1 has two sales"
    assert out.loc[1, "total_amount"] == 40.0 and out.loc[1, "avg_amount"] == 20.0
    assert out.loc[1, "return_rate"] == 0.5 and out.loc[1, "late_payment_rate"] == 0.5
    assert out.loc[1, "avg_days_late"] == 5.0
    assert out.loc[1, "days_since_last_order"] == 31, "1 Dec 2025 is 31 days before 1 Jan 2026"
    assert out.loc[1, "orders_last_90d"] == 1, "only the December sale is within 90 days"
    assert out.loc[2, "online_share"] == 1.0


def test_customer_without_sales_gets_zero_counts_and_missing_rates(tables):
    out = build_customer_features(*tables, as_of=date(2026, 1, 1)).set_index(names.ID)
    assert out.loc[3, "n_orders"] == 0 and out.loc[3, "total_amount"] == 0
    assert pd.isna(out.loc[3, "return_rate"]), "a rate over zero orders is unknown, not zero"
    assert len(out) == 3, "every customer keeps exactly one row"


def test_flat_table_passes_through_unchanged(tables):
    customers, _ = tables
    assert build_customer_features(customers, pd.DataFrame()).equals(customers)


def test_sensitive_id_and_target_columns_are_not_features(tables):
    frame = build_customer_features(*tables)
    columns = feature_columns(frame, DataSettings(), FeatureSettings())
    for excluded in (names.ID, names.TARGET, "gender", "age"):
        assert excluded not in columns, f"{excluded} must not be a model input"
    assert "region" in columns and "n_orders" in columns


def test_flag_lets_sensitive_columns_in(tables):
    frame = build_customer_features(*tables)
    columns = feature_columns(frame, DataSettings(), FeatureSettings(use_sensitive_features=True))
    assert {"gender", "age"} <= set(columns), "use_sensitive_features=true should keep them"


def test_schema_round_trips_and_records_ranges(tables):
    frame = build_customer_features(*tables)
    schema = infer_schema(frame, ["region", "n_orders"], DataSettings(), names.BAD)
    assert schema.categorical == ["region"] and schema.numeric == ["n_orders"]
    assert schema.features[0].categories == ("north", "south")
    assert (schema.features[1].minimum, schema.features[1].maximum) == (0.0, 2.0)
    assert FeatureSchema.from_dict(schema.to_dict()) == schema, "schema must survive to/from dict"


def test_features_keep_the_customers_order_and_index_whatever_their_index(tables):
    customers, sales = tables
    shuffled = customers.iloc[[2, 0, 1]].set_index(pd.Index([10, 20, 30]))
    out = build_customer_features(shuffled, sales, date(2026, 1, 1))
    assert out[names.ID].tolist() == [3, 1, 2], "one row per customer, in the customers' order"
    assert out.index.tolist() == [0, 1, 2]
    assert out["n_orders"].tolist() == [0, 2, 1]
    assert out["region"].tolist() == ["north", "north", "south"], "customer columns travel with their row"


def test_ids_of_different_types_in_the_two_tables_are_refused_by_name(tables):
    customers, sales = tables
    with pytest.raises(ValueError, match=r"'customer_id' is int64 in customers but object in sales"):
        build_customer_features(customers, sales.astype({names.ID: str}), date(2026, 1, 1))
