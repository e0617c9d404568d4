"""One release contract: what training decides is what every consumer of the model uses.

For non-default configurations (a fairness-mitigated LightGBM release at a 0.4 threshold; a logistic
regression at a 0.65 threshold trained from a CSV without an id column; a table that is not ours,
statsmodels' `fair`, as a CSV with text ids, its own target and labels, a numeric sensitive column and
occupation codes declared categorical; another, `anes96`, as a SQL table without ids whose target is
stored as REAL 0.0/1.0; `cataneo2`'s births as a gzip-compressed CSV, low birth weight a 6 % label the
model decides on at its best-F1 threshold, `decision_threshold: max_f1`), the same rows get the same
probability and the same label in the evaluation
of the test split, in the nightly scores table, from `/predict` on a real server, and in the
monitoring step's decisions.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from sklearn.metrics import confusion_matrix

from adapters.scores_db import read_scores
from bentos import local_server
from ml import names
from ml.scoring import score_key
from ml.settings import ProjectSettings, load_settings
from ml.support import SUPPORT_TEXT
from tests.e2e.harness import (
    MODEL_NAME,
    PROJECT_ROOT,
    csv_project_config,
    demo_stack,
    must,
    notebook_text,
    run_cli,
    run_json,
    run_notebook,
    user_table_config,
)

pytestmark = pytest.mark.e2e
DAY = "2026-04-01"
LENIENT_FAIRNESS = {"min_demographic_parity_ratio": 0.0, "max_equalized_odds_difference": 1.0}
CONFIGS = {
    "mitigated": {  # biased history: the plain model fails the equalized-odds gate, the mitigated passes
        "demo": {"customers": 4000, "bias": 0.6},
        "training": {
            "decision_threshold": 0.4,
            # point estimates (no bootstrap): on 800 test rows the gender gap is certain only then
            "fairness": {
                "min_demographic_parity_ratio": 0.0,
                "max_equalized_odds_difference": 0.12,
                "bootstrap_samples": 0,
            },
        },
        "artifact": names.MITIGATED_MODEL,
    },
    "logistic_csv_no_id": {
        "csv": {"rows": 3000},
        "training": {
            "decision_threshold": 0.65,
            "model": {"kind": "logistic_regression", "params": {}},
            "fairness": {**LENIENT_FAIRNESS, "mitigation": "none"},
        },
        "monitoring": {"thresholds": {"min_metric": 0.99}},  # an absolute floor above the relative one
        "artifact": names.MODEL,
    },
    "public_fair_csv": {
        "public": "fair",
        # a metric other than precision: selected, gated and monitored on recall
        "training": {"decision_threshold": 0.55, "primary_metric": "recall"},
        "monitoring": {"thresholds": {"max_metric_drop": 0.02}},
        "artifact": names.MODEL,
    },
    "public_births_max_f1": {
        "public": "births",
        # low birth weight, 6 % of births: at 0.5 the model labels almost none positive; max_f1 picks
        # the threshold with the best F1 on the validation split, and the release decides at it
        "training": {
            "decision_threshold": "max_f1",
            "features": {"drop": ["bweight"]},  # the birth weight the label is cut from: leakage
            "fairness": {**LENIENT_FAIRNESS, "mitigation": "none"},
            "promotion": {"min_primary_metric": None},  # precision of a 6 % label: 0.2 is 3x chance
        },
        "artifact": names.MODEL,
    },
    "public_anes96_sql": {
        "public": "anes96",
        "training": {"decision_threshold": 0.45, "fairness": {**LENIENT_FAIRNESS, "mitigation": "none"}},
        # a floor its live precision misses, resting on fewer positive decisions than judged: no breach
        "monitoring": {"thresholds": {"min_metric": 0.99, "min_metric_support": 100_000}},
        "artifact": names.MODEL,
    },
}
# Tables that are not ours, public data sets statsmodels ships, as a user would bring them.
# `fair` (6,366 married women, 1974): whether one had an affair, from her marriage's rating, age,
# years married, children, religiousness, education and both occupations (codes 1-6).
FAIR_CODES = ("occupation", "occupation_husb")


def public_project_config(state, project, name):
    """The project config of a user whose table is a public data set. ``fair``: a CSV with text
    ids, a target of her own (had_affair: yes/no), religiousness (1-4) the sensitive column, the
    occupations declared categorical (codes written as numbers, 1.0-6.0: categories, not an
    order). ``anes96`` (944 voters, 1996): a SQL table (SQLite) without an id column whose target,
    the vote, is stored as REAL 0.0/1.0 (positive_label "1"), age the sensitive column."""
    import statsmodels.api as sm

    if name == "fair":
        table = sm.datasets.fair.load_pandas().data
        table.insert(0, "respondent", [f"R{i:05d}" for i in range(len(table))])
        table["had_affair"] = np.where(table.pop("affairs") > 0, "yes", "no")
        codes = dict.fromkeys(FAIR_CODES, "categorical")
        roles = {"target_column": "had_affair", "positive_label": "no", "id_column": "respondent"}
        return user_table_config(
            state, project, table, "fair.csv", **roles, sensitive_features=["religious"], columns=codes
        )
    if name == "births":  # a gzip-compressed CSV
        table = pd.read_csv(Path(sm.__file__).parent / "treatment/tests/results/cataneo2.csv")
        table.insert(0, "birth", range(1, len(table) + 1))
        roles = {"target_column": "lbweight", "positive_label": "1", "id_column": "birth"}
        # the mother's age sensitive too, as the table has it squared (mage2): mage carries it whole
        return user_table_config(
            state, project, table, "births.csv.gz", **roles, sensitive_features=["mrace", "mage2"]
        )
    url = f"sqlite:///{state / 'anes96.sqlite'}"  # anes96
    engine = sa.create_engine(url)
    sm.datasets.anes96.load_pandas().data.to_sql("voters", engine, index=False)
    engine.dispose()
    raw = yaml.safe_load(project.read_text())
    raw["data"] = {
        "source": "sql",
        "sql_url": url,
        "sql_query": "SELECT * FROM voters",
        "target_column": "vote",
        "positive_label": "1",
        "id_column": "",
        "sensitive_features": ["age"],
    }
    path = state / f"project_{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _training(state, name, changes):
    raw = yaml.safe_load((PROJECT_ROOT / "configs/training.yaml").read_text())
    raw["promotion"]["min_primary_metric"] = 0.5
    for section, value in changes.items():
        raw[section] = {**raw[section], **value} if isinstance(value, dict) else value
    raw["search"] = {"candidates": [{}]}
    path = state / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def released(request, tmp_path_factory):
    """Train with the configuration, score a day, deploy, monitor the same day; then read what the
    production release decides on those rows (tests.e2e.release_probe) and ask the server."""
    name, config = request.param, CONFIGS[request.param]
    state = tmp_path_factory.mktemp(f"release-{name}")
    env, project = demo_stack(state, **config.get("demo", {}))
    if "csv" in config:
        project = csv_project_config(state, project, **config["csv"])
    if "public" in config:
        project = public_project_config(state, project, config["public"])
    training = _training(state, name, config["training"])
    port = local_server.free_port()
    serving = state / "serving.yaml"
    serving.write_text(yaml.safe_dump({"port": port, "smoke_rows": 50}))
    scoring = state / "scoring.yaml"
    scoring.write_text(yaml.safe_dump({"customers": 2000}))
    common = ("--project", str(project))
    trained = must(run_cli(PROJECT_ROOT, env, "train", *common, "--config", training))
    must(run_cli(PROJECT_ROOT, env, "score", *common, "--config", str(scoring), "--date", DAY))
    must(run_cli(PROJECT_ROOT, env, "deploy", *common, "--config", str(serving)))
    try:
        monitor = ("monitor", *common, "--scoring-config", str(scoring), "--date", DAY)
        if "monitoring" in config:
            (state / "monitoring.yaml").write_text(yaml.safe_dump(config["monitoring"]))
            monitor = (*monitor, "--config", str(state / "monitoring.yaml"))
        monitored = must(run_cli(PROJECT_ROOT, env, *monitor, "--defer-retraining")).stdout  # a breach: 0
        probe = run_json([sys.executable, "-m", "tests.e2e.release_probe", MODEL_NAME], PROJECT_ROOT, env)
        url = f"http://127.0.0.1:{port}"
        served = {part: _predict_all(url, probe[part]["records"]) for part in ("test", "scoring")}
        categorical = [f["name"] for f in probe["schema"]["features"] if f["kind"] == "categorical"]
        if categorical:  # a category sent as a number: one that is a code as written, one that is not
            record, column = probe["test"]["records"][0], categorical[0]
            sent = {"number": 2, "fraction": 2.5, "text": "2.0"}
            served["number_for_category"] = (
                column,
                {
                    kind: local_server.http_json(f"{url}/predict", {"records": [{**record, column: value}]})
                    for kind, value in sent.items()
                },
            )
        engine = sa.create_engine(f"sqlite:///{state / 'project' / 'scores.sqlite'}")
        key = score_key(load_settings(str(project), ProjectSettings).data.id_column)  # birth, row_index, ...
        table = read_scores(engine, "customer_scores", date.fromisoformat(DAY), key).set_index(key)
        engine.dispose()
    finally:
        must(run_cli(PROJECT_ROOT, env, "undeploy"))
    train = trained.stdout + trained.stderr
    card = (state / "project" / "reports" / f"model-card-v{probe['record']['version']}.md").read_text()
    explained = notebook_text(run_notebook("03-explain-a-decision.ipynb", env, state, project, training))
    listing = must(run_cli(PROJECT_ROOT, env, "models", *common)).stdout
    must(run_cli(PROJECT_ROOT, env, "brief", *common, "--training-config", training))
    brief = " ".join((state / "project" / "reports" / "brief.md").read_text().split())
    shown = ('print("VERSIONS", versions.to_json(orient="index"))',)  # notebook 02's table of versions
    review = notebook_text(run_notebook("02-review-experiments.ipynb", env, state, project, training, shown))
    reviewed = json.loads(review.split("VERSIONS ", 1)[1].splitlines()[0])
    return {"name": name, "config": config, "probe": probe, "served": served, "table": table, "train": train,
            "monitor": monitored, "card": card, "notebook": explained, "models": listing,
            "reviewed": reviewed, "brief": brief}  # fmt: skip


def _predict_all(url: str, records: list[dict]) -> tuple[dict[int, dict], dict[int, dict]]:
    """/predict on every record: (answers by record index, refusals by record index). A record with a
    value beyond the accepted range (the training range widened by serving's range_margin) gets a
    400 naming it; it is set aside and the rest of its batch sent again."""
    answers: dict[int, dict] = {}
    refused: dict[int, dict] = {}
    pending = list(range(len(records)))
    while pending:
        batch = pending[:500]
        status, body = local_server.http_json(f"{url}/predict", {"records": [records[i] for i in batch]})
        if status == 400:
            out = [d for d in body["detail"] if d["type"] == "out_of_range"]
            assert out and len(out) == len(body["detail"]), f"only range refusals expected: {body}"
            refused.update({batch[d["loc"][1]]: d for d in out})
            pending = [i for i in pending if i not in refused]
            continue
        assert status == 200, (status, body)
        answers.update(zip(batch, body, strict=True))
        pending = pending[len(batch) :]
    return answers, refused


def _in_order(table, ids):
    """The scores table's rows (indexed by its key) in the order of ``ids`` (the table keeps ids as text)."""
    return table.loc[[str(i) for i in ids]]


def _labels(released, decisions):
    """The release's labels of ``decisions`` (the project's own: good/bad, yes/no, ...)."""
    schema = released["probe"]["schema"]
    return [schema["positive_label"] if d else schema["negative_label"] for d in decisions]


def test_the_release_records_the_configured_threshold_and_candidate(released):
    """The threshold configured, or with max_f1 the one chosen on the validation split for the
    selected candidate, at which training evaluated it (and every consumer decides)."""
    record, config = released["probe"]["record"], released["config"]
    configured, search = config["training"]["decision_threshold"], released["probe"]["search_results"]
    assert record["decision_threshold"] == search[names.DECISION_THRESHOLD], (record, search)
    if configured == "max_f1":
        (candidate,) = search["candidates"]
        assert (
            0 < record["decision_threshold"] < 0.5
            and candidate[names.DECISION_THRESHOLD] == (record["decision_threshold"])
        ), (record, candidate)
        matrix = released["probe"]["recorded_confusion_matrix"]
        assert matrix[0][1] + matrix[1][1] >= 30, f"at 0.5 two rows were labelled positive: {matrix}"
    else:
        assert record["decision_threshold"] == configured, record
    assert record["artifact"] == config["artifact"], record
    expected_kind = config["training"].get("model", {}).get("kind", "lightgbm")
    assert record["model_kind"] == expected_kind, record
    assert record["bento_tag"] == f"{MODEL_NAME}:v{record['version']}-{record['identity']}", record
    reference = record["code_reference"]
    assert reference["git_commit"] is None or len(reference["git_commit"]) == 40, reference
    assert len(reference["config_sha256"]) == 64, reference


def test_monitoring_judged_the_releases_metric_live_against_the_floor_of_this_release(released):
    """The live check judges the release's primary metric (precision by default, recall for the
    fair table) on the labelled rows not trained on; its floor follows the release (the test-split
    value less thresholds.max_metric_drop, 0.1 unless set), so it holds on any table; an absolute
    min_metric set above it wins. The window records the metric, the floor and its rule, and the
    metric is a breach exactly when its live value is below that floor and rests on at least
    thresholds.min_metric_support rows (30; anes96's asks more than it has: reported, no breach)."""
    probe, config = released["probe"], released["config"]
    quality, decision = probe["monitoring"], probe["monitoring_decision"]
    metric = config["training"].get("primary_metric", "precision")
    assert probe["record"]["primary_metric"]["name"] == metric, probe["record"]["primary_metric"]
    assert quality[names.LIVE_METRIC] == metric, quality
    thresholds = config.get("monitoring", {}).get("thresholds", {})
    absolute, drop = thresholds.get("min_metric"), thresholds.get("max_metric_drop", 0.1)
    relative = probe["released_value"] - drop
    floor = max(relative, absolute) if absolute is not None else relative
    assert quality[names.METRIC_FLOOR] == pytest.approx(floor, abs=1e-12), (quality, floor)
    rule = (
        f"min_metric {absolute}"
        if absolute is not None and absolute > relative
        else f"the release's test {metric} {probe['released_value']:.4f} - max_metric_drop {drop}"
    )
    assert rule in quality[names.METRIC_FLOOR_RULE], quality[names.METRIC_FLOOR_RULE]
    live = quality[names.LIVE_VALUE]
    assert live == quality[names.LIVE_METRICS][metric], quality
    # judged when it rests on enough rows: precision on its positive decisions, recall on the labels
    rests_on = {"precision": "positive_decisions", "recall": "positive_labels"}[metric]
    assert quality[names.LIVE_SUPPORT_OF] == rests_on and quality[names.LIVE_SUPPORT] > 0, quality
    fewest = thresholds.get("min_metric_support", 30)
    assert quality[names.MIN_METRIC_SUPPORT] == fewest, quality
    judged = fewest is None or quality[names.LIVE_SUPPORT] >= fewest
    breached = [b for b in decision["breaches"] if b["metric"] == metric]
    assert bool(breached) == (live is not None and live < floor and judged), (live, floor, quality)
    others = [b for b in decision["breaches"] if b["metric"] in names.METRIC_NAMES and b["metric"] != metric]
    assert not others, f"only the release's metric is judged live: {others}"
    if breached:
        assert breached[0]["threshold"] == pytest.approx(floor), decision["breaches"]
        assert f"floor: {rule}" in breached[0]["detail"], breached
    if not judged:
        rows = f"{quality[names.LIVE_SUPPORT]} {SUPPORT_TEXT[quality[names.LIVE_SUPPORT_OF]]}"
        said = f"not judged: it rests on {rows}, fewer than thresholds.min_metric_support"
        assert said in released["monitor"], released["monitor"][-2000:]
    if released["name"] == "public_anes96_sql":
        assert live < floor and not judged and not breached, (live, floor, quality, decision["breaches"])
    said = f"\nlive {metric} {live:.4f} on {quality[names.LIVE_ROWS]} of {quality['labelled_rows']} labelled"
    assert said in released["monitor"] and rule in released["monitor"], released["monitor"][-2000:]


def test_the_train_command_reports_the_released_models_metric(released):
    """`run.py train`'s headline (and CI's primary_metric output) is the metric of the model that was
    released: for a fairness-mitigated release, the mitigated model's, the plain model's before
    mitigation beside it, and the share of it the mitigated one keeps. A flat table's run says
    nothing of the sales table it does not have (ZenML could not describe an empty frame without
    columns)."""
    record, out = released["probe"]["record"], released["train"]
    metric = record["primary_metric"]
    headline = f"\n{metric['name']} = {metric['value']:.3f} ("
    assert headline in out, out[-2000:]
    plain = released["probe"]["trained_metrics"][metric["name"]]
    if record["artifact"] == names.MITIGATED_MODEL:
        assert f"{headline}the mitigated model; before mitigation {plain:.3f}," in out, out[-2000:]
        # released only while it keeps at least half the plain model's metric (max_mitigation_loss)
        kept = f"{metric['value']:.4f} is {metric['value'] / plain:.0%} of model's {plain:.4f}"
        assert kept in out and "it may lose 50% (promotion.max_mitigation_loss)" in out, out[-3000:]
    else:
        assert metric["value"] == plain, (metric, plain)
    if released["config"]["training"]["decision_threshold"] == "max_f1":
        chosen = f"at decision threshold {record['decision_threshold']:.4f}, its best F1 on validation;"
        assert chosen in out.split(headline, 1)[1].splitlines()[0], out[-2000:]
    rate = released["probe"]["trained_metrics"][names.BASELINE_PRECISION]
    baseline = {"precision": f"always-positive baseline {rate:.3f})", "recall": "no always-positive baseline"}
    assert baseline[metric["name"]] in out.split(headline, 1)[1].splitlines()[0], out[-2000:]
    assert "Failed to save artifact visualizations" not in out, out[-3000:]


def test_an_input_that_stands_in_for_a_sensitive_column_is_noted_in_the_decision_and_the_card(released):
    """The births table keeps the mother's age out of the model (sensitive, as the table has it
    squared: mage2) yet holds it as mage: the model decides by age through it. The fairness record
    names it with its association (1 = determined), training's decision and the model card say so
    and how to drop it, the executive brief in both languages; the other tables' inputs stand in
    for none of their sensitive columns, and a mitigated release's record carries the same."""
    probe = released["probe"]
    expected = {"mage2": ["mage"]} if released["name"] == "public_births_max_f1" else {}
    for record in filter(None, (probe["fairness"], probe["served_fairness"])):
        found = record[names.SENSITIVE_PROXIES]
        assert {column: list(inputs) for column, inputs in found.items()} == expected, found
    for column, inputs in expected.items():
        (value,) = probe["fairness"][names.SENSITIVE_PROXIES][column].values()
        assert value >= 0.95, value
        note = f"input '{inputs[0]}' ({value:.3f}) stands in for the sensitive column '{column}'"
        assert f"fairness note: model {note}" in released["train"], released["train"][-3000:]
        assert f"- {note}" in released["card"] and f"features.drop: ['{inputs[0]}']" in released["card"]
        said = f"It is not given '{column}' (a sensitive column), yet decides by it through its stand-ins"
        assert f"{said} '{inputs[0]}'" in released["brief"], released["brief"][:3000]
        assert f"No recibe '{column}' (un atributo sensible)" in released["brief"], released["brief"][:3000]
    assert "stand-ins" not in released["brief"] or expected, released["brief"][:3000]
    assert " in for the sensitive column" not in released["card"] or expected, released["card"]


def test_columns_keep_their_declared_kind_and_the_api_takes_categories_as_text(released):
    """A column declared under data.columns is what the model reads it as: codes written as numbers
    and declared categorical are categories (the CSV's text), not an order; a target stored as REAL
    0.0/1.0 has the labels "0" and "1". The served API takes a category as its text, or as the
    number it is written as (2 for "2.0", deciding the same), and refuses another number with a 400
    naming the field and the categories."""
    probe, public = released["probe"], released["config"].get("public")
    schema = {spec["name"]: spec for spec in probe["schema"]["features"]}
    if public == "fair":
        for column in FAIR_CODES:
            assert schema[column]["kind"] == "categorical", schema[column]
            assert schema[column]["categories"] == [f"{code}.0" for code in range(1, 7)], schema[column]
        assert schema["rate_marriage"]["kind"] == "numeric", schema["rate_marriage"]
    if public == "anes96":
        labels = (probe["schema"]["positive_label"], probe["schema"]["negative_label"])
        assert labels == ("1", "0") and set(released["table"][names.TARGET]) == {"0", "1"}, labels
        assert {spec["kind"] for spec in schema.values()} == {"numeric"}, schema
        assert "number_for_category" not in released["served"]
        return
    column, asked = released["served"]["number_for_category"]
    refused = [asked["fraction"]] if public == "fair" else [asked["fraction"], asked["number"]]
    for status, body in refused:  # no code is written 2.5 (nor, on the demo, 2)
        assert status == 400, (status, body)
        assert [d["loc"] for d in body["detail"]] == [["records", 0, column]], body
        assert all(f"'{code}'" in body["detail"][0]["msg"] for code in schema[column]["categories"]), body
    if public == "fair":  # 2 is the code written "2.0": it decides as the text does
        assert asked["number"] == asked["text"] and asked["number"][0] == 200, asked


def test_the_card_and_the_notebook_state_the_rule_each_row_is_decided_by(released):
    """A plain release decides at its threshold; a fairness-mitigated one by its groups' rules, which
    its model card lists (not the unused single threshold) and notebook 03 prints for the row it
    explains; `models` and notebook 02 list the version at its threshold or 'by group', with the
    served model's metric (the mitigated one's). Each test row's rule is the one it was decided by:
    a band where the rule decides no row holds only negative decisions, one where it decides every
    row only positive ones."""
    probe, card, notebook = released["probe"], released["card"], released["notebook"]
    reviewed, primary = released["reviewed"]["1"], probe["record"]["primary_metric"]["name"]
    assert reviewed["release"] == probe["record"]["artifact"], reviewed
    assert reviewed[primary] == pytest.approx(probe["released_value"]), "notebook 02: the served model's"
    threshold = probe["record"]["decision_threshold"]
    expected = "by group" if probe["group_rules"] else pytest.approx(threshold)  # (JSON keeps 10 digits)
    assert reviewed["threshold"] == expected, reviewed
    (listed,) = [
        line.split() for line in released["models"].splitlines() if line.split()[:2] == ["1", "production"]
    ]
    test, bands, rules = probe["test"], probe["bands"], probe["group_rules"]
    for p, decision, rule in zip(test["proba"], test["decisions"], bands, strict=True):
        share = next(share for _, high, share in rule if p <= high)  # its band's share decided positive
        assert 0 < share < 1 or decision == share, (
            f"P {p} decided {decision} in a band of share {share}: {rule}"
        )
    configured = released["config"]["training"]["decision_threshold"]
    if released["config"]["artifact"] != names.MITIGATED_MODEL:
        assert rules is None and bands[0] == [[-np.inf, threshold, 0.0], [threshold, np.inf, 1.0]], bands[0]
        digits = 4 if configured == "max_f1" else 2
        assert f"- Decision threshold: {threshold:.{digits}f}" in card, card[:2000]
        assert f"decision threshold {threshold}, " in notebook and "the rule of its group" not in notebook
        assert listed[4] == f"{threshold:.2f}", f"`models` lists version 1 at its threshold: {listed}"
        return
    assert listed[4:6] == ["by", "group"], f"`models` lists version 1 as deciding by group: {listed}"
    assert set(probe["groups"]) <= set(rules) and len(rules) >= 2, (probe["groups"][:10], list(rules))
    assert "- Decision thresholds: one rule per group of gender" in card, card[:3000]
    assert "- Decision threshold: " not in card, "a mitigated release does not decide at one threshold"
    for group, rule in rules.items():
        (_, edge, share), *_ = rule
        assert f"| {group} | up to {edge:.3f} | {share:.4f} |" in card, (group, rule, card[:3000])
        assert f"{group}: hasta {edge:.3f} → {share:.4f}" in card, "the Spanish summary"
    assert "decisions by one rule per group of gender (threshold_optimizer)" in notebook, notebook[:2000]
    shown = re.search(r"the rule of its group, '([^']+)':\n(.*?)\n\s*\n", notebook + "\n\n", re.S)
    assert shown and shown[1] in rules, notebook[:4000]
    printed = [[float(value) for value in line.split()] for line in shown[2].splitlines()[1:]]
    np.testing.assert_allclose(printed, rules[shown[1]], atol=5e-5, err_msg="the rule the notebook prints")


def test_evaluation_decided_as_the_release_decides(released):
    probe = released["probe"]
    assert probe["recomputed_confusion_matrix"] == probe["recorded_confusion_matrix"], (
        f"{released['name']}: the release's decisions on its test split "
        f"{probe['recomputed_confusion_matrix']} differ from what training evaluated "
        f"{probe['recorded_confusion_matrix']}"
    )


def test_the_scores_table_holds_the_release_decisions(released):
    scoring, table = released["probe"]["scoring"], released["table"]
    assert len(table) == len(scoring["ids"]), (len(table), len(scoring["ids"]))
    by_id = _in_order(table, scoring["ids"])
    np.testing.assert_allclose(by_id["probability"].to_numpy(), scoring["proba"], rtol=0, atol=1e-12)
    assert by_id[names.TARGET].tolist() == _labels(released, scoring["decisions"]), released["name"]
    threshold = released["probe"]["record"]["decision_threshold"]
    if released["config"]["artifact"] == names.MODEL and threshold > 0.5:
        between = by_id[(by_id.probability >= 0.5) & (by_id.probability < threshold)]
        negative = released["probe"]["schema"]["negative_label"]
        assert len(between) > 0 and (between[names.TARGET] == negative).all(), (
            f"rows with 0.5 <= probability < {threshold} must be labelled {negative}: {between.head()}"
        )


@pytest.mark.parametrize("part", ["test", "scoring"])
def test_the_served_api_answers_as_the_release_decides(released, part):
    """Every row the API accepts gets the release's probability and label. A row of the table the
    model came from is never refused (the test split; the nightly table of a project reading that
    table again); of the demo's new customers, the few refused are beyond the accepted range, and
    the 400 names the field and the range."""
    rows, (answers, refused) = released["probe"][part], released["served"][part]
    same_table = part == "test" or "demo" not in released["config"]
    assert len(refused) <= (0 if same_table else 0.05 * len(rows["proba"])), (
        f"{len(refused)} rows refused: {list(refused.values())[:3]}"
    )
    features = set(rows["records"][0])
    for detail in refused.values():  # the field in loc, the accepted and the training range in msg
        assert detail["loc"][2] in features and "training saw" in detail["msg"], detail
    kept = sorted(answers)
    np.testing.assert_allclose(
        [answers[i]["probability"] for i in kept], np.asarray(rows["proba"])[kept], rtol=0, atol=1e-9
    )
    got, want = [answers[i]["label"] for i in kept], [_labels(released, rows["decisions"])[i] for i in kept]
    differ = [i for i, (a, b) in enumerate(zip(got, want, strict=True)) if a != b]
    assert not differ, (
        f"{released['name']}: /predict labels differ on {len(differ)} {part} rows: {differ[:10]}"
    )


def test_monitoring_judged_the_decisions_of_the_scores_table(released):
    probe, table = released["probe"], released["table"]
    quality, scoring = probe["monitoring"], probe["scoring"]
    assert quality is not None, "the monitored window has labels: monitoring must judge them"
    assert quality["decision_threshold"] == probe["record"]["decision_threshold"], quality
    positive = probe["schema"]["positive_label"]
    labels = _in_order(table, scoring["ids"])[names.TARGET].eq(positive).astype(int)
    expected = confusion_matrix(scoring["truth"], labels.to_numpy(), labels=[0, 1]).tolist()
    assert quality[names.CONFUSION_MATRIX] == expected, (
        f"{released['name']}: monitoring's confusion matrix {quality[names.CONFUSION_MATRIX]} is not "
        f"that of the scores table's labels {expected}"
    )
    if released["name"] != "mitigated":  # a static table scored again: its training rows return
        seen, rows = quality[names.SEEN_IN_TRAINING_ROWS], quality["labelled_rows"]
        assert 0 < seen < rows and quality[names.LIVE_ROWS] == rows - seen, quality
        assert quality[names.LIVE_METRICS][names.PRECISION] is not None, (
            "live metrics on the rows not trained on"
        )


def test_monitoring_judged_the_releases_fairness_gate_on_the_same_live_rows(released):
    """The window's live fairness is the served model's gate: its sensitive columns and groups (the
    mitigated model's record for the mitigated release), the fairness settings it was trained with
    (the mitigated configuration's point estimates and 0.12 limit, not the defaults' bootstrap and
    0.1), on the live rows the quality check judged; a disparity beyond its limit is a breach."""
    probe, config = released["probe"], released["config"]
    quality, decision = probe["monitoring"], probe["monitoring_decision"]
    record = quality[names.LIVE_FAIRNESS]
    served = probe["served_fairness"] or probe["fairness"]
    assert record["available"] and record[names.LIVE_ROWS] == quality[names.LIVE_ROWS], record
    assert set(served[names.GROUP_EDGES]) <= set(record["disparities"]), (served[names.GROUP_EDGES], record)
    fairness = config["training"].get("fairness", {})
    intervals = [i for column in record["intervals"].values() for i in column.values() if i is not None]
    if fairness.get("bootstrap_samples") == 0:
        assert intervals == [], "the release's point estimates, not the default bootstrap"
    else:
        assert intervals, "bootstrap intervals, as the release's gate judged"
    limit = fairness.get("max_equalized_odds_difference", 0.1)
    breached = {b["metric"] for b in decision["breaches"]}
    for column, disparities in record["disparities"].items():
        odds = disparities["equalized_odds_difference"]
        beyond = any(
            b["feature"] == column and b["disparity"] == "equalized_odds_difference"
            for b in record[names.BEYOND_LIMITS]
        )
        if beyond:
            assert odds > limit and f"equalized_odds_difference[{column}]" in breached, (column, odds)
        elif (
            odds is not None
            and fairness.get("bootstrap_samples") == 0
            and column in served[names.GROUP_EDGES]
        ):
            assert odds <= limit, f"{column}: a point estimate {odds} above {limit} must be a breach"
