"""Feature engineering and the feature schema, shared by training, batch scoring and serving."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from ml import names
from ml.settings import DataSettings, FeatureSettings

SALES_FEATURES = (
    "n_orders",
    "total_amount",
    "avg_amount",
    "return_rate",
    "late_payment_rate",
    "avg_days_late",
    "days_since_last_order",
    "online_share",
    "orders_last_90d",
)


def build_customer_features(
    customers: pd.DataFrame, sales: pd.DataFrame, as_of: date | None = None
) -> pd.DataFrame:
    """Join customer-level aggregates of ``sales`` onto ``customers`` (one row per customer).

    Customers without sales get zero counts and missing rates. ``as_of`` (default: the day after
    the last sale) anchors recency features, so the same tables always give the same features.
    """
    if sales.empty:
        return customers.copy()
    sale_date = pd.to_datetime(sales["sale_date"])
    anchor = pd.Timestamp(as_of) if as_of is not None else sale_date.max() + pd.Timedelta(days=1)
    used = [names.ID, "sale_id", "amount", "returned", "days_late"]
    work = pd.DataFrame(  # just the columns aggregated, without copying them (sales can be millions)
        {
            **{column: sales[column] for column in used},
            "_late": sales["days_late"] > 0,
            "_online": sales["channel"] == "online",
            "_recent": sale_date >= anchor - pd.Timedelta(days=90),
            "_last": sale_date,  # days since the last order: from each customer's latest date
        },
        copy=False,
    )
    agg = work.groupby(names.ID, sort=False).agg(  # unsorted: the reindex below puts them in order
        n_orders=("sale_id", "size"),
        total_amount=("amount", "sum"),
        avg_amount=("amount", "mean"),
        return_rate=("returned", "mean"),
        late_payment_rate=("_late", "mean"),
        avg_days_late=("days_late", "mean"),
        days_since_last_order=("_last", "max"),
        online_share=("_online", "mean"),
        orders_last_90d=("_recent", "sum"),
    )
    ids = customers[names.ID]
    if is_numeric(ids) != is_numeric(agg.index.to_series()):  # a join would never match: say so
        raise ValueError(
            f"{names.ID!r} is {ids.dtype} in customers but {sales[names.ID].dtype} in sales; "
            "read both with the same type so that sales can be matched to their customers"
        )
    agg["days_since_last_order"] = (anchor - agg["days_since_last_order"]).dt.days
    per_customer = agg.reindex(ids.to_numpy())  # a left join: no sales, NaN
    counts = ["n_orders", "total_amount", "orders_last_90d"]
    per_customer[counts] = per_customer[counts].fillna(0)
    per_customer[["n_orders", "orders_last_90d"]] = per_customer[["n_orders", "orders_last_90d"]].astype(
        "int64"
    )
    rates = ["return_rate", "late_payment_rate", "online_share", "avg_amount", "avg_days_late"]
    per_customer[rates] = per_customer[rates].astype("float64").round(6)
    out = customers.reset_index(drop=True)  # a copy, indexed 0..n-1 as a merge's result is
    for column in per_customer:  # column by column: a merge would also copy the aggregates again
        out[column] = per_customer[column].to_numpy()
    return out


def feature_columns(frame: pd.DataFrame, data: DataSettings, features: FeatureSettings) -> list[str]:
    """The model's input columns: everything but target, id, group, dropped and (by default) sensitive."""
    excluded = {data.target_column, *features.drop}
    excluded.update(column for column in (data.id_column, data.group_column) if column)
    if not features.use_sensitive_features:
        excluded.update(data.sensitive_features)
    return [column for column in frame.columns if column not in excluded]


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    kind: Literal["numeric", "categorical"]
    minimum: float | None = None
    maximum: float | None = None
    categories: tuple[str, ...] = ()
    nullable: bool = True
    # numbers the source writes for "not known" (data.missing_values): read as missing everywhere
    missing_markers: tuple[float, ...] = ()
    # categories of the table that the training split lacks (a rare one that fell in the test split):
    # served, and scored as missing values, as batch scoring scores them
    untrained_categories: tuple[str, ...] = ()
    # the training split lacked a value somewhere, so the model learnt where a missing one goes;
    # ``nullable`` (any split) without it: served, and read as LightGBM reads a missing number it
    # never saw missing (as 0). None in schemas kept before: ``nullable`` then
    missing_learnt: bool | None = None

    @property
    def learnt_missing(self) -> bool:
        return self.nullable if self.missing_learnt is None else self.missing_learnt


@dataclass(frozen=True)
class FeatureSchema:
    """What the model expects: names, kinds, observed ranges and categories, in column order. The
    ranges, missing values and ``untrained_categories`` are the whole table's (every split), the values
    the service accepts; ``categories`` and ``missing_learnt`` are the training split's, what the
    model learnt."""

    features: tuple[FeatureSpec, ...]
    id_column: str | None = None
    target_column: str = names.TARGET
    positive_label: str = names.GOOD
    negative_label: str = names.BAD
    extra: dict[str, str] = field(default_factory=dict)
    # data.sensitive_features the model does not take as features: a record sending one is told why
    sensitive_features: tuple[str, ...] = ()
    # the training table's other columns the model does not take (features.drop, data.group_column):
    # a record sending one is told why (none in versions trained before they were kept)
    unused_columns: tuple[str, ...] = ()
    # the numeric ones of sensitive_features: the table's (low, high), which the service accepts where
    # a fairness-mitigated release picks a group's threshold by them (none before they were kept)
    sensitive_ranges: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [spec.name for spec in self.features]

    @property
    def categorical(self) -> list[str]:
        return [spec.name for spec in self.features if spec.kind == "categorical"]

    @property
    def numeric(self) -> list[str]:
        return [spec.name for spec in self.features if spec.kind == "numeric"]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> FeatureSchema:
        specs = tuple(
            FeatureSpec(
                **{
                    **spec,
                    "categories": tuple(spec.get("categories", ())),
                    "missing_markers": tuple(spec.get("missing_markers", ())),  # none before they were kept
                    "untrained_categories": tuple(spec.get("untrained_categories", ())),
                }
            )
            for spec in raw["features"]
        )
        sensitive = tuple(raw.get("sensitive_features", ()))  # none before they were kept
        unused = tuple(raw.get("unused_columns", ()))
        ranges = {column: tuple(pair) for column, pair in raw.get("sensitive_ranges", {}).items()}
        return cls(
            **{
                **raw,
                "features": specs,
                "sensitive_features": sensitive,
                "unused_columns": unused,
                "sensitive_ranges": ranges,
            }
        )


def is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def infer_schema(
    frame: pd.DataFrame,
    columns: list[str],
    data: DataSettings,
    negative_label: str,
    others: Sequence[pd.DataFrame] = (),
    facts: dict | None = None,
) -> FeatureSchema:
    """The schema of a model trained on ``frame`` (its categories). ``frame`` and ``others``, the
    other splits of the table the model comes from, give the ranges, the missing values and the
    categories the service accepts, so each of its rows is served: a convertible only in the test
    split was a 400, and no deployment passed its smoke test. (Read split by split: no copy of
    the table.) ``facts`` (names.SPLIT_FACTS), where the splits are samples (training on Dask):
    the rows without a value of every split by column, ``{"missing": {split: {column: n}}}``, and
    the ranges of every row, ``{"ranges": {column: [low, high]}}``, which the samples' give way to."""
    parts = [frame, *others]
    specs = []
    markers = marker_numbers(data.missing_values)
    facts = facts or {}  # counted on every row, the samples among them: it replaces what they say
    whole_ranges, missing = facts.get("ranges", {}), facts.get("missing")

    def value_range(column: str) -> tuple[float, float]:
        return tuple(whole_ranges[column]) if column in whole_ranges else table_range(parts, column)

    for column in columns:
        series = frame[column]
        if missing is None:
            learnt = bool(series.isna().any())
            nullable = learnt or any(bool(part[column].isna().any()) for part in others)
        else:
            learnt = missing.get("train", {}).get(column, 0) > 0
            nullable = any(counts.get(column, 0) > 0 for counts in missing.values())
        if is_numeric(series):
            low, high = value_range(column)
            specs.append(FeatureSpec(column, "numeric", low, high, (), nullable, markers, (), learnt))
        else:
            categories = tuple(sorted(str(v) for v in series.dropna().unique()))
            seen = set().union(*(map(str, part[column].dropna().unique()) for part in others))
            untrained = tuple(sorted(seen - set(categories)))
            specs.append(
                FeatureSpec(column, "categorical", None, None, categories, nullable, (), untrained, learnt)
            )
    sensitive = tuple(column for column in data.sensitive_features if column not in columns)
    ranges = {
        column: value_range(column)
        for column in sensitive
        if column in frame and is_numeric(frame[column]) and any(part[column].notna().any() for part in parts)
    }
    named = {*columns, *sensitive, data.id_column, data.target_column}
    return FeatureSchema(
        tuple(specs),
        data.id_column,
        data.target_column,
        data.positive_label,
        negative_label,
        sensitive_features=sensitive,
        unused_columns=tuple(column for column in frame.columns if column not in named),
        sensitive_ranges=ranges,
    )


def table_range(parts: Sequence[pd.DataFrame], column: str) -> tuple[float, float]:
    """(low, high) of the numeric ``column`` over the table's splits ``parts``: pandas' min and max
    skip missing values (NaN for a split holding none), nanmin and nanmax skip those splits."""
    low = float(np.nanmin([part[column].min() for part in parts]))
    high = float(np.nanmax([part[column].max() for part in parts]))
    return low, high


def marker_numbers(markers: tuple[str, ...]) -> tuple[float, ...]:
    """The values of ``data.missing_values`` that are numbers (-1, 999): the numeric columns' markers."""
    numbers = pd.to_numeric(pd.Series(markers, dtype=object), errors="coerce")
    return tuple(float(n) for n in numbers if np.isfinite(n))


def binary_target(series: pd.Series, positive_label: str) -> np.ndarray:
    """1 where the target equals the positive label (compared as text), else 0."""
    return (series.astype(str) == str(positive_label)).to_numpy(dtype=np.int64)
