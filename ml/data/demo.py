"""Seeded generator of the demo master data: a ``customers`` table and a ``sales`` table.

Each customer has a hidden reliability score driven by tenure, income, segment, region and signup
channel (not by the sensitive attributes gender and age). It drives the behaviour recorded in the
sales table (how often they buy, return goods, pay late) and, with noise, the good/bad label. The
label is therefore learnable from customer-level aggregates of the sales, yet not separable: the
noise caps what any model can reach.

Knobs: ``drift`` shifts distributions (older, richer, more online, bigger baskets) for monitoring
work; ``bias`` flips a share of the good labels of women to bad, a skewed history for the fairness
gate to catch. The same arguments always give the same tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from ml import names

REGIONS = ("north", "south", "east", "west", "central")
SEGMENTS = ("retail", "smb", "corporate")
GENDERS = ("female", "male", "nonbinary")
CHANNELS = ("online", "store", "phone")
HISTORY_DAYS = 730


@dataclass(frozen=True)
class DemoTables:
    customers: pd.DataFrame
    sales: pd.DataFrame


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))`` written over ``x`` (a fresh array): no temporaries the size of the sales."""
    np.negative(x, out=x)
    np.exp(x, out=x)
    x += 1.0
    return np.divide(1.0, x, out=x)


def _pick(rng: np.random.Generator, values: tuple[str, ...], size: int, p: tuple[float, ...]) -> np.ndarray:
    """``rng.choice(values, size, p=p)`` (the same draws), as an object array of the shared str
    objects: pandas would otherwise turn numpy's fixed-width text into a new str per row."""
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=size, p=p)]


def generate_demo(
    customers: int = 10_000,
    seed: int = 42,
    drift: float = 0.0,
    bias: float = 0.0,
    as_of: date = date(2026, 1, 1),
    first_id: int = 1,
) -> DemoTables:
    """Return the demo ``customers`` and ``sales`` tables for these knobs (deterministic); customer ids
    run from ``first_id`` (a partition of a larger batch starts where the one before it ended)."""
    if customers < 1:
        raise ValueError(f"customers must be a positive count, got {customers}")
    for knob, value in (("drift", drift), ("bias", bias)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{knob} must be within [0, 1], got {value}")
    rng = np.random.default_rng(seed)
    n = customers

    gender = _pick(rng, GENDERS, n, (0.49, 0.49, 0.02))
    age = np.clip(rng.normal(42 + 8 * drift, 13, n), 18, 90).round().astype(int)
    region = _pick(rng, REGIONS, n, (0.25, 0.2, 0.2, 0.2, 0.15))
    segment = _pick(rng, SEGMENTS, n, (0.7, 0.22, 0.08))
    tenure = np.clip(rng.gamma(2.0, 18.0, n), 0, 240).round().astype(int)
    income = np.round(rng.lognormal(10.6 + 0.35 * drift, 0.5, n), -2)
    # ~4% of incomes unknown: real tables have holes.
    income = np.where(rng.random(n) < 0.04, np.nan, income)
    signup = _pick(rng, ("web", "branch", "partner"), n, (0.5 - 0.3 * drift, 0.35, 0.15 + 0.3 * drift))

    income_z = (np.log(np.nan_to_num(income, nan=np.exp(10.6))) - 10.6) / 0.5
    reliability = (
        0.5 * np.log1p(tenure) / np.log(240)
        + 0.35 * income_z
        + 0.3 * (segment == "corporate")
        - 0.25 * (signup == "partner")
        + 0.25 * (region == "north")
        - 0.2 * (region == "south")
        + rng.normal(0, 0.7, n)
    )

    # Behaviour: order frequency, basket size, returns and late payments follow reliability.
    orders = rng.poisson(np.exp(1.9 + 0.25 * reliability + 0.3 * drift)).clip(0, 200)
    owner = np.repeat(np.arange(n), orders)
    m = owner.size
    r = reliability[owner]
    # Per sale, the arithmetic is done in place (np.add(..., where=) for the 0/1 terms): the same
    # values as the plain expressions, without a dozen temporaries of millions of rows each.
    online_p = np.clip(0.45 + 0.3 * drift, 0, 0.95)
    # CHANNELS' positions; both draws are made for every sale, in this order.
    online, store = rng.random(m) < online_p, rng.random(m) < 0.75
    channel_code = np.where(online, np.int8(0), np.where(store, np.int8(1), np.int8(2)))
    channel = pd.Categorical.from_codes(channel_code, CHANNELS)  # a byte a sale, compared by code
    mean = 0.15 * r
    mean += 3.8
    mean += 0.4 * drift
    np.add(mean, 0.3, out=mean, where=(segment != "retail")[owner])
    amount = np.round(rng.lognormal(mean, 0.6), 2, out=mean)
    x = 0.6 * r
    np.subtract(-2.4, x, out=x)
    np.add(x, 0.4, out=x, where=online)
    returned = rng.random(m) < _sigmoid(x)
    np.multiply(1.1, r, out=x)
    np.subtract(-1.8, x, out=x)
    late = rng.random(m) < _sigmoid(x)
    del x
    days_late = np.round(rng.gamma(1.5, 12.0, m)).astype(np.int64)
    days_late += 1
    days_late *= late
    days_ago = rng.integers(0, HISTORY_DAYS, m)
    np.floor_divide(days_ago, 2, out=days_ago, where=~(r > 0))
    # Whole days before as_of, in numpy's day unit (pandas' to_timedelta checks each value: 10x slower).
    sale_date = (np.datetime64(as_of, "D") - days_ago.view("timedelta64[D]")).astype("datetime64[ns]")

    late_rate = np.bincount(owner, weights=late, minlength=n) / np.maximum(orders, 1)
    score = 1.3 * reliability - 2.2 * late_rate + rng.normal(0, 0.9, n) + 0.45
    good = rng.random(n) < _sigmoid(2.2 * score)
    if bias > 0:
        flip = (gender == "female") & good & (rng.random(n) < bias)
        good = good & ~flip

    ids = np.arange(first_id, first_id + n)
    customers_df = pd.DataFrame(
        {
            names.ID: ids,
            "gender": gender,
            "age": age,
            "region": region,
            "segment": segment,
            "signup_channel": signup,
            "tenure_months": tenure,
            "annual_income": income,
            names.TARGET: np.asarray((names.BAD, names.GOOD), dtype=object)[good.astype(int)],
        },
        copy=False,  # fresh arrays: no copy into consolidated blocks
    )
    sales_df = pd.DataFrame(
        {
            "sale_id": np.arange(1, m + 1),
            names.ID: ids[owner],
            "sale_date": sale_date,
            "amount": amount,
            "channel": channel,
            "returned": returned,
            "days_late": days_late,
        },
        copy=False,
    )
    return DemoTables(customers_df, sales_df)


def history_start(as_of: date) -> date:
    """First day covered by the generated sales history."""
    return as_of - timedelta(days=HISTORY_DAYS)
