from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels
import statsmodels.api as sm

from ml import names
from ml.features import infer_schema
from ml.promotion import candidates_from, decide
from ml.proxies import PROXY_NOTE_ASSOCIATION, association, sensitive_proxies, with_proxies
from ml.settings import DataSettings, PromotionSettings, SplitSettings
from ml.training import split_dataset

RACD = Path(statsmodels.__file__).parent / "sandbox/regression/tests/racd10data_with_transformed.csv"


def _split(table: pd.DataFrame, target: str, positive: str, negative: str, sensitive: tuple[str, ...]):
    table = table.assign(**{target: table[target].astype(str)})
    split = split_dataset(table, target, SplitSettings(), seed=42)
    data = DataSettings(
        source="csv", path="t.csv", target_column=target, positive_label=positive, id_column=""
    )
    columns = [c for c in table.columns if c != target and c not in sensitive]
    return split, infer_schema(split.train, columns, data, negative)


def _racd() -> pd.DataFrame:
    """statsmodels' racd10 (3,629 US elderly, 2003), the visit counts the label is cut from dropped,
    with columns a user's table often holds beside a sensitive one: a title that says the sex, the
    sex as a number, the age in bands, and a ticket number of its own per row."""
    table = pd.read_csv(RACD).drop(columns=["physician", "docvis", "ldocvis", "ldocvisa"])
    table["title"] = np.where(table["female"] == 1, np.where(table.index % 3 == 0, "Ms", "Mrs"), "Mr")
    table["is_woman"] = table["female"].astype(float)
    table["age_band"] = pd.cut(table["age"], [0, 70, 75, 80, 85, 200]).astype(str)
    table["ticket"] = [f"T{i}" for i in np.random.default_rng(0).permutation(len(table))]
    return table


def test_inputs_that_carry_a_sensitive_column_the_model_is_not_given_are_found_and_only_they():
    """racd10 holds age and also age2 (its square), aget (age / 20) and aget2: the model "not given
    age" decides by it all the same. Each of them, the age bands (a category, by its train mean)
    and, for the sex, the title and the sex as a number are found; education, income and a
    one-per-row ticket (each of its categories pure, but only in the rows it was learnt on) are not."""
    split, schema = _split(_racd(), "docbin", "0", "1", ("female", "age"))
    found = sensitive_proxies(split.train, split.test, schema, ("female", "age"), seed=0)
    assert {column: sorted(inputs) for column, inputs in found.items()} == {
        "female": ["is_woman", "title"],
        "age": ["age2", "age_band", "aget", "aget2"],
    }, found
    assert all(value >= PROXY_NOTE_ASSOCIATION for inputs in found.values() for value in inputs.values())
    assert found["age"]["age2"] == 1.0 and list(found["age"])[-1] == "age_band", found  # strongest first
    for feature, sensitive in (
        ("ticket", "female"),
        ("ticket", "age"),
        ("educyr", "female"),
        ("income", "age"),
    ):
        value = association(split.train, split.test, feature, sensitive, feature in schema.categorical, 0)
        assert value < 0.3, (feature, sensitive, value)
    given = sensitive_proxies(split.train, split.test, schema, ("female", "age", "educyr"), seed=0)
    assert "educyr" not in given, "a sensitive column the model takes has nothing standing in for it"


@pytest.mark.parametrize(
    ("name", "sensitive"),
    [("fair", ("age", "religious")), ("anes96", ("age", "educ")), ("births", ("mrace",))],
)
def test_correlated_inputs_that_do_not_carry_the_sensitive_column_are_not_noted(name, sensitive):
    """Tables that are not ours: fair's years married follow age (0.87), births' father's race the
    mother's (0.90), anes96's income education: related, not stand-ins; nothing is noted."""
    if name == "fair":
        table = sm.datasets.fair.load_pandas().data
        table["target"] = np.where(table.pop("affairs") > 0, "yes", "no")
    elif name == "anes96":
        table = (
            sm.datasets.anes96.load_pandas()
            .data.drop(columns=["logpopul"])
            .rename(columns={"vote": "target"})
        )
        table["target"] = np.where(table["target"] > 0, "yes", "no")
    else:
        path = Path(sm.__file__).parent / "treatment/tests/results/cataneo2.csv"
        table = pd.read_csv(path).drop(columns=["bweight"]).rename(columns={"lbweight": "target"})
        table["target"] = np.where(table["target"] > 0, "yes", "no")
    split, schema = _split(table, "target", "yes", "no", sensitive)
    assert sensitive_proxies(split.train, split.test, schema, sensitive, seed=0) == {}
    strongest = max(
        association(split.train, split.test, f, s, f in schema.categorical, 0)
        for f in schema.names
        for s in sensitive
    )
    assert 0.3 < strongest < PROXY_NOTE_ASSOCIATION, strongest


def test_a_proxy_note_reaches_the_promotion_decision_naming_the_inputs_and_the_fix():
    """The note follows the fairness record into the decision (reported, never judged)."""
    split, schema = _split(
        _racd().drop(columns=["title", "is_woman", "age_band"]), "docbin", "0", "1", ("age",)
    )
    found = sensitive_proxies(split.train, split.test, schema, ("age",), seed=0)
    record = with_proxies({"violations": [], "notes": ["an earlier note"]}, found)
    assert record[names.SENSITIVE_PROXIES] == found and record["notes"][0] == "an earlier note", record
    metrics = {"precision": 0.33, "roc_auc": 0.8, names.BASELINE_PRECISION: 0.107}
    (candidate,) = candidates_from(metrics, record, None, "precision")
    decision = decide([candidate], "precision", PromotionSettings(min_metric_support=None), None)
    assert decision.stage == "production", decision  # a note does not block
    (note,) = [r for r in decision.reasons if "stand in for" in r]
    assert note.startswith(
        "fairness note: model inputs 'age2' (1.000), 'aget' (1.000), 'aget2' (1.000) stand in for the"
        " sensitive column 'age' (association on the test split, 1 = determined by it): the model decides"
        " by 'age' through them though features.use_sensitive_features is false; drop them"
        " (features.drop: ['age2', 'aget', 'aget2'] in configs/training.yaml) unless that is intended"
    ), note


def test_missing_and_infinite_values_neither_fail_nor_fake_a_proxy():
    """A sensitive column with missing values (a group of its own), numeric inputs with infinities
    and gaps or with no value at all, and categories the train split never saw."""
    rng = np.random.default_rng(3)
    rows = 600
    sex = pd.Series(rng.choice(["f", "m", None], rows))
    noise = rng.normal(size=rows)
    noise[rng.random(rows) < 0.2], noise[:5] = np.nan, np.inf
    frame = pd.DataFrame(
        {
            "sex": sex,
            "copy": sex.map({"f": 1.0, "m": 0.0}).fillna(-1.0),  # the sex, missing written as -1
            "noise": noise,
            "empty": np.nan,
            "shop": [f"s{i}" for i in range(rows)],  # a category per row: none of test's seen in train
        }
    )
    train, test = frame.iloc[:400], frame.iloc[400:]
    cases = {"copy": (False, True), "noise": (False, False), "empty": (False, False), "shop": (True, False)}
    for feature, (categorical, strong) in cases.items():
        value = association(train, test, feature, "sex", categorical, 0)
        assert (value >= PROXY_NOTE_ASSOCIATION) == strong and 0 <= value <= 1, (feature, value)
