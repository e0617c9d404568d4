"""Executive brief: a two-page summary of the model for people who do not read pipeline logs.

Page 1 is the English overview (status, KPIs, small charts), page 2 the Spanish executive summary
(the same numbers and verdicts, written out) with the recent incidents and actions. Print-friendly
HTML (A4, inline SVG charts, no JavaScript, no network) and a Markdown twin with the same numbers.

Plain data in, no ZenML: ``versions`` are the rows of ``registry.models.describe_versions`` (version,
stage, release, served evaluation, created, monitoring metadata), ``incidents`` and
``actions`` the records of the incident and audit logs (``ml.alerts``). ``key_figures`` computes one
typed ``Kpis`` object; both pages and both formats render it with one template per format
(``templates/brief.html.j2``, ``templates/brief.md.j2``) and one message catalogue per language
(``templates/brief_messages.yaml``), so English and Spanish state the same numbers.
``build_brief`` returns the HTML, the Markdown and the KPIs (as a dict, and typed).
"""

from __future__ import annotations

import functools
import string
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime

import pandas as pd
import yaml

from ml import names
from ml.live_fairness import beyond_limits
from ml.monitoring import live_judged
from ml.promotion import served_evaluation
from ml.reports import TEMPLATES, svg_bar_chart, svg_line_chart, template_environment
from ml.words import counted, plural

CLOSED_STATUSES = ("closed", "resolved")
TREND_TOLERANCE = 0.05  # a change of drift share smaller than this is "stable"
CHART_WINDOWS = 30  # the drift chart shows the last windows only
RECENT_INCIDENTS = 4
RECENT_ACTIONS = 6
CHART_VERSIONS = 8
CHART_SIZE = (3.2, 2.3)  # inches: three charts side by side on an A4 page
ACTION_KINDS = ("promotions", "rollbacks", "retrainings", "alerts", "deployments")
LANGUAGES = ("en", "es")
MESSAGES = TEMPLATES / "brief_messages.yaml"
# What each page shows besides its text: the English page the KPI cards, the drift and quality charts
# and the incidents; the Spanish page (its title is the overview's heading) the KPI table, the activity
# chart and the actions. "both": the status named in both languages; "heading": an "Overview" heading.
# The English page also names the status in Spanish, as the first page of a bilingual document.
LAYOUT = {
    "en": {
        "cards": True,
        "both": True,
        "heading": True,
        "charts": ("drift", "versions"),
        "table": "incidents",
    },
    "es": {"cards": False, "both": False, "heading": False, "charts": ("activity",), "table": "actions"},
}


@dataclass(frozen=True)
class Thresholds:
    """The limits the verdicts use: monitoring's drift share and absolute floor of the live metric
    (None: off; a window judges its live metric against the floor monitoring recorded with it; this
    one only windows recorded before floors were), training's fairness floor (minimum demographic
    parity ratio)."""

    drift_share: float
    min_metric: float | None
    min_fairness: float
    live_fairness: bool = True  # monitoring's thresholds.fairness: a live disparity beyond its limit

    def __post_init__(self) -> None:
        for name in ("drift_share", "min_metric", "min_fairness"):
            value = getattr(self, name)
            if value is None and name == "min_metric":
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ValueError(
                    f"Thresholds.{name} is {value!r}; pass a number between 0 and 1 "
                    "(configs/monitoring.yaml thresholds, configs/training.yaml "
                    "fairness.min_demographic_parity_ratio)"
                )


@dataclass(frozen=True)
class ReleaseQuality:
    """Test-split quality of what a version serves (``release_quality``)."""

    precision: float | None
    accuracy: float | None
    roc_auc: float | None
    fairness_score: float | None
    # the fairness gate judged the score (not: parity unreachable for the groups' base rates, or uncertain)
    fairness_judged: bool
    mitigated: bool
    primary_metric: str | None  # what it was selected and is monitored on (None: older versions)
    primary_value: float | None
    # inputs standing in for a sensitive column it is not given (ml.proxies): {column: {input: value}}
    proxies: dict


@dataclass(frozen=True)
class Production(ReleaseQuality):
    """The production version, since when, its model card, and the quality of what it serves."""

    version: str
    since: str | None
    card: str | None


@dataclass(frozen=True)
class VersionQuality(ReleaseQuality):
    version: str
    stage: str


@dataclass(frozen=True)
class Monitoring:
    """The monitoring history (``monitoring_windows``) and what the last windows say."""

    windows: int
    history: list[dict]
    last: dict | None = None
    trend: str | None = None
    first_date: str | None = None
    last_date: str | None = None
    previous_drift_share: float | None = None
    mean_drift_share: float | None = None
    windows_above_threshold: int = 0
    latest_labelled: dict | None = None


@dataclass(frozen=True)
class Incidents:
    total: int
    open: int
    closed: int
    recent: list[dict]


@dataclass(frozen=True)
class Actions:
    promotions: int
    rollbacks: int
    retrainings: int
    alerts: int
    deployments: int
    promotion_decisions: int
    total: int
    recent: list[dict]


@dataclass(frozen=True)
class Kpis:
    """Everything the brief states (the templates only format it)."""

    project: str
    model_name: str
    generated_at: str
    thresholds: Thresholds
    production: Production | None
    versions: list[VersionQuality]
    monitoring: Monitoring
    incidents: Incidents
    actions: Actions
    findings: list[tuple[str, str]] = field(default_factory=list)  # (English, Spanish)
    status: str = "unmonitored"

    def as_dict(self) -> dict:
        """Plain data (JSON-ready apart from the log records it quotes)."""
        return asdict(self)


@dataclass(frozen=True)
class Brief:
    html: str
    markdown: str
    kpis: dict
    facts: Kpis


# --- formatting (both languages) ----------------------------------------------------------------
def pct(value: float | None, lang: str = "en") -> str:
    """0.8734 -> ``87.3%`` (English) / ``87,3 %`` (Spanish); None -> ``n/a`` / ``n/d``."""
    if value is None:
        return "n/a" if lang == "en" else "n/d"
    text = f"{value * 100:.1f}"
    return f"{text}%" if lang == "en" else f"{text.replace('.', ',')} %"


def dec(value: float | None, lang: str = "en") -> str:
    """0.8512 -> ``0.85`` / ``0,85``; None -> ``n/a`` / ``n/d``."""
    if value is None:
        return "n/a" if lang == "en" else "n/d"
    text = f"{value:.2f}"
    return text if lang == "en" else text.replace(".", ",")


@dataclass(frozen=True)
class Score:
    """A metric's value as a message shows it (``{x:score}``): ROC AUC as a number (0.50 is
    chance), the others as a share."""

    metric: str
    value: float | None


def score(value: Score, lang: str = "en") -> str:
    """``value`` in ``lang``: ROC AUC as ``dec``, the other metrics as ``pct``."""
    return (dec if value.metric == names.ROC_AUC else pct)(value.value, lang)


class _Formatter(string.Formatter):
    """``str.format`` with the language's number formats, ``{x:pct}`` and ``{x:dec}``, and its names
    of metrics: ``{x:metric}`` (``x`` one of names.METRIC_NAMES), a ``Score``: ``{x:score}``, and a
    count with the words for one and for more: ``{x:plural:window|windows}``."""

    def __init__(self, lang: str) -> None:
        super().__init__()
        self.lang = lang

    def format_field(self, value, format_spec: str) -> str:
        if format_spec.startswith("plural:"):  # {n:plural:window|windows} -> "1 window", "3 windows"
            return counted(value, format_spec.removeprefix("plural:"))
        if format_spec == "pct":
            return pct(value, self.lang)
        if format_spec == "dec":
            return dec(value, self.lang)
        if format_spec == "score":
            return score(value, self.lang)
        if format_spec == "metric":
            return catalogue()[self.lang]["metric"].get(value, value)
        if format_spec == "disparity":
            return catalogue()[self.lang]["disparity"].get(value, value)
        return super().format_field(value, format_spec)


@functools.cache
def catalogue() -> dict[str, dict]:
    """The message catalogue: ``{"en": {...}, "es": {...}}`` with the same keys."""
    messages = yaml.safe_load(MESSAGES.read_text(encoding="utf-8"))
    missing = {lang: sorted(set(messages["en"]) ^ set(messages[lang])) for lang in LANGUAGES}
    if any(missing.values()):
        raise ValueError(
            f"{MESSAGES} has keys in one language only: {missing}; add each key to both 'en' and 'es'"
        )
    return messages


def say(lang: str, key: str, **values) -> str:
    """The message ``key`` (dotted for nested ones: ``status.healthy``) in ``lang``, filled in."""
    text = catalogue()[lang]
    for part in key.split("."):
        text = text[part]
    return _Formatter(lang).format(text, **values) if isinstance(text, str) else text


# --- inputs -> KPIs -----------------------------------------------------------------------------
def _number(value) -> float | None:
    """A metric as a float; None when unknown (missing, or NaN: e.g. no fairness group judged)."""
    return None if value is None or value != value else float(value)


def _version_key(name) -> tuple[int, str]:
    text = str(name)
    return (int(text), text) if text.isdigit() else (-1, text)


def release_quality(row: dict) -> dict:
    """Test-split precision, accuracy, ROC AUC and fairness score of what a version serves: the
    fairness-mitigated model's when that is its release, else the plain model's."""
    served = served_evaluation(row)
    metrics = served.metrics
    return {
        "precision": _number(metrics.get(names.PRECISION)),
        "accuracy": _number(metrics.get(names.ACCURACY)),
        "roc_auc": _number(metrics.get(names.ROC_AUC)),
        "fairness_score": _number(served.fairness),
        "fairness_judged": served.fairness_judged,
        "mitigated": served.mitigated,
        "primary_metric": row.get("primary_metric"),
        "primary_value": _number(metrics.get(row.get("primary_metric"))),
        "proxies": dict(served.proxies or {}),
    }


def monitoring_windows(versions: list[dict]) -> list[dict]:
    """One entry per monitored date, oldest first, from the versions' ``monitoring_<date>`` and
    ``monitoring_decision_<date>`` metadata. A date monitored under several versions keeps the
    highest version's entry (the later production model)."""
    chosen: dict[str, tuple[tuple[int, str], dict, dict]] = {}
    for row in versions:
        entries = row.get("monitoring") or {}
        for key, drift in entries.items():
            if (
                key.startswith(names.MONITORING_DECISION_PREFIX)
                or not isinstance(drift, dict)
                or "drift_share" not in drift
            ):
                continue
            day = str(drift.get("date") or key.removeprefix(names.MONITORING_PREFIX))
            rank = _version_key(row["version"])
            if day not in chosen or rank > chosen[day][0]:
                chosen[day] = (rank, drift, entries.get(f"{names.MONITORING_DECISION_PREFIX}{day}") or {})
    windows = []
    for day in sorted(chosen):
        _, drift, decision = chosen[day]
        quality = drift.get("quality") or {}
        prediction = drift.get("prediction_drift") or {}
        fairness = quality.get(names.LIVE_FAIRNESS) or {}  # the release's fairness gate on the live rows
        live, metric = live_metrics(quality), quality.get(names.LIVE_METRIC, names.PRECISION)
        windows.append(
            {
                "date": day,
                "model_version": str(drift.get("model_version", "")),
                "drift_share": float(drift["drift_share"]),
                "drifted_columns": sorted(drift.get("drifted_columns") or {}),
                "prediction_drifted": bool(prediction.get("drifted")),
                "precision": _number(live.get(names.PRECISION)),
                "accuracy": _number(quality.get(names.ACCURACY)),
                "labelled_rows": quality.get(names.LIVE_ROWS, quality.get("labelled_rows")),
                # the metric the window was judged on (the release's primary metric), its live
                # value and the floor monitoring judged it against (older records: precision, and
                # no floor or the precision floor)
                "metric": metric,
                "live": _number(live.get(metric)),
                "floor": _number(quality.get(names.METRIC_FLOOR, quality.get(names.PRECISION_FLOOR))),
                # judged against it, or too few rows for that (the rows it rests on, which, the fewest)
                "judged": live_judged(quality),
                "support": quality.get(names.LIVE_SUPPORT),
                "support_of": quality.get(names.LIVE_SUPPORT_OF),
                "fewest": quality.get(names.MIN_METRIC_SUPPORT),
                "breaches": [b.get("metric") for b in decision.get("breaches", [])],
                # the release's fairness gate on the live rows: the disparities beyond their limit
                "fairness_beyond": beyond_limits(fairness),
                "fairness_rows": fairness.get(names.LIVE_ROWS),
                "fairness_judged": bool(fairness.get("available")),
                "fairness_reported": len(fairness.get("notes") or []),  # reported, not judged
            }
        )
    return windows


def live_metrics(quality: dict) -> dict:
    """A window's metrics on the labelled rows the model was not trained on (older records: live
    precision alone; older still: precision on every labelled row)."""
    if names.LIVE_METRICS in quality:
        return quality[names.LIVE_METRICS] or {}
    return {names.PRECISION: quality.get(names.LIVE_PRECISION, quality.get(names.PRECISION))}


def floor_of(window: dict | None, limits: Thresholds) -> float | None:
    """The live value ``window``'s metric had to reach: the floor monitoring recorded with it (from
    the release's test value and the thresholds), else (older records) the absolute min_metric."""
    if window is None:
        return None
    recorded = window.get("floor")
    return recorded if recorded is not None else limits.min_metric


def _action_kind(what: str) -> str | None:
    if what == "promotion: production":
        return "promotions"
    return {
        "rollback": "rollbacks",
        "retraining": "retrainings",
        "alert": "alerts",
        "deployment": "deployments",
    }.get(what)


def key_figures(
    project: str,
    model_name: str,
    versions: list[dict],
    incidents: list[dict],
    actions: list[dict],
    thresholds: Thresholds,
    generated_at: datetime,
) -> Kpis:
    """Everything the brief states, typed (the templates only format it)."""
    ordered = sorted(versions, key=lambda r: _version_key(r["version"]))
    production_row = next((r for r in ordered if r.get("stage") == "production"), None)
    production = None
    if production_row is not None:
        production = Production(
            version=str(production_row["version"]),
            since=production_row.get("created"),
            card=production_row.get("card"),
            **release_quality(production_row),
        )
    windows = monitoring_windows(versions)
    monitoring = Monitoring(windows=len(windows), history=windows)
    if windows:
        last = windows[-1]
        previous = windows[-2]["drift_share"] if len(windows) > 1 else None
        trend = None
        if previous is not None:
            delta = last["drift_share"] - previous
            trend = "stable" if abs(delta) < TREND_TOLERANCE else ("rising" if delta > 0 else "falling")
        labelled = [w for w in windows if w["live"] is not None]
        monitoring = replace(
            monitoring,
            first_date=windows[0]["date"],
            last_date=last["date"],
            last=last,
            previous_drift_share=previous,
            trend=trend,
            mean_drift_share=sum(w["drift_share"] for w in windows) / len(windows),
            windows_above_threshold=sum(w["drift_share"] > thresholds.drift_share for w in windows),
            latest_labelled=labelled[-1] if labelled else None,
        )
    statuses = [str(i.get("status", "open")).lower() for i in incidents]
    closed = sum(s in CLOSED_STATUSES for s in statuses)
    counts = Counter(kind for a in actions if (kind := _action_kind(str(a.get("what", "")))))
    kpis = Kpis(
        project=project,
        model_name=model_name,
        generated_at=generated_at.isoformat(timespec="seconds"),
        thresholds=thresholds,
        production=production,
        versions=[
            VersionQuality(version=str(r["version"]), stage=str(r.get("stage")), **release_quality(r))
            for r in ordered
        ],
        monitoring=monitoring,
        incidents=Incidents(
            total=len(incidents),
            open=len(incidents) - closed,
            closed=closed,
            recent=incidents[-RECENT_INCIDENTS:][::-1],
        ),
        actions=Actions(
            **{kind: counts.get(kind, 0) for kind in ACTION_KINDS},
            promotion_decisions=sum(str(a.get("what", "")).startswith("promotion: ") for a in actions),
            total=len(actions),
            recent=actions[-RECENT_ACTIONS:][::-1],
        ),
    )
    findings = [tuple(say(lang, key, **values) for lang in LANGUAGES) for key, values in _findings(kpis)]
    status = "attention" if findings else ("unmonitored" if not windows else "healthy")
    return replace(kpis, findings=findings, status=status)


def compute_kpis(*args, **kwargs) -> dict:
    """``key_figures`` (same arguments) as plain data."""
    return key_figures(*args, **kwargs).as_dict()


def _findings(k: Kpis) -> list[tuple[str, dict]]:
    """What needs attention: (message key, values) pairs, said in both languages by the caller."""
    found: list[tuple[str, dict]] = []
    production, monitoring, limits = k.production, k.monitoring, k.thresholds
    if production is None:
        found.append(("finding_no_production", {}))
    elif (
        production.fairness_score is not None
        and production.fairness_judged  # reported, not judged: the gate's reasons are on the card
        and production.fairness_score < limits.min_fairness
    ):
        found.append(("finding_fairness", {"score": production.fairness_score, "floor": limits.min_fairness}))
    last = monitoring.last
    if last is not None:
        if last["drift_share"] > limits.drift_share:
            found.append(
                (
                    "finding_drift",
                    {"date": last["date"], "share": last["drift_share"], "threshold": limits.drift_share},
                )
            )
        if last["prediction_drifted"]:
            found.append(("finding_prediction_drift", {"date": last["date"]}))
        labelled = monitoring.latest_labelled
        floor = floor_of(labelled, limits)
        if labelled is not None and floor is not None and labelled["live"] < floor and labelled["judged"]:
            metric = labelled["metric"]
            at = {"date": labelled["date"], "metric": metric, "value": Score(metric, labelled["live"])}
            found.append(("finding_live", {**at, "floor": Score(metric, floor)}))
        for entry in (labelled or {}).get("fairness_beyond", []) if limits.live_fairness else []:
            found.append(("finding_live_fairness", _beyond_values(labelled, entry)))
    if k.incidents.open:
        found.append(("finding_incidents", {"count": k.incidents.open}))
    return found


def _beyond_values(window: dict, entry: dict) -> dict:
    """A live disparity beyond its limit as ``finding_live_fairness`` says it."""
    return {
        "date": window["date"],
        "rows": window["fairness_rows"],
        "disparity": entry["disparity"],
        "column": entry["feature"],
        "value": entry["value"],
        "limit": entry["limit"],
    }


def _fairness_kpi(p: Production | None, lang: str) -> str:
    """The fairness score as the KPI table shows it: said reported when the gate did not judge it."""
    shown = dec(p and p.fairness_score, lang)
    if p is None or p.fairness_score is None or p.fairness_judged:
        return shown
    return say(lang, "kpi_reported", value=shown)


# --- narrative (one function, the language's catalogue) ----------------------------------------
def narrative(k: Kpis, lang: str) -> list[str]:
    """The overview paragraphs in ``lang``: production, monitoring, incidents and actions."""
    p, m, lim = k.production, k.monitoring, k.thresholds
    paragraphs = []
    if p is None:
        paragraphs.append(say(lang, "no_production", model=k.model_name))
    else:
        fairness = (
            say(lang, "fairness_not_judged")
            if p.fairness_score is None
            else say(lang, "fairness_reported", fairness=p.fairness_score)
            if not p.fairness_judged
            else say(
                lang,
                "fairness_judged",
                fairness=p.fairness_score,
                verdict=say(lang, "meets" if p.fairness_score >= lim.min_fairness else "misses"),
                floor=lim.min_fairness,
            )
        )
        for column, inputs in p.proxies.items():  # the card's note, said where the fairness is
            listed = ", ".join(f"'{name}'" for name in inputs)
            fairness += " " + say(lang, "proxies", column=column, inputs=listed)
        shown = (names.PRECISION, names.ACCURACY, names.ROC_AUC)  # the sentence gives these already
        selected = (
            say(lang, "selected_on", metric=p.primary_metric, value=p.primary_value)
            if p.primary_metric not in (None, *shown) and p.primary_value is not None
            else ""
        )
        paragraphs.append(
            say(
                lang,
                "production",
                version=p.version,
                model=k.model_name,
                since=say(lang, "registered", date=p.since[:10]) if p.since else "",
                release=say(lang, "release_mitigated" if p.mitigated else "release_trained"),
                precision=p.precision,
                accuracy=p.accuracy,
                roc_auc=p.roc_auc,
                selected=selected,
                fairness=fairness,
            )
        )
    last = m.last
    if last is None:
        paragraphs.append(say(lang, "no_windows"))
    else:
        trend = (
            say(lang, "first_window")
            if m.trend is None
            else say(
                lang, "trend_from", direction=say(lang, f"trend.{m.trend}"), previous=m.previous_drift_share
            )
        )
        text = say(
            lang,
            "windows",
            windows=m.windows,
            first=m.first_date,
            last=m.last_date,
            date=last["date"],
            share=last["drift_share"],
            trend=trend,
            side=say(lang, "above" if last["drift_share"] > lim.drift_share else "within"),
            threshold=lim.drift_share,
            crossed=m.windows_above_threshold,
            prediction=say(lang, "detected" if last["prediction_drifted"] else "not_detected"),
        )
        labelled = m.latest_labelled
        floor = floor_of(labelled, lim)
        if labelled is not None:
            text += say(
                lang,
                "live" if floor is not None else "live_no_floor",
                rows=labelled["labelled_rows"],
                date=labelled["date"],
                metric=labelled["metric"],
                value=Score(labelled["metric"], labelled["live"]),
                floor=Score(labelled["metric"], floor),
            )
            if not labelled["judged"]:
                of = say(lang, f"support.{labelled['support_of']}")
                text += say(
                    lang, "live_not_judged", support=labelled["support"], of=of, fewest=labelled["fewest"]
                )
            if labelled.get("fairness_judged"):  # the release's fairness gate on the same live rows
                reported = labelled.get("fairness_reported") or 0
                if labelled["fairness_beyond"]:
                    key = "beyond" if lim.live_fairness else "beyond_reported"
                else:
                    key = "within_reported" if reported else "within"
                text += say(lang, f"live_fairness_{key}", count=reported)
        else:
            text += say(lang, "no_labels")
        paragraphs.append(text)
    paragraphs.append(
        say(
            lang,
            "activity",
            total=k.incidents.total,
            open=k.incidents.open,
            closed=k.incidents.closed,
            actions=", ".join(
                counted(getattr(k.actions, kind), say(lang, f"action.{kind}")) for kind in ACTION_KINDS
            ),
        )
    )
    return paragraphs


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def kpi_rows(k: Kpis, lang: str) -> list[tuple[str, str]]:
    """(label, value) of the KPI cards and tables in ``lang``; every language has the same rows."""
    p, m, inc = k.production, k.monitoring, k.incidents
    drift = say(lang, "missing")
    if m.last is not None:
        drift = pct(m.last["drift_share"], lang)
        if m.trend is not None:
            drift += f" ({say(lang, f'trend.{m.trend}')})"
    # the metric monitoring judges live: the last labelled window's, else the release's primary one
    metric, live = (p and p.primary_metric) or names.PRECISION, None
    if m.last is not None and m.latest_labelled:
        metric, live = m.latest_labelled["metric"], m.latest_labelled["live"]
    live_label = say(lang, "kpi_live", metric=metric)
    label = catalogue()[lang]["kpi"]
    tested = []  # the test figure of the metric it was selected on, beside the live one, when not a row
    if p and p.primary_metric not in (None, names.PRECISION, names.ACCURACY):
        primary = Score(p.primary_metric, p.primary_value)
        tested = [(_capital(say(lang, "kpi_test", metric=primary.metric)), score(primary, lang))]
    return [
        (label["version"], p.version if p else say(lang, "none")),
        (label["precision"], pct(p and p.precision, lang)),
        (label["accuracy"], pct(p and p.accuracy, lang)),
        *tested,
        (_capital(live_label), score(Score(metric, live), lang)),
        (label["drift"], drift),
        (label["fairness"], _fairness_kpi(p, lang)),
        (label["incidents"], f"{inc.open} / {inc.closed}"),
        (
            label["actions"],
            ", ".join(
                counted(getattr(k.actions, kind), say(lang, f"action_short.{kind}")) for kind in ACTION_KINDS
            ),
        ),
    ]


# --- charts -------------------------------------------------------------------------------------
def charts(k: Kpis, lang: str = "en", only: tuple[str, ...] | None = None) -> dict[str, str]:
    """Inline SVG charts titled and labelled in ``lang``: drift share per window, test quality per
    version, actions and incidents (``only`` picks some). Rates and shares are drawn on a 0..1 axis."""
    wanted = set(only or ("drift", "versions", "activity"))
    out = {}
    windows = k.monitoring.history[-CHART_WINDOWS:]
    if windows and "drift" in wanted:
        frame = pd.DataFrame(
            {say(lang, "series_drift"): [w["drift_share"] for w in windows]},
            index=[w["date"][5:] for w in windows],
        )
        # the metric each window was judged on live: one series per metric (a release on another)
        for metric in dict.fromkeys(w["metric"] for w in windows if w["live"] is not None):
            frame[say(lang, "series_live", metric=metric)] = [
                w["live"] if w["metric"] == metric and w["live"] is not None else float("nan")
                for w in windows
            ]
        out["drift"] = svg_line_chart(
            frame, say(lang, "chart_drift"), reference=k.thresholds.drift_share, ylim=(0, 1), size=CHART_SIZE
        )
    versions = [v for v in k.versions if v.precision is not None][-CHART_VERSIONS:]
    if versions and "versions" in wanted:
        frame = pd.DataFrame(
            {
                say(lang, "series_precision"): [v.precision for v in versions],
                say(lang, "series_accuracy"): [
                    float("nan") if v.accuracy is None else v.accuracy for v in versions
                ],
            },
            index=[f"v{v.version}" for v in versions],
        )
        production = k.production.version if k.production else "—"
        out["versions"] = svg_line_chart(
            frame, say(lang, "chart_versions", version=production), ylim=(0, 1), size=CHART_SIZE
        )
    if "activity" in wanted:
        counts = pd.Series(
            {
                **{
                    plural(say(lang, f"action_short.{kind}")): getattr(k.actions, kind)
                    for kind in ACTION_KINDS
                },
                say(lang, "series_open"): k.incidents.open,
                say(lang, "series_closed"): k.incidents.closed,
            },
            name="count",
        )
        out["activity"] = svg_bar_chart(counts, say(lang, "chart_activity"), width=CHART_SIZE[0])
    return out


# --- rendering ----------------------------------------------------------------------------------
def _when(stamp) -> str:
    """``2026-03-03T02:00:00+00:00`` -> ``2026-03-03 02:00``."""
    return str(stamp or "")[:16].replace("T", " ")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _table_rows(k: Kpis, table: str) -> list[tuple]:
    """The recent incidents or actions as table rows (log text clipped, times to the minute)."""
    if table == "incidents":
        return [
            (
                i.get("id", ""),
                _when(i.get("opened_at")),
                i.get("status", "open"),
                _clip(str(i.get("title", "")), 70),
            )
            for i in k.incidents.recent
        ]
    return [
        (_when(a.get("at")), a.get("who", ""), a.get("what", ""), _clip(str(a.get("why", "")), 80))
        for a in k.actions.recent
    ]


def pages(k: Kpis, with_charts: bool = True) -> list[dict]:
    """What each page states, in its language (``LAYOUT``): the templates lay it out."""
    card = k.production.card if k.production else None
    statuses = [say(lang, f"status.{k.status}") for lang in LANGUAGES]
    en_rows, es_rows = (kpi_rows(k, lang) for lang in LANGUAGES)
    # the cards: both labels, the English value (the actions, a long list, are left to the tables)
    cards = [(en, es, value) for (en, value), (es, _) in zip(en_rows[:-1], es_rows[:-1], strict=True)]
    out = []
    for lang in LANGUAGES:
        layout, table = LAYOUT[lang], LAYOUT[lang]["table"]
        svgs = charts(k, lang, only=layout["charts"]) if with_charts else {}
        out.append(
            {
                "lang": lang,
                "m": catalogue()[lang],
                "title": say(lang, "title", project=k.project),
                "meta": say(lang, "meta", model=k.model_name, when=_when(k.generated_at)),
                "paragraphs": narrative(k, lang),
                "findings": [finding[LANGUAGES.index(lang)] for finding in k.findings],
                "status": " / ".join(statuses) if layout["both"] else statuses[LANGUAGES.index(lang)],
                "kpis": kpi_rows(k, lang),
                "cards": cards if layout["cards"] else [],
                "overview_heading": layout["heading"],
                "card": card if layout["cards"] else None,
                "charts": list(svgs.values()),
                "no_drift_chart": "drift" in layout["charts"] and "drift" not in svgs,
                "table": table,
                "rows": _table_rows(k, table),
            }
        )
    return out


def _md_cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_html(k: Kpis) -> str:
    """The two print pages as one standalone HTML document (``templates/brief.html.j2``)."""
    template = template_environment(True).get_template("brief.html.j2")
    return template.render(k=k, pages=pages(k), title=say("en", "document_title", project=k.project))


def render_markdown(k: Kpis) -> str:
    """The Markdown twin (``templates/brief.md.j2``): the same text and numbers, no charts."""
    template = template_environment(False, {"cell": _md_cell}).get_template("brief.md.j2")
    return template.render(
        k=k, pages=pages(k, with_charts=False), title=say("en", "document_title", project=k.project)
    )


def build_brief(
    project: str,
    model_name: str,
    versions: list[dict],
    incidents: list[dict],
    actions: list[dict],
    thresholds: Thresholds,
    generated_at: datetime,
) -> Brief:
    """The brief as HTML and Markdown, with the KPIs both state."""
    kpis = key_figures(project, model_name, versions, incidents, actions, thresholds, generated_at)
    return Brief(html=render_html(kpis), markdown=render_markdown(kpis), kpis=kpis.as_dict(), facts=kpis)
