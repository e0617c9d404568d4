"""The promotion decision: quality gate, fairness gate, then the comparison with production."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from ml import names
from ml.settings import PromotionSettings

Stage = Literal["production", "staging", "rejected"]


@dataclass(frozen=True)
class Candidate:
    name: str  # "model" or "mitigated_model"
    metric: float
    fairness_violations: tuple[str, ...]


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


def candidates_from(metrics: dict, fairness: dict, mitigated: dict | None, metric: str) -> list[Candidate]:
    """The trained model, then the mitigated one when mitigation produced it, with what the gates read."""
    candidates = [Candidate(names.MODEL, metrics[metric], tuple(fairness["violations"]))]
    if mitigated and mitigated.get("available"):
        violations = tuple(mitigated[names.FAIRNESS]["violations"])
        candidates.append(Candidate(names.MITIGATED_MODEL, mitigated["metrics"][metric], violations))
    return candidates


def gate_failures(candidate: Candidate, metric_name: str, settings: PromotionSettings) -> list[str]:
    failures = []
    if not candidate.metric >= settings.min_primary_metric:
        failures.append(
            f"quality gate: {candidate.name} {metric_name} {candidate.metric:.4f} < floor "
            f"{settings.min_primary_metric} (promotion.min_primary_metric)"
        )
    failures += [f"fairness gate: {candidate.name} {v}" for v in candidate.fairness_violations]
    return failures


def decide(
    candidates: list[Candidate],
    metric_name: str,
    settings: PromotionSettings,
    production_metric: float | None,
    production_version: str | None = None,
) -> Decision:
    """The first candidate passing both gates is compared with production on the same data.

    No candidate passes: rejected (every failure listed). No production yet: production on the gates
    alone. Otherwise production when ``metric >= production_metric - tolerance``, else staging.
    """
    failures: list[str] = []
    for candidate in candidates:
        problems = gate_failures(candidate, metric_name, settings)
        if problems:
            failures += problems
            continue
        passed = [*failures, f"{candidate.name} passed the quality and fairness gates"]
        if production_metric is None:
            return Decision("production", candidate.name, (*passed, "no production version to compare with"))
        floor = production_metric - settings.tolerance
        comparison = (
            f"{metric_name} {candidate.metric:.4f} vs production version {production_version} "
            f"{production_metric:.4f} on the same evaluation data (tolerance {settings.tolerance})"
        )
        if candidate.metric >= floor:
            return Decision("production", candidate.name, (*passed, f"at least as good: {comparison}"))
        return Decision("staging", candidate.name, (*passed, f"worse than production: {comparison}"))
    return Decision("rejected", None, tuple(failures))
