"""The promotion decision: quality gate, fairness gate, then the comparison with production."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Literal, NamedTuple

import numpy as np

from ml import names
from ml.settings import PromotionSettings
from ml.support import SUPPORT_TEXT, metric_support

Stage = Literal["production", "staging", "rejected"]


@dataclass(frozen=True)
class Candidate:
    name: str  # "model" or "mitigated_model"
    metric: float
    fairness_violations: tuple[str, ...]
    roc_auc: float = float("nan")
    base_rate: float = float("nan")  # share of positives in the test split
    fairness_notes: tuple[str, ...] = ()  # reported, not judged (uncertain, parity unreachable)
    test_rows: int | None = None  # rows of the test split its metrics were measured on
    # the features that alone rank the test split best, with their ROC AUC, strongest first
    # (ml.evaluation.single_feature_roc_auc); empty in versions trained before it
    strongest_features: tuple[tuple[str, float], ...] = ()
    # how many test rows its primary metric rests on, and which (ml.support.metric_support): precision
    # the positive decisions; None in versions trained before it was kept
    support: tuple[int, str] | None = None
    # the share of the test rows it decided positive; NaN in versions trained before it was kept
    flagged: float = float("nan")


@dataclass(frozen=True)
class Yardstick:
    """Production's primary metric on the rows the candidates are compared with it on, and the
    candidates' own on those rows when they are not the whole test split (``rows`` says which):
    rows production was trained on are left out, its figure on them being in-sample."""

    production: float
    candidates: Mapping[str, float] = field(default_factory=dict)  # empty: each one's test value
    rows: str = "the same evaluation data"
    count: int | None = None  # how many rows; None: the whole test split

    def to_dict(self) -> dict:
        return {"production": self.production, "candidates": dict(self.candidates), "rows": self.count}

    def of(self, candidate: Candidate) -> float:
        """``candidate``'s metric on these rows."""
        return self.candidates.get(candidate.name, candidate.metric)


@dataclass(frozen=True)
class Decision:
    stage: Stage
    candidate: str | None
    reasons: tuple[str, ...]

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        what = f"{self.candidate} -> {self.stage}" if self.candidate else self.stage
        return f"{what}: " + "; ".join(self.reasons)

    def why(self) -> str:
        """The reasons (each names the candidate it concerns): the audit record's why, whose what
        ("promotion: rejected") names the stage already."""
        return "; ".join(self.reasons)


def candidates_from(metrics: dict, fairness: dict, mitigated: dict | None, metric: str) -> list[Candidate]:
    """The trained model, then the mitigated one when mitigation produced it, with what the gates read."""
    base_rate = metrics.get(names.BASELINE_PRECISION, float("nan"))
    roc_auc = metrics.get(names.ROC_AUC, float("nan"))
    notes = tuple(fairness.get("notes", ()))
    matrix = metrics.get(names.CONFUSION_MATRIX)
    rows = int(np.sum(matrix)) if matrix is not None else None
    alone = metrics.get(names.SINGLE_FEATURE_ROC_AUC) or {}  # none in versions trained before it
    strongest = tuple(alone.items())
    candidates = [
        Candidate(
            names.MODEL,
            metrics[metric],
            tuple(fairness["violations"]),
            roc_auc,
            base_rate,
            notes,
            rows,
            strongest,
            _support(metric, matrix),
            _flagged(matrix),
        )
    ]
    if mitigated and mitigated.get("available"):
        record = mitigated[names.FAIRNESS]
        violations, notes = tuple(record["violations"]), tuple(record.get("notes", ()))
        scores = mitigated["metrics"]
        auc = scores.get(names.ROC_AUC, roc_auc)
        own = scores.get(names.CONFUSION_MATRIX)
        support, flagged = _support(metric, own), _flagged(own)
        candidates.append(
            Candidate(
                names.MITIGATED_MODEL,
                scores[metric],
                violations,
                auc,
                base_rate,
                notes,
                rows,
                strongest,
                support,
                flagged,
            )
        )
    return candidates


def _support(metric: str, matrix: list[list[int]] | None) -> tuple[int, str] | None:
    return metric_support(metric, matrix) if matrix is not None else None


def _flagged(matrix: list[list[int]] | None) -> float:
    """The share of the rows decided positive, from a confusion matrix ``[[tn, fp], [fn, tp]]``."""
    if matrix is None:
        return float("nan")
    (tn, fp), (fn, tp) = matrix
    rows = tn + fp + fn + tp
    return (fp + tp) / rows if rows else float("nan")


def with_mitigation_note(decision: Decision, candidates: list[Candidate], mitigated: dict | None) -> Decision:
    """``decision`` with why there was no mitigated candidate, when that mattered: the plain model
    broke the fairness gate and mitigation could not be fitted (``mitigated['note']``, e.g. a group
    with one class in the validation split)."""
    if not mitigated or mitigated.get("available") or not candidates[0].fairness_violations:
        return decision
    note = f"no {names.MITIGATED_MODEL} to judge: {mitigated.get('note', 'mitigation was not possible')}"
    return replace(decision, reasons=(*decision.reasons, note))


def with_reuse_note(decision: Decision, reused_run: str | None) -> Decision:
    """``decision`` saying that its model came from the step cache, trained by ``reused_run`` (None:
    trained by this run): a retraining on an unchanged table gives the same model again."""
    if reused_run is None:
        return decision
    note = (
        f"its model is the one run {reused_run} trained (the step cache: the same data, code and settings); "
        "a new model needs new data or settings"
    )
    return replace(decision, reasons=(*decision.reasons, note))


class Served(NamedTuple):
    """What a version serves, as training evaluated it (``served_evaluation``)."""

    metrics: dict  # on the test split, at the release's decisions
    fairness: float | None  # fairness score: the lowest demographic parity ratio
    mitigated: bool
    # the fairness gate judged that score (not: parity unreachable for the groups' base rates, or
    # uncertain); True in records of before it was kept
    fairness_judged: bool = True
    # the threshold it decides at, or BY_GROUP for a mitigated release (its groups' rules, on its card)
    threshold: float | str | None = None
    # inputs standing in for a sensitive column it is not given (ml.proxies): {column: {input: value}}
    proxies: Mapping[str, Mapping[str, float]] | None = None


BY_GROUP = "by group"


def recorded_evaluation(meta: dict, artifact: str | None) -> dict:
    """The evaluation training recorded in a version's run metadata ``meta`` for the model
    ``artifact``: its test ``metrics`` and ``fairness`` record, the mitigated model's
    (``mitigated_evaluation``) when ``artifact`` is it, the plain model's otherwise (None: a version
    without a release, judged as its plain candidate). Empty values where none was kept."""
    if artifact == names.MITIGATED_MODEL:
        evaluation = meta.get(names.MITIGATED_EVALUATION) or {}
    else:
        evaluation = {names.METRICS: meta.get(names.METRICS), names.FAIRNESS: meta.get(names.FAIRNESS)}
    return {key: evaluation.get(key) or {} for key in (names.METRICS, names.FAIRNESS)}


def served_evaluation(version: dict) -> Served:
    """What a version serves, from a row of ``registry.models.describe_versions``: its ``served``
    evaluation (``recorded_evaluation`` of its release's model: the fairness-mitigated model's when
    that is its release, else the plain model's)."""
    evaluation = version.get("served") or {}
    record = evaluation.get(names.FAIRNESS) or {}
    mitigated = version.get("release") == names.MITIGATED_MODEL
    return Served(
        evaluation.get(names.METRICS) or {},
        record.get(names.FAIRNESS_SCORE),
        mitigated,
        record.get(names.FAIRNESS_SCORE_JUDGED) is not False,  # None: a record of before it was kept
        BY_GROUP if mitigated else version.get("threshold"),
        record.get(names.SENSITIVE_PROXIES) or {},
    )


def always_positive(metric: str, base_rate: float) -> float | None:
    """``metric`` of the trivial model on a split with this share of positives (accuracy: the
    majority answer); None for recall, which answering always positive maximises (no lift there)."""
    if metric == names.PRECISION:
        return base_rate
    if metric == names.F1:
        return 2 * base_rate / (1 + base_rate)
    if metric == names.ACCURACY:
        return max(base_rate, 1 - base_rate)
    if metric == names.ROC_AUC:
        return 0.5
    return None


def _recall_lift_check(candidate: Candidate, min_lift: float) -> tuple[bool, str]:
    """Recall against flagging as many rows at random, which catches that share of the positives:
    answering always positive has recall 1, so recall alone promoted a model that flags every row."""
    name, recall, flagged = candidate.name, candidate.metric, candidate.flagged
    lift = recall / flagged if flagged > 0 else float("nan")  # nothing flagged: recall 0, no lift
    text = (
        f"{name} recall {recall:.4f} flagging {flagged:.1%} of the test rows is {lift:.2f}x the {flagged:.4f}"
        f" that flagging as many at random catches; min lift {min_lift} (promotion.min_lift)"
    )
    if not lift >= min_lift:
        text += "; a higher decision_threshold (configs/training.yaml) flags fewer, surer rows"
    return bool(lift >= min_lift), text


def quality_checks(
    candidate: Candidate, metric_name: str, settings: PromotionSettings
) -> list[tuple[bool, str]]:
    """(passed, what was compared) for each configured quality gate, the base rate stated."""
    checks: list[tuple[bool, str]] = []
    name, value, rate = candidate.name, candidate.metric, candidate.base_rate
    rows, fewest = candidate.test_rows, settings.min_test_rows
    if fewest is not None and rows is not None:
        text = f"{name} measured on {rows} test rows; min {fewest} (promotion.min_test_rows)"
        if rows < fewest:
            text += (
                ": too few for its metrics to mean much; add rows to the table, raise split.test_size,"
                " or lower promotion.min_test_rows"
            )
        checks.append((rows >= fewest, text))
    few_decisions = False  # too few positive decisions: a higher threshold would make fewer still
    if settings.min_metric_support is not None and candidate.support is not None:
        checks.append(_support_check(candidate, metric_name, settings.min_metric_support))
        few_decisions = not checks[-1][0] and candidate.support[1] == "positive_decisions"
    baseline = always_positive(metric_name, rate)
    if settings.min_lift is not None and baseline is not None and np.isfinite(rate):
        lift = value / baseline if baseline > 0 else float("inf")
        hint = ""
        if lift < settings.min_lift and metric_name == names.PRECISION and not few_decisions:
            hint = "; a higher decision_threshold (configs/training.yaml) labels fewer, surer rows positive"
        if lift < settings.min_lift and baseline > 0.5:
            hint += _lift_ceiling(metric_name, baseline, settings.min_lift)
        checks.append(
            (
                lift >= settings.min_lift,
                f"{name} {metric_name} {value:.4f} is {lift:.2f}x the always-positive baseline {baseline:.4f}"
                f" (base rate {rate:.3f}); min lift {settings.min_lift} (promotion.min_lift){hint}",
            )
        )
    if settings.min_lift is not None and metric_name == names.RECALL and np.isfinite(candidate.flagged):
        checks.append(_recall_lift_check(candidate, settings.min_lift))
    if settings.min_roc_auc is not None:
        auc = candidate.roc_auc
        checks.append(
            (
                bool(auc >= settings.min_roc_auc),  # NaN (one class only) fails
                f"{name} ROC AUC {auc:.4f}; min {settings.min_roc_auc}"
                " (promotion.min_roc_auc, 0.5 is chance)",
            )
        )
    if settings.max_single_feature_roc_auc is not None and candidate.strongest_features:
        checks.append(_single_feature_check(candidate, settings.max_single_feature_roc_auc))
    if settings.min_primary_metric is not None:
        passed = value >= settings.min_primary_metric
        sign = ">=" if passed else "<"
        checks.append(
            (
                passed,
                f"{name} {metric_name} {value:.4f} {sign} floor {settings.min_primary_metric}"
                " (promotion.min_primary_metric)",
            )
        )
    return checks


def _lift_ceiling(metric_name: str, baseline: float, min_lift: float) -> str:
    """Why a lift gate is hard to pass when always answering positive already scores over 0.5: no
    metric exceeds 1, so a perfect model's lift is ``1 / baseline`` (the doctor visits of
    statsmodels' racd10 elderly, 89 % with one: precision 1.12x at best, min lift 1.1 asking for
    0.982; F1's baseline 0.943 put the gate beyond any model)."""
    need = min_lift * baseline
    text = f"; at this base rate a perfect model's {metric_name} is {1 / baseline:.2f}x the baseline, so"
    if need > 1:
        text += f" no model can pass min lift {min_lift}"
    else:
        text += f" min lift {min_lift} asks for {need:.4f}"
    flip = (
        ""
        if metric_name == names.ACCURACY
        else "make the rarer class data.positive_label (configs/project.yaml), "
    )
    return f"{text}: {flip}judge it on roc_auc (primary_metric), or lower promotion.min_lift"


def _support_check(candidate: Candidate, metric_name: str, fewest: int) -> tuple[bool, str]:
    count, of = candidate.support
    text = (
        f"{candidate.name} {metric_name} rests on {count} {SUPPORT_TEXT[of]}; min {fewest}"
        " (promotion.min_metric_support)"
    )
    if count < fewest:
        text += (
            f": too few to judge it (a row of them more or less right moves it by {1 / max(count, 1):.2f});"
            " add rows to the table or raise split.test_size, or lower promotion.min_metric_support"
        )
        if of == "positive_decisions":  # a model that labels few rows positive at its threshold
            text += "; or lower decision_threshold (configs/training.yaml): more rows are labelled positive"
            rows, rate = candidate.test_rows, candidate.base_rate
            if rows and np.isfinite(rate):  # a rare positive label: 0.5 labels almost none positive
                text += (
                    f" (it labels {count} of the {rows} test rows positive; {round(rate * rows)} are;"
                    " decision_threshold: max_f1 picks the model's best-F1 one on the validation split)"
                )
    return count >= fewest, text


def _single_feature_check(candidate: Candidate, limit: float) -> tuple[bool, str]:
    column, auc = candidate.strongest_features[0]
    leaks = [(column, auc) for column, auc in candidate.strongest_features if auc >= limit]
    if not leaks:
        return True, (
            f"{candidate.name}'s strongest feature alone, '{column}', ranks the test split with ROC AUC"
            f" {auc:.4f}; below {limit} (promotion.max_single_feature_roc_auc)"
        )
    each = ", ".join(f"'{column}' {auc:.4f}" for column, auc in leaks)
    columns = ", ".join(f"'{column}'" for column, _ in leaks)
    return False, (
        f"{candidate.name}'s feature(s) alone rank the test split with ROC AUC {each}; not below"
        f" {limit} (promotion.max_single_feature_roc_auc): a column that alone separates the classes"
        " is most often target leakage, a value written after the outcome or derived from it, that a"
        f" row to score does not have yet; drop {'it' if len(leaks) == 1 else 'them'}"
        f" (features.drop: [{columns}] in configs/training.yaml), or, when it is known before every"
        " decision and truly decides the label, set promotion.max_single_feature_roc_auc: null"
    )


def _mitigation_loss_check(
    candidate: Candidate, plain: Candidate, metric_name: str, limit: float
) -> tuple[bool, str]:
    """How much of the plain model's primary metric the mitigated one keeps. Fairlearn's rules meet
    the fairness limit where balanced accuracy is best: for a rare label that is far from the model's
    own operating point (randhie's heavy users, 2 % of rows: precision 0.54 -> 0.03, half the rows
    flagged), a release less accurate than always answering negative that the lift gate alone let by."""
    kept = candidate.metric / plain.metric if plain.metric > 0 else float("inf")
    text = (
        f"{candidate.name} {metric_name} {candidate.metric:.4f} is {kept:.0%} of {plain.name}'s"
        f" {plain.metric:.4f}"
    )
    if np.isfinite(candidate.flagged) and np.isfinite(plain.flagged):
        text += f" (flagging {candidate.flagged:.1%} of the test rows vs {plain.flagged:.1%})"
    text += f"; it may lose {limit:.0%} (promotion.max_mitigation_loss)"
    passed = bool(kept >= 1 - limit)
    if not passed:
        text += (
            ": the fairness limit is met only far from where the model decides. Add rows of the"
            " groups it treats differently, use features that tell their cases apart, or loosen the"
            " limit the model broke (fairness settings, configs/training.yaml); to release such a"
            " model all the same, raise promotion.max_mitigation_loss (null: off)"
        )
    return passed, text


LEAKAGE_NOTE_ROC_AUC = 0.9  # a feature alone this good, and as good as the model: leakage is a suspect


def _one_feature_note(candidate: Candidate, settings: PromotionSettings) -> list[str]:
    """A note when one feature alone ranks the test split at least as well as ``candidate``: a leak
    below the gate's limit (titanic's lifeboat, 0.966 beside the model's 0.964), or a model that adds
    nothing to a strong input known in time (star98's share of low-income pupils, 0.901 beside 0.867:
    22 features on 181 training rows). Under LEAKAGE_NOTE_ROC_AUC the column is no leakage suspect,
    the model is weak (statsmodels' fair_pt: years married 0.696 beside the model's 0.671): a model
    note says the other features add nothing. Not judged; none when the leakage gate is off (the
    column was vouched for)."""
    if settings.max_single_feature_roc_auc is None or not candidate.strongest_features:
        return []
    column, auc = candidate.strongest_features[0]
    if not auc >= candidate.roc_auc:  # NaN: nothing to compare
        return []
    said = (
        f"{candidate.name}'s strongest feature alone, '{column}', ranks the test split as well as the whole"
        f" model (ROC AUC {auc:.4f} vs {candidate.roc_auc:.4f}): the other features add nothing to it"
    )
    better = "fewer features, a simpler model or more rows may"
    if auc < LEAKAGE_NOTE_ROC_AUC:
        return [f"model note: {said}; {better} do better"]
    return [
        f"leakage note: {said}. If '{column}' is written after the outcome, a row to score does not have"
        f" it yet (target leakage): drop it (features.drop: [{column}] in configs/training.yaml). If it is"
        f" known before, keep it: it is a strong input the model does not improve on ({better})"
    ]


def gate_failures(candidate: Candidate, checks: list[tuple[bool, str]]) -> list[str]:
    """The failed ``checks`` (``quality_checks`` of ``candidate``) and its fairness violations."""
    failures = [f"quality gate: {text}" for ok, text in checks if not ok]
    failures += [f"fairness gate: {candidate.name} {v}" for v in candidate.fairness_violations]
    return failures


def decide(
    candidates: list[Candidate],
    metric_name: str,
    settings: PromotionSettings,
    production_metric: float | Yardstick | None,
    production_version: str | None = None,
    unmeasured: str | None = None,
    version: str = "VERSION",
) -> Decision:
    """The first candidate passing both gates is compared with production on the same data.

    The fairness-mitigated candidate is one only when the plain model breaks the fairness gate: it
    decides with group-specific thresholds on the sensitive features, which is released to fix a
    disparity, never as a way round a quality gate (its other operating point) for a fair model.
    No candidate passes: rejected (every failure listed). No production yet: production on the gates
    alone. Otherwise production when ``metric >= production_metric - tolerance``, else staging, both
    measured on the same rows (a ``Yardstick``; a number: production's on the whole test split).
    ``unmeasured``: why production could not be measured on this data; it is then no yardstick, so
    the candidate (model version ``version``) reaches staging at most, with the command that makes
    it production once checked.
    """
    failures: list[str] = []
    plain = candidates[0]
    for candidate in candidates:
        if candidate is not plain and not plain.fairness_violations:
            failures.append(
                f"{candidate.name} not considered: {plain.name} breaks no fairness limit, and a"
                " fairness-mitigated model (group-specific thresholds on the sensitive features) is"
                " released only to fix a disparity"
            )
            continue
        checks = quality_checks(candidate, metric_name, settings)
        if candidate is not plain and settings.max_mitigation_loss is not None:
            checks.append(_mitigation_loss_check(candidate, plain, metric_name, settings.max_mitigation_loss))
        problems = gate_failures(candidate, checks)
        if problems:
            failures += problems
            continue
        gates = "; ".join(text for _, text in checks)
        gates = gates or "no quality gate is configured (promotion.min_lift, min_roc_auc, min_primary_metric)"
        passed = [*failures, f"{candidate.name} passed the quality and fairness gates ({gates})"]
        passed += [f"fairness note: {candidate.name} {note}" for note in candidate.fairness_notes]
        passed += _one_feature_note(candidate, settings)
        if unmeasured is not None:
            fix = f"no yardstick, no production: once checked, `python run.py rollback --to {version}`"
            return Decision("staging", candidate.name, (*passed, f"{unmeasured}; {fix}"))
        if production_metric is None:
            return Decision("production", candidate.name, (*passed, "no production version to compare with"))
        yardstick = production_metric
        if not isinstance(yardstick, Yardstick):
            yardstick = Yardstick(yardstick)
        ours, floor = yardstick.of(candidate), yardstick.production - settings.tolerance
        comparison = (
            f"{metric_name} {ours:.4f} vs production version {production_version} "
            f"{yardstick.production:.4f} on {yardstick.rows} (tolerance {settings.tolerance})"
        )
        if ours >= floor:
            return Decision("production", candidate.name, (*passed, f"at least as good: {comparison}"))
        return Decision("staging", candidate.name, (*passed, f"worse than production: {comparison}"))
    return Decision("rejected", None, (*failures, *([unmeasured] if unmeasured is not None else [])))
