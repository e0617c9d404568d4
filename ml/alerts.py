"""Alerts: bilingual (EN/ES) messages for Slack and Microsoft Teams, and the incident and audit records.

``build_alert`` turns threshold breaches into a neutral alert dict; ``slack_payload`` and
``teams_payload`` render it for each chat tool; ``incident_record`` and ``audit_record`` build the
lines of the incident and audit logs. Sending and appending are the edges' work:
``adapters.webhook.deliver`` POSTs a payload, ``adapters.records`` appends the records.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

RUNBOOK_INCIDENT = "runbooks/en/07-incident-playbook.md#detection"
RUNBOOK_SERVING = "runbooks/en/05-deployment.md#when-the-service-is-slow-or-failing"
# Breaches of the service's health: a retrained model would not fix them, the serving runbook does.
SERVING_METRICS = frozenset({"latency_p99_ms"})
DIRECTIONS = ("above", "below")
ALERT_KEYS = ("title_en", "text_en", "summary_es", "runbook_url", "action", "breaches", "at")

_SLACK_HEADER_MAX = 150
_SLACK_TEXT_MAX = 3000


@dataclass(frozen=True)
class Breach:
    """A monitored metric on the wrong side of its threshold (``direction``: the side that breaks it)."""

    metric: str
    value: float
    threshold: float
    direction: str  # "above" or "below"
    detail: str = ""

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(
                f"Breach({self.metric!r}): direction is {self.direction!r}; use 'above' (value > threshold "
                "breaks the rule) or 'below' (value < threshold breaks it)"
            )
        for field in ("value", "threshold"):
            number = getattr(self, field)
            if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
                raise ValueError(
                    f"Breach({self.metric!r}): {field} is {number!r}; pass a finite number (an undefined "
                    "metric cannot be compared with a threshold, report it in `detail` instead)"
                )
            object.__setattr__(self, field, float(number))  # numpy scalars -> plain floats for JSON
        wrong_side = self.value < self.threshold if self.direction == "above" else self.value > self.threshold
        if wrong_side:
            raise ValueError(
                f"Breach({self.metric!r}): value {self.value} is not {self.direction} threshold "
                f"{self.threshold}; only report a breach when the value is on the side that breaks the rule"
            )

    def comparison(self) -> str:
        """``drift_share 0.45 > 0.30`` (``>=`` / ``<=`` when the value sits on the threshold)."""
        sign = ">" if self.direction == "above" else "<"
        if self.value == self.threshold:
            sign += "="
        return f"{self.metric} {fmt(self.value)} {sign} {fmt(self.threshold)}"


@dataclass(frozen=True)
class Actions:
    """What a monitoring run does about its breaches, and the words every record of it uses."""

    retrain: bool  # drift or quality decay asked for a retraining (and `retrain` is on)
    launched: bool  # this run's caller launches it now (not deferred, not a scheduled run)
    runbook: str
    text: str  # "english / spanish", in the alert, the incident and the audit log

    @property
    def retraining_record(self) -> str | None:
        """The audit log's ``what`` for the retraining: launched, deferred, or none."""
        if not self.retrain:
            return None
        return "retraining" if self.launched else "retraining deferred"


def plan_actions(breaches: list[Breach], retrain_enabled: bool, launch: bool) -> Actions:
    """Only drift and quality decay retrain; serving-health breaches point at the serving runbook.
    ``launch``: whoever runs the monitoring launches the training right after (``run.py monitor``
    without ``--defer-retraining``); otherwise a retraining is recorded as deferred, never as done."""
    model = [b for b in breaches if b.metric not in SERVING_METRICS]
    serving = [b for b in breaches if b.metric in SERVING_METRICS]
    retrain = bool(model) and retrain_enabled
    words = []
    if retrain and launch:
        words.append(("retraining triggered", "reentrenamiento lanzado"))
    elif retrain:
        words.append(("retraining requested, deferred to the caller", "reentrenamiento solicitado, aplazado"))
    elif model:
        words.append(("investigate", "investigar"))
    if serving:
        words.append(("check the service (serving runbook)", "revisar el servicio (runbook de servicio)"))
    text = "; ".join(en for en, _ in words) + " / " + "; ".join(es for _, es in words) if words else ""
    runbook = RUNBOOK_SERVING if serving and not model else RUNBOOK_INCIDENT
    return Actions(retrain, retrain and launch, runbook, text)


def fmt(number: float) -> str:
    """Two decimals when that is exact (0.3 -> ``0.30``), else four significant digits (0.0123)."""
    if math.isfinite(number) and abs(number) >= 0.01 and round(number, 2) == number:
        return f"{number:.2f}"
    return f"{number:.4g}"


def _now() -> datetime:
    return datetime.now(UTC)


def fairness_metric(disparity: str, column: str) -> str:
    """The name of a live fairness breach: ``equalized_odds_difference[gender]``."""
    return f"{disparity}[{column}]"


def is_fairness_metric(metric: str) -> bool:
    """Whether a breach's metric is a fairness disparity (``fairness_metric``)."""
    return bool(re.fullmatch(r"[a-z_]+\[.+\]", metric))


def _headline(breaches: list[Breach]) -> tuple[str, str]:
    """(English, Spanish) headline: data drift when every breached metric is a drift metric, a
    fairness limit when every one is a fairness disparity."""
    if all("drift" in b.metric.lower() for b in breaches):
        return "Data drift detected", "Deriva de datos detectada"
    if all(is_fairness_metric(b.metric) for b in breaches):
        return "Fairness limit breached", "Límite de equidad superado"
    return "Monitoring threshold breached", "Umbral de monitorización superado"


def build_alert(
    project: str,
    model_name: str,
    model_version: str,
    breaches: list[Breach],
    runbook_url: str,
    action: str,
    window: str | None = None,
) -> dict:
    """A neutral alert (no chat format yet): English text, Spanish summary, runbook, action, breaches.

    Every breach appears in ``text_en`` and ``summary_es`` as ``metric value > threshold``; the
    monitored ``window`` (its date), when given, in the title and both texts.
    """
    if not breaches:
        raise ValueError(
            f"build_alert({project!r}, {model_name!r}): no breaches given; only alert when a check failed"
        )
    if not all(isinstance(b, Breach) for b in breaches):
        kinds = sorted({type(b).__name__ for b in breaches})
        raise TypeError(
            f"build_alert: breaches must be Breach objects, got {kinds}; wrap each in Breach(...)"
        )
    headline_en, headline_es = _headline(breaches)
    window_en, window_es = (f", window {window}", f", ventana {window}") if window else ("", "")
    where_en = f"{project}, model {model_name} version {model_version}{window_en}"
    where_es = f"{project}, modelo {model_name} versión {model_version}{window_es}"
    lines = [
        f"- {b.comparison()} ({b.direction} the threshold)" + (f": {b.detail}" if b.detail else "")
        for b in breaches
    ]
    text_en = "\n".join([f"{headline_en} in {where_en}:", *lines, f"Action taken: {action}"])
    summary_es = (
        f"{headline_es}: " + "; ".join(b.comparison() for b in breaches) + f" ({where_es}). Acción: {action}"
    )
    return {
        "title_en": f"[{project}] {headline_en}: {model_name} v{model_version}{window_en}",
        "text_en": text_en,
        "summary_es": summary_es,
        "runbook_url": runbook_url,
        "action": action,
        "breaches": [asdict(b) for b in breaches],
        "at": _now().isoformat(timespec="seconds"),
        "project": project,
        "model_name": model_name,
        "model_version": str(model_version),
        "window": window,
    }


def _require_alert(alert: dict, caller: str) -> None:
    missing = [key for key in ALERT_KEYS if key not in alert]
    if missing:
        raise ValueError(
            f"{caller}: the alert lacks {missing} (has {sorted(alert)}); build it with build_alert()"
        )


def _breach_line(breach: dict) -> str:
    return Breach(**breach).comparison()


def _slack_escape(text: str) -> str:
    """Slack mrkdwn control characters (``&``, ``<``, ``>``) as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_payload(alert: dict) -> dict:
    """Slack incoming-webhook message: ``text`` (notification fallback) plus header / section / context
    blocks with the English text, the Spanish summary and a link to the runbook."""
    _require_alert(alert, "slack_payload")
    link = f"<{alert['runbook_url']}|Runbook>"
    return {
        "text": _slack_escape(f"{alert['title_en']} | {alert['summary_es']}") + f" {link}",
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": _clip(alert["title_en"], _SLACK_HEADER_MAX)},
            },
            {
                "type": "section",
                "text": {"type": "plain_text", "text": _clip(alert["text_en"], _SLACK_TEXT_MAX)},
            },
            {
                "type": "section",
                "text": {"type": "plain_text", "text": _clip(f"ES: {alert['summary_es']}", _SLACK_TEXT_MAX)},
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"{link} · {_slack_escape(alert['runbook_url'])} · {alert['at']}",
                    }
                ],
            },
        ],
    }


def teams_payload(alert: dict) -> dict:
    """Microsoft Teams message holding an Adaptive Card 1.4: the English lines and the Spanish summary
    as TextBlocks, the breaches as a FactSet and an Action.OpenUrl to the runbook.

    Teams opens only absolute URLs: pass ``runbook_url`` as a full https address in production.
    """
    _require_alert(alert, "teams_payload")
    facts = [
        {"title": b["metric"], "value": _breach_line(b).removeprefix(f"{b['metric']} ")}
        for b in alert["breaches"]
    ]
    facts += [
        {"title": "Action / Acción", "value": alert["action"]},
        {"title": "At / Fecha (UTC)", "value": alert["at"]},
    ]
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": alert["title_en"], "weight": "Bolder", "size": "Medium", "wrap": True},
        *({"type": "TextBlock", "text": line, "wrap": True} for line in alert["text_en"].splitlines()),
        {"type": "TextBlock", "text": alert["summary_es"], "wrap": True, "isSubtle": True, "separator": True},
        {"type": "FactSet", "facts": facts},
    ]
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": [{"type": "Action.OpenUrl", "title": "Runbook", "url": alert["runbook_url"]}],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def audit_record(
    who: str, what: str, why: str, details: dict | None = None, where: str = "the audit log"
) -> dict:
    """An audit entry ``{at, who, what, why, details}`` (``adapters.records.audit`` appends it to
    ``where``, the log named in the error)."""
    empty = [name for name, value in (("who", who), ("what", what), ("why", why)) if not str(value).strip()]
    if empty:
        raise ValueError(f"audit entry for {where}: {empty} empty; say who acted, what they did and why")
    return {
        "at": _now().isoformat(timespec="seconds"),
        "who": who,
        "what": what,
        "why": why,
        "details": details or {},
    }


def incident_record(alert: dict) -> dict:
    """A bilingual incident record for ``alert`` (``adapters.records.open_incident`` appends it).

    Detection and mitigation are filled from the alert; triage and the postmortem are left empty for
    the on-call engineer (see the incident playbook runbook).
    """
    _require_alert(alert, "open_incident")
    opened = _now()
    return {
        "id": f"INC-{opened:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}",
        "opened_at": opened.isoformat(timespec="seconds"),
        "status": "open",
        "title": alert["title_en"],
        "runbook_url": alert["runbook_url"],
        "breaches": alert["breaches"],
        "detection": alert["text_en"],
        "deteccion": alert["summary_es"],
        "triage": "",
        "triaje": "",
        "mitigation": f"Action taken: {alert['action']}",
        "mitigacion": f"Acción tomada: {alert['action']}",
        "postmortem": "",
        "postmortem_es": "",
    }
