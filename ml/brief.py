"""Executive brief: a two-page summary of the model for people who do not read pipeline logs.

Page 1 is the English overview (status, KPIs, small charts), page 2 the Spanish executive summary
(the same numbers and verdicts, written out) with the recent incidents and actions. Print-friendly
HTML (A4, inline SVG charts, no JavaScript, no network) and a Markdown twin with the same numbers.

Plain data in, no ZenML: ``versions`` are the rows of ``registry.models.describe_versions`` (version,
stage, metrics, fairness_score, release, mitigated, created, monitoring metadata), ``incidents`` and
``actions`` the records of the incident and audit logs (``ml.alerts``). ``build_brief`` returns the
HTML, the Markdown and the KPIs it computed.
"""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from ml import names
from ml.reports import html_table, svg_bar_chart, svg_line_chart

CLOSED_STATUSES = ("closed", "resolved")
TREND_TOLERANCE = 0.05  # a change of drift share smaller than this is "stable"
CHART_WINDOWS = 30  # the drift chart shows the last windows only
RECENT_INCIDENTS = 4
RECENT_ACTIONS = 6
CHART_VERSIONS = 8
CHART_SIZE = (3.2, 2.3)  # inches: three charts side by side on an A4 page
ACTION_KINDS = ("promotions", "rollbacks", "retrainings", "alerts", "deployments")

STATUS_LABELS = {
    "attention": ("Needs attention", "Requiere atención"),
    "unmonitored": ("Not monitored yet", "Sin monitorización aún"),
    "healthy": ("Healthy", "Estable"),
}
TREND_LABELS = {
    "rising": ("rising", "al alza"),
    "falling": ("falling", "a la baja"),
    "stable": ("stable", "estable"),
}
ACTION_LABELS = {
    "promotions": ("promotions to production", "promociones a producción"),
    "rollbacks": ("rollbacks", "reversiones"),
    "retrainings": ("retrainings", "reentrenamientos"),
    "alerts": ("alerts", "alertas"),
    "deployments": ("deployments", "despliegues"),
}


@dataclass(frozen=True)
class Thresholds:
    """The limits the verdicts use: monitoring's drift share and precision floor, training's fairness
    floor (minimum demographic parity ratio)."""

    drift_share: float
    min_precision: float
    min_fairness: float

    def __post_init__(self) -> None:
        for field in ("drift_share", "min_precision", "min_fairness"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ValueError(
                    f"Thresholds.{field} is {value!r}; pass a number between 0 and 1 "
                    "(configs/monitoring.yaml thresholds, configs/training.yaml "
                    "fairness.min_demographic_parity_ratio)"
                )


@dataclass(frozen=True)
class Brief:
    html: str
    markdown: str
    kpis: dict


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


# --- inputs -> KPIs -----------------------------------------------------------------------------
def _number(value) -> float | None:
    return None if value is None else float(value)


def _version_key(name) -> tuple[int, str]:
    text = str(name)
    return (int(text), text) if text.isdigit() else (-1, text)


def release_quality(row: dict) -> dict:
    """Test-split precision, accuracy, ROC AUC and fairness score of what a version serves: the
    fairness-mitigated model's when that is its release, else the plain model's."""
    mitigated = row.get("mitigated") or {}
    if row.get("release") == names.MITIGATED_MODEL and mitigated.get("available"):
        metrics = mitigated.get("metrics") or {}
        fairness = (mitigated.get(names.FAIRNESS) or {}).get(names.FAIRNESS_SCORE)
        is_mitigated = True
    else:
        metrics, fairness, is_mitigated = row.get("metrics") or {}, row.get("fairness_score"), False
    return {
        "precision": _number(metrics.get(names.PRECISION)),
        "accuracy": _number(metrics.get(names.ACCURACY)),
        "roc_auc": _number(metrics.get(names.ROC_AUC)),
        "fairness_score": _number(fairness),
        "mitigated": is_mitigated,
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
        windows.append(
            {
                "date": day,
                "model_version": str(drift.get("model_version", "")),
                "drift_share": float(drift["drift_share"]),
                "drifted_columns": sorted(drift.get("drifted_columns") or {}),
                "prediction_drifted": bool(prediction.get("drifted")),
                "precision": _number(quality.get(names.PRECISION)),
                "accuracy": _number(quality.get(names.ACCURACY)),
                "labelled_rows": quality.get("labelled_rows"),
                "breaches": [b.get("metric") for b in decision.get("breaches", [])],
            }
        )
    return windows


def _action_kind(what: str) -> str | None:
    if what == "promotion: production":
        return "promotions"
    return {
        "rollback": "rollbacks",
        "retraining": "retrainings",
        "alert": "alerts",
        "deployment": "deployments",
    }.get(what)


def compute_kpis(
    project: str,
    model_name: str,
    versions: list[dict],
    incidents: list[dict],
    actions: list[dict],
    thresholds: Thresholds,
    generated_at: datetime,
) -> dict:
    """Everything the brief states, as plain data (the HTML and Markdown only format it)."""
    ordered = sorted(versions, key=lambda r: _version_key(r["version"]))
    production_row = next((r for r in ordered if r.get("stage") == "production"), None)
    production = None
    if production_row is not None:
        production = {
            "version": str(production_row["version"]),
            "since": production_row.get("created"),
            "card": production_row.get("card"),
            **release_quality(production_row),
        }
    windows = monitoring_windows(versions)
    monitoring = {"windows": len(windows), "history": windows, "last": None, "trend": None}
    if windows:
        last = windows[-1]
        previous = windows[-2]["drift_share"] if len(windows) > 1 else None
        trend = None
        if previous is not None:
            delta = last["drift_share"] - previous
            trend = "stable" if abs(delta) < TREND_TOLERANCE else ("rising" if delta > 0 else "falling")
        labelled = [w for w in windows if w["precision"] is not None]
        monitoring.update(
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
    kpis = {
        "project": project,
        "model_name": model_name,
        "generated_at": generated_at.isoformat(timespec="seconds"),
        "thresholds": {
            "drift_share": thresholds.drift_share,
            "min_precision": thresholds.min_precision,
            "min_fairness": thresholds.min_fairness,
        },
        "production": production,
        "versions": [
            {"version": str(r["version"]), "stage": str(r.get("stage")), **release_quality(r)}
            for r in ordered
        ],
        "monitoring": monitoring,
        "incidents": {
            "total": len(incidents),
            "open": len(incidents) - closed,
            "closed": closed,
            "recent": incidents[-RECENT_INCIDENTS:][::-1],
        },
        "actions": {
            **{kind: counts.get(kind, 0) for kind in ACTION_KINDS},
            "promotion_decisions": sum(str(a.get("what", "")).startswith("promotion: ") for a in actions),
            "total": len(actions),
            "recent": actions[-RECENT_ACTIONS:][::-1],
        },
    }
    kpis["findings"] = _findings(kpis, thresholds)
    if kpis["findings"]:
        kpis["status"] = "attention"
    elif not windows:
        kpis["status"] = "unmonitored"
    else:
        kpis["status"] = "healthy"
    return kpis


def _findings(kpis: dict, limits: Thresholds) -> list[tuple[str, str]]:
    """What needs attention, as (English, Spanish) sentences with the numbers."""
    found = []
    production, monitoring = kpis["production"], kpis["monitoring"]
    if production is None:
        found.append(
            (
                "No model version is in production: train one (`python run.py train`).",
                "Ninguna versión del modelo está en producción: entrene una (`python run.py train`).",
            )
        )
    else:
        score = production["fairness_score"]
        if score is not None and score < limits.min_fairness:
            found.append(
                (
                    f"Fairness score {dec(score)} is below the {dec(limits.min_fairness)} floor: review "
                    "the fairness report before the next promotion.",
                    f"La puntuación de equidad {dec(score, 'es')} está por debajo del mínimo "
                    f"{dec(limits.min_fairness, 'es')}: revise el informe de equidad antes de la próxima "
                    "promoción.",
                )
            )
    last = monitoring["last"]
    if last is not None:
        if last["drift_share"] > limits.drift_share:
            found.append(
                (
                    f"Data drift on {last['date']}: {pct(last['drift_share'])} of the features drifted "
                    f"(threshold {pct(limits.drift_share)}); read the drift report and retrain if the "
                    "customer population changed.",
                    f"Deriva de datos el {last['date']}: el {pct(last['drift_share'], 'es')} de las "
                    f"variables derivó (umbral {pct(limits.drift_share, 'es')}); lea el informe de deriva y "
                    "reentrene si cambió la población de clientes.",
                )
            )
        if last["prediction_drifted"]:
            found.append(
                (
                    f"The distribution of predictions drifted on {last['date']}.",
                    f"La distribución de las predicciones derivó el {last['date']}.",
                )
            )
        labelled = monitoring["latest_labelled"]
        if labelled is not None and labelled["precision"] < limits.min_precision:
            found.append(
                (
                    f"Precision on labelled data ({labelled['date']}) is {pct(labelled['precision'])}, "
                    f"below the {pct(limits.min_precision)} floor: the model is losing accuracy in "
                    "production; retrain or roll back.",
                    f"La precisión con datos etiquetados ({labelled['date']}) es "
                    f"{pct(labelled['precision'], 'es')}, por debajo del mínimo "
                    f"{pct(limits.min_precision, 'es')}: el modelo pierde acierto en producción; reentrene "
                    "o vuelva a la versión anterior.",
                )
            )
    if kpis["incidents"]["open"]:
        count = kpis["incidents"]["open"]
        found.append(
            (
                f"{count} incident(s) still open: follow the incident playbook (runbooks/en/07).",
                f"{count} incidente(s) siguen abiertos: siga el playbook de incidentes (runbooks/es/07).",
            )
        )
    return found


# --- narrative (one function per language, same facts) ------------------------------------------
def _overview_en(k: dict) -> list[str]:
    p, m, inc, act, lim = k["production"], k["monitoring"], k["incidents"], k["actions"], k["thresholds"]
    paragraphs = []
    if p is None:
        paragraphs.append(f"No version of {k['model_name']} is in production yet.")
    else:
        since = f" (registered {p['since'][:10]})" if p["since"] else ""
        release = "the fairness-mitigated model" if p["mitigated"] else "the trained model"
        verdict = (
            "meets" if p["fairness_score"] is None or p["fairness_score"] >= lim["min_fairness"] else "misses"
        )
        paragraphs.append(
            f"Version {p['version']} of {k['model_name']} is in production{since}, serving {release}. On the "
            f"held-out test set {pct(p['precision'])} of the customers it flags as positive are positive "
            f"(precision) and {pct(p['accuracy'])} of all its predictions are right (accuracy); ROC AUC "
            f"{dec(p['roc_auc'])}. Its fairness score (lowest demographic parity ratio) is "
            f"{dec(p['fairness_score'])}, which {verdict} the {dec(lim['min_fairness'])} floor."
        )
    if m["last"] is None:
        paragraphs.append(
            "No monitoring window has run yet, so data drift and live precision are unknown: run "
            "`python run.py monitor` after scoring."
        )
    else:
        last = m["last"]
        trend = (
            "first window"
            if m["trend"] is None
            else f"{TREND_LABELS[m['trend']][0]} from {pct(m['previous_drift_share'])} in the previous window"
        )
        side = "above" if last["drift_share"] > lim["drift_share"] else "within"
        text = (
            f"{m['windows']} monitoring window(s) from {m['first_date']} to {m['last_date']}. Drift rate on "
            f"{last['date']}: {pct(last['drift_share'])} of the features drifted ({trend}), {side} the "
            f"{pct(lim['drift_share'])} threshold; {m['windows_above_threshold']} window(s) crossed it. "
            f"Prediction drift: {'detected' if last['prediction_drifted'] else 'not detected'}."
        )
        labelled = m["latest_labelled"]
        if labelled is not None:
            text += (
                f" Live precision on {labelled['labelled_rows']} labelled customers ({labelled['date']}): "
                f"{pct(labelled['precision'])} (floor {pct(lim['min_precision'])})."
            )
        else:
            text += " No labels have arrived yet, so live precision is unknown."
        paragraphs.append(text)
    paragraphs.append(
        f"Incidents: {inc['total']} ({inc['open']} open, {inc['closed']} closed). Actions recorded in the "
        "audit log: " + ", ".join(f"{act[kind]} {ACTION_LABELS[kind][0]}" for kind in ACTION_KINDS) + "."
    )
    return paragraphs


def _summary_es(k: dict) -> list[str]:
    p, m, inc, act, lim = k["production"], k["monitoring"], k["incidents"], k["actions"], k["thresholds"]
    paragraphs = []
    if p is None:
        paragraphs.append(f"Todavía no hay ninguna versión de {k['model_name']} en producción.")
    else:
        since = f" (registrada el {p['since'][:10]})" if p["since"] else ""
        release = "el modelo con mitigación de sesgo" if p["mitigated"] else "el modelo entrenado"
        ok = p["fairness_score"] is None or p["fairness_score"] >= lim["min_fairness"]
        paragraphs.append(
            f"La versión {p['version']} de {k['model_name']} está en producción{since} y sirve {release}. "
            f"En el conjunto de prueba, el {pct(p['precision'], 'es')} de los clientes que marca como "
            f"positivos lo son (precisión) y acierta el {pct(p['accuracy'], 'es')} de todas sus "
            f"predicciones (exactitud); ROC AUC {dec(p['roc_auc'], 'es')}. Su puntuación de equidad (menor "
            f"ratio de paridad demográfica) es {dec(p['fairness_score'], 'es')}: "
            f"{'cumple' if ok else 'no cumple'} el mínimo de {dec(lim['min_fairness'], 'es')}."
        )
    if m["last"] is None:
        paragraphs.append(
            "Aún no se ha ejecutado ninguna ventana de monitorización: la deriva de datos y la precisión "
            "real son desconocidas. Ejecute `python run.py monitor` después de puntuar."
        )
    else:
        last = m["last"]
        trend = (
            "primera ventana"
            if m["trend"] is None
            else f"{TREND_LABELS[m['trend']][1]} desde el {pct(m['previous_drift_share'], 'es')} "
            "de la ventana anterior"
        )
        side = "por encima del" if last["drift_share"] > lim["drift_share"] else "dentro del"
        text = (
            f"{m['windows']} ventana(s) de monitorización del {m['first_date']} al {m['last_date']}. "
            f"Tasa de deriva el {last['date']}: el {pct(last['drift_share'], 'es')} de las variables "
            f"derivó ({trend}), {side} umbral del {pct(lim['drift_share'], 'es')}; "
            f"{m['windows_above_threshold']} ventana(s) lo superaron. Deriva de predicciones: "
            f"{'detectada' if last['prediction_drifted'] else 'no detectada'}."
        )
        labelled = m["latest_labelled"]
        if labelled is not None:
            text += (
                f" Precisión real con {labelled['labelled_rows']} clientes etiquetados ({labelled['date']}): "
                f"{pct(labelled['precision'], 'es')} (mínimo {pct(lim['min_precision'], 'es')})."
            )
        else:
            text += " Aún no han llegado etiquetas, por lo que la precisión real es desconocida."
        paragraphs.append(text)
    paragraphs.append(
        f"Incidentes: {inc['total']} ({inc['open']} abiertos, {inc['closed']} cerrados). Acciones "
        "registradas en el registro de auditoría: "
        + ", ".join(f"{act[kind]} {ACTION_LABELS[kind][1]}" for kind in ACTION_KINDS)
        + "."
    )
    return paragraphs


def kpi_rows(k: dict) -> list[tuple[str, str, str, str]]:
    """(English label, Spanish label, English value, Spanish value) for the KPI cards and tables."""
    p, m, inc, act = k["production"], k["monitoring"], k["incidents"], k["actions"]
    last = m["last"]
    drift_en = drift_es = "n/a"
    if last is not None:
        drift_en, drift_es = pct(last["drift_share"]), pct(last["drift_share"], "es")
        if m["trend"] is not None:
            drift_en += f" ({TREND_LABELS[m['trend']][0]})"
            drift_es += f" ({TREND_LABELS[m['trend']][1]})"
    else:
        drift_es = "n/d"
    labelled = m["latest_labelled"] if last is not None else None
    live = labelled["precision"] if labelled else None
    actions_en = ", ".join(f"{act[kind]} {kind}" for kind in ACTION_KINDS)
    actions_es = ", ".join(f"{act[kind]} {ACTION_LABELS[kind][1].split()[0]}" for kind in ACTION_KINDS)
    return [
        (
            "Production version",
            "Versión en producción",
            p["version"] if p else "none",
            p["version"] if p else "ninguna",
        ),
        (
            "Precision (test)",
            "Precisión (prueba)",
            pct(p and p["precision"]),
            pct(p and p["precision"], "es"),
        ),
        ("Accuracy (test)", "Exactitud (prueba)", pct(p and p["accuracy"]), pct(p and p["accuracy"], "es")),
        ("Precision (live, labelled)", "Precisión (real, etiquetada)", pct(live), pct(live, "es")),
        ("Drift rate (last window)", "Tasa de deriva (última ventana)", drift_en, drift_es),
        (
            "Fairness score",
            "Puntuación de equidad",
            dec(p and p["fairness_score"]),
            dec(p and p["fairness_score"], "es"),
        ),
        (
            "Incidents (open / closed)",
            "Incidentes (abiertos / cerrados)",
            f"{inc['open']} / {inc['closed']}",
            f"{inc['open']} / {inc['closed']}",
        ),
        ("Actions", "Acciones", actions_en, actions_es),
    ]


# --- charts -------------------------------------------------------------------------------------
def charts(k: dict) -> dict[str, str]:
    """Inline SVG charts: drift share per window, test quality per version, actions and incidents."""
    out = {}
    windows = k["monitoring"]["history"][-CHART_WINDOWS:]
    if windows:
        frame = pd.DataFrame(
            {"drift share": [w["drift_share"] for w in windows]}, index=[w["date"][5:] for w in windows]
        )
        if any(w["precision"] is not None for w in windows):
            frame["precision (labelled)"] = [w["precision"] for w in windows]
        out["drift"] = svg_line_chart(
            frame,
            "Drift per window / Deriva por ventana",
            reference=k["thresholds"]["drift_share"],
            ylim=(0, 1),
            size=CHART_SIZE,
        )
    versions = [v for v in k["versions"] if v["precision"] is not None][-CHART_VERSIONS:]
    if versions:
        frame = pd.DataFrame(
            {
                "precision": [v["precision"] for v in versions],
                "accuracy": [float("nan") if v["accuracy"] is None else v["accuracy"] for v in versions],
            },
            index=[f"v{v['version']}" for v in versions],
        )
        production = k["production"]["version"] if k["production"] else "—"
        out["versions"] = svg_line_chart(
            frame, f"Test quality per version (production v{production})", size=CHART_SIZE
        )
    counts = pd.Series(
        {
            **{kind: k["actions"][kind] for kind in ACTION_KINDS},
            "incidents open": k["incidents"]["open"],
            "incidents closed": k["incidents"]["closed"],
        },
        name="count",
    )
    out["activity"] = svg_bar_chart(counts, "Actions and incidents", width=CHART_SIZE[0])
    return out


# --- rendering ----------------------------------------------------------------------------------
CSS = """
@page { size: A4; margin: 12mm; }
body { font-family: system-ui, sans-serif; color: #222; font-size: 10pt; margin: 0 auto; max-width: 190mm; }
.page { break-after: page; page-break-after: always; padding: 4mm 0; }
.page:last-child { break-after: auto; page-break-after: auto; }
h1 { font-size: 16pt; margin: 0 0 2mm; } h2 { font-size: 12pt; margin: 4mm 0 2mm; }
.meta { color: #555; font-size: 9pt; }
.status { display: inline-block; padding: 1mm 3mm; border-radius: 2mm; font-weight: 600; }
.status.attention { background: #fde2e1; color: #8a1c14; }
.status.healthy { background: #dcf3e3; color: #17703a; }
.status.unmonitored { background: #eee; color: #444; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 2mm; margin: 3mm 0; }
.card { border: 1px solid #ddd; border-radius: 2mm; padding: 2mm; }
.card .label { font-size: 8pt; color: #555; } .card .value { font-size: 11pt; font-weight: 600; }
.charts { display: grid; grid-template-columns: 1fr 1fr 1fr; gap: 2mm; break-inside: avoid; }
.charts svg { width: 100%; height: auto; max-height: 45mm; }
table.table { border-collapse: collapse; font-size: 8.5pt; width: 100%; }
table.table th, table.table td { padding: 0.6mm 1.5mm; border-bottom: 1px solid #ddd; text-align: left; }
table.table td:first-child, table.table td:nth-child(2) { white-space: nowrap; }
ul { margin: 1mm 0; padding-left: 5mm; }
"""


def _when(stamp) -> str:
    """``2026-03-03T02:00:00+00:00`` -> ``2026-03-03 02:00``."""
    return str(stamp or "")[:16].replace("T", " ")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _esc(text) -> str:
    return html.escape(str(text))


def _incident_frame(k: dict, lang: str) -> pd.DataFrame:
    labels = ("id", "opened", "status", "title") if lang == "en" else ("id", "abierto", "estado", "título")
    rows = [
        (
            i.get("id", ""),
            _when(i.get("opened_at")),
            i.get("status", "open"),
            _clip(str(i.get("title", "")), 70),
        )
        for i in k["incidents"]["recent"]
    ]
    return pd.DataFrame(rows, columns=list(labels))


def _action_frame(k: dict, lang: str) -> pd.DataFrame:
    labels = ("when", "who", "what", "why") if lang == "en" else ("cuándo", "quién", "qué", "por qué")
    rows = [
        (_when(a.get("at")), a.get("who", ""), a.get("what", ""), _clip(str(a.get("why", "")), 80))
        for a in k["actions"]["recent"]
    ]
    return pd.DataFrame(rows, columns=list(labels))


def render_html(k: dict, svgs: dict[str, str]) -> str:
    en_status, es_status = STATUS_LABELS[k["status"]]
    cards = "".join(
        f'<div class="card"><div class="label">{_esc(en)} / {_esc(es)}</div>'
        f'<div class="value">{_esc(v_en)}</div></div>'
        for en, es, v_en, _ in kpi_rows(k)[:-1]
    )
    findings_en = (
        "".join(f"<li>{_esc(en)}</li>" for en, _ in k["findings"]) or "<li>Nothing needs attention.</li>"
    )
    findings_es = (
        "".join(f"<li>{_esc(es)}</li>" for _, es in k["findings"]) or "<li>Nada requiere atención.</li>"
    )
    chart_html = "".join(f"<div>{svg}</div>" for svg in svgs.values())
    if "drift" not in svgs:
        chart_html = (
            "<div><p><em>No monitoring windows yet / Aún no hay ventanas de monitorización.</em></p></div>"
            + chart_html
        )
    overview = "".join(f"<p>{_esc(p)}</p>" for p in _overview_en(k))
    summary = "".join(f"<p>{_esc(p)}</p>" for p in _summary_es(k))
    kpi_es = pd.DataFrame([(es, v_es) for _, es, _, v_es in kpi_rows(k)], columns=["indicador", "valor"])
    incidents_en = (
        html_table(_incident_frame(k, "en"), index=False)
        if k["incidents"]["recent"]
        else "<p>None recorded / Ninguno registrado.</p>"
    )
    actions_es = (
        html_table(_action_frame(k, "es"), index=False)
        if k["actions"]["recent"]
        else "<p>Ninguna registrada / None recorded.</p>"
    )
    title = f"{k['project']}: executive brief / informe ejecutivo"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_esc(title)}</title>
<style>{CSS}</style></head>
<body>
<div class="page" lang="en">
<h1>{_esc(k["project"])} — executive brief</h1>
<p class="meta">Model {_esc(k["model_name"])} · generated {_esc(_when(k["generated_at"]))} UTC ·
<span class="status {k["status"]}">{_esc(en_status)} / {_esc(es_status)}</span></p>
<div class="cards">{cards}</div>
{_card_link_html(k)}
<h2>Overview</h2>
{overview}
<h2>Needs attention</h2>
<ul>{findings_en}</ul>
<div class="charts">{chart_html}</div>
<h2>Recent incidents / Incidentes recientes</h2>
{incidents_en}
</div>
<div class="page" lang="es">
<h1>Resumen ejecutivo</h1>
<p class="meta">Modelo {_esc(k["model_name"])} · generado {_esc(_when(k["generated_at"]))} UTC ·
Estado: <span class="status {k["status"]}">{_esc(es_status)}</span></p>
{summary}
<h2>Puntos de atención</h2>
<ul>{findings_es}</ul>
<h2>Indicadores</h2>
{html_table(kpi_es, index=False)}
<h2>Acciones recientes / Recent actions</h2>
{actions_es}
</div>
</body></html>
"""


def _card_link_html(k: dict) -> str:
    """The production version's model card (``python run.py card``), when it has one."""
    card = (k.get("production") or {}).get("card")
    if not card:
        return ""
    return f'<p>Model card / Ficha del modelo: <a href="{_esc(card)}">{_esc(card)}</a></p>'


def _card_link_md(k: dict) -> list[str]:
    card = (k.get("production") or {}).get("card")
    return [f"Model card / Ficha del modelo: [{card}]({card})", ""] if card else []


def _md_table(frame: pd.DataFrame) -> str:
    def cell(value) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    header = "| " + " | ".join(cell(c) for c in frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def render_markdown(k: dict) -> str:
    en_status, es_status = STATUS_LABELS[k["status"]]
    rows = kpi_rows(k)
    kpis_en = pd.DataFrame([(en, v) for en, _, v, _ in rows], columns=["KPI", "value"])
    kpis_es = pd.DataFrame([(es, v) for _, es, _, v in rows], columns=["Indicador", "Valor"])
    lines = [
        f"# {k['project']} — executive brief / informe ejecutivo",
        "",
        f"Model {k['model_name']} · generated {_when(k['generated_at'])} UTC · **{en_status} / {es_status}**",
        "",
        *_card_link_md(k),
        "## Overview",
        "",
        *[f"{p}\n" for p in _overview_en(k)],
        _md_table(kpis_en),
        "",
        "### Needs attention",
        "",
        *([f"- {en}" for en, _ in k["findings"]] or ["- Nothing needs attention."]),
        "",
        "## Resumen ejecutivo",
        "",
        f"Estado: **{es_status}**",
        "",
        *[f"{p}\n" for p in _summary_es(k)],
        _md_table(kpis_es),
        "",
        "### Puntos de atención",
        "",
        *([f"- {es}" for _, es in k["findings"]] or ["- Nada requiere atención."]),
        "",
        "## Recent incidents / Incidentes recientes",
        "",
        _md_table(_incident_frame(k, "en"))
        if k["incidents"]["recent"]
        else "None recorded / Ninguno registrado.",
        "",
        "## Recent actions / Acciones recientes",
        "",
        _md_table(_action_frame(k, "en"))
        if k["actions"]["recent"]
        else "None recorded / Ninguna registrada.",
        "",
        "Charts: see the HTML brief / Gráficos: véase el informe HTML.",
        "",
    ]
    return "\n".join(lines)


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
    kpis = compute_kpis(project, model_name, versions, incidents, actions, thresholds, generated_at)
    return Brief(html=render_html(kpis, charts(kpis)), markdown=render_markdown(kpis), kpis=kpis)
