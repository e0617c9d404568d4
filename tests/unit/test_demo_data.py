import numpy as np
import pytest

from ml import names
from ml.data.demo import generate_demo


def test_same_seed_gives_identical_tables():
    first, second = generate_demo(customers=300, seed=7), generate_demo(customers=300, seed=7)
    assert first.customers.equals(second.customers), "customers differ for the same seed"
    assert first.sales.equals(second.sales), "sales differ for the same seed"


def test_other_seed_gives_other_tables():
    assert not generate_demo(customers=300, seed=1).customers.equals(
        generate_demo(customers=300, seed=2).customers
    ), "two seeds produced the same customers"


def test_tables_have_the_documented_shape():
    tables = generate_demo(customers=500)
    assert len(tables.customers) == 500, "one row per customer expected"
    assert tables.customers[names.ID].is_unique, "customer ids must be unique"
    assert set(tables.sales[names.ID]) <= set(tables.customers[names.ID]), "sales of unknown customers"
    assert len(tables.sales) > 3 * len(tables.customers), "expected many sales rows per customer"
    assert set(tables.customers[names.TARGET]) == {names.GOOD, names.BAD}, "labels must be good/bad"
    assert tables.customers["annual_income"].isna().any(), "the demo should contain missing values"


def test_label_is_balanced_but_not_trivial():
    share_good = (generate_demo(customers=5000).customers[names.TARGET] == names.GOOD).mean()
    assert 0.5 < share_good < 0.8, f"share of good customers {share_good:.2f} outside (0.5, 0.8)"


def test_bias_knob_lowers_good_rate_of_women_only():
    plain = generate_demo(customers=5000, bias=0.0).customers
    biased = generate_demo(customers=5000, bias=0.5).customers

    def good_rate(frame, gender):
        return (frame.loc[frame.gender == gender, names.TARGET] == names.GOOD).mean()

    assert good_rate(biased, "female") < 0.7 * good_rate(plain, "female"), "bias did not skew women"
    assert good_rate(biased, "male") == good_rate(plain, "male"), "bias must not touch men"


def test_drift_knob_shifts_distributions():
    plain = generate_demo(customers=3000, drift=0.0)
    drifted = generate_demo(customers=3000, drift=1.0)
    assert drifted.customers.age.mean() > plain.customers.age.mean() + 5, "age did not shift"
    assert np.log(drifted.sales.amount).mean() > np.log(plain.sales.amount).mean() + 0.2, "amounts"


@pytest.mark.parametrize("kwargs", [{"customers": 0}, {"drift": 1.5}, {"bias": -0.1}])
def test_bad_knobs_are_rejected(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        generate_demo(**kwargs)
