"""Default title and message texts (Grafana's default templates, written from their documented
output): ``[FIRING:2] DiskAlmostFull (Infrastructure warning)`` and the per-alert message body."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

from vigil.alerting.template import GoTime, Node, TemplateError, render


def title(data: dict[str, Any]) -> str:
    alerts = data.get("alerts") or []
    firing = [a for a in alerts if a.get("status") == "firing"]
    status = "FIRING" if data.get("status") == "firing" else "RESOLVED"
    head = f"[{status}:{len(firing)}]" if firing else f"[{status}]"
    group = " ".join(str(v) for _, v in sorted((data.get("groupLabels") or {}).items()))
    rest = {
        k: v for k, v in (data.get("commonLabels") or {}).items() if k not in (data.get("groupLabels") or {})
    }
    extra = " ".join(str(v) for _, v in sorted(rest.items()))
    out = f"{head} {group}"
    if extra:
        out += f" ({extra})"
    return out


def _alert_text(a: dict[str, Any]) -> str:
    lines = []
    values = a.get("values") or {}
    if values:
        lines.append("Value: " + ", ".join(f"{k}={_num(v)}" for k, v in values.items()))
    lines.append("Labels:")
    lines += [f" - {k} = {v}" for k, v in sorted((a.get("labels") or {}).items())]
    if a.get("annotations"):
        lines.append("Annotations:")
        lines += [f" - {k} = {v}" for k, v in sorted(a["annotations"].items())]
    if a.get("generatorURL"):
        lines.append(f"Source: {a['generatorURL']}")
    if a.get("silenceURL"):
        lines.append(f"Silence: {a['silenceURL']}")
    if a.get("dashboardURL"):
        lines.append(f"Dashboard: {a['dashboardURL']}")
    if a.get("panelURL"):
        lines.append(f"Panel: {a['panelURL']}")
    return "\n".join(lines) + "\n"


def _num(v: Any) -> str:
    if isinstance(v, float) and v == int(v):
        return str(int(v))
    return str(v)


def message(data: dict[str, Any]) -> str:
    alerts = data.get("alerts") or []
    firing = [a for a in alerts if a.get("status") == "firing"]
    resolved = [a for a in alerts if a.get("status") != "firing"]
    parts = []
    if firing:
        parts.append("**Firing**\n\n" + "\n".join(_alert_text(a) for a in firing))
    if resolved:
        parts.append("**Resolved**\n\n" + "\n".join(_alert_text(a) for a in resolved))
    return "\n".join(parts)


def message_html(data: dict[str, Any]) -> str:
    """The e-mail body's HTML part."""
    rows = []
    for a in data.get("alerts") or []:
        color = "#D63232" if a.get("status") == "firing" else "#36a64f"
        labels = "".join(
            f"<li>{html.escape(k)} = {html.escape(str(v))}</li>" for k, v in sorted(a["labels"].items())
        )
        notes = "".join(
            f"<li>{html.escape(k)} = {html.escape(str(v))}</li>"
            for k, v in sorted((a.get("annotations") or {}).items())
        )
        link = (
            f'<p><a href="{html.escape(a["generatorURL"])}">View alert rule</a></p>'
            if a.get("generatorURL")
            else ""
        )
        rows.append(
            f'<div style="border-left:4px solid {color};padding:8px;margin:8px 0">'
            f"<h3>{html.escape(str(a.get('status', '')).upper())}: "
            f"{html.escape(str(a['labels'].get('alertname', '')))}</h3>"
            f"<p>Labels:</p><ul>{labels}</ul>"
            + (f"<p>Annotations:</p><ul>{notes}</ul>" if notes else "")
            + link
            + "</div>"
        )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>'
        + html.escape(title(data))
        + "</title></head><body><h2>"
        + html.escape(title(data))
        + "</h2>"
        + "".join(rows)
        + "</body></html>"
    )


# -- contact-point texts written as templates ---------------------------------------------------
#
# A contact point's title, message, subject or text is a Go template over Grafana's notification
# data, with Go's field names (``{{ .CommonLabels.alertname }}``, ``{{ range .Alerts.Firing }}``,
# ``{{ .Labels.SortedPairs }}``), and may call the org's notification templates
# (``{{ template "my.title" . }}``) or the built-in ``default.title``, ``default.message``,
# ``__subject`` and ``__text_alert_list``.


class KV(dict[str, str]):
    """Labels or annotations: a key reads its value; ``SortedPairs``, ``Names`` and ``Values`` are
    Alertmanager's KV methods."""

    def field(self, name: str) -> Any:
        if name == "SortedPairs":
            return [{"Name": k, "Value": self[k]} for k in sorted(self)]
        if name == "Names":
            return sorted(self)
        if name == "Values":
            return [self[k] for k in sorted(self)]
        return self.get(name)


class Alerts(list["AlertView"]):
    """``.Alerts``, with ``.Alerts.Firing`` and ``.Alerts.Resolved``."""

    def field(self, name: str) -> Any:
        if name == "Firing":
            return Alerts(a for a in self if a["Status"] == "firing")
        if name == "Resolved":
            return Alerts(a for a in self if a["Status"] == "resolved")
        raise TemplateError(f"can't evaluate field {name} in type []Alert")


class NotificationData(dict[str, Any]):
    """The dot of a contact-point template; ``raw`` is the payload it was made from."""

    raw: dict[str, Any]


def _time(text: Any) -> GoTime | str:
    try:
        return GoTime.parse(str(text))
    except ValueError:
        return str(text or "")


class AlertView(dict[str, Any]):
    """One alert of ``.Alerts``; ``raw`` is the payload's alert."""

    raw: dict[str, Any]


def _alert_view(a: dict[str, Any]) -> AlertView:
    view = AlertView(
        {
            "Status": a.get("status", ""),
            "Labels": KV(a.get("labels") or {}),
            "Annotations": KV(a.get("annotations") or {}),
            "StartsAt": _time(a.get("startsAt")),
            "EndsAt": _time(a.get("endsAt")),
            "GeneratorURL": a.get("generatorURL", ""),
            "SilenceURL": a.get("silenceURL", ""),
            "DashboardURL": a.get("dashboardURL", ""),
            "PanelURL": a.get("panelURL", ""),
            "Fingerprint": a.get("fingerprint", ""),
            "Values": dict(a.get("values") or {}),
            "ValueString": a.get("valueString", ""),
            "OrgID": a.get("orgId", 0),
        }
    )
    view.raw = a
    return view


def _text_alert_list(dot: Any) -> str:
    """Grafana's ``__text_alert_list``: the default message's text of each alert of a list."""
    if not isinstance(dot, list) or not all(isinstance(a, AlertView) for a in dot):
        raise TemplateError('template "__text_alert_list" needs a list of alerts, such as .Alerts.Firing')
    return "\n".join(_alert_text(a.raw) for a in dot)


def template_data(data: dict[str, Any]) -> NotificationData:
    view = NotificationData(
        Receiver=data.get("receiver", ""),
        Status=data.get("status", ""),
        Alerts=Alerts(_alert_view(a) for a in data.get("alerts") or []),
        GroupLabels=KV(data.get("groupLabels") or {}),
        CommonLabels=KV(data.get("commonLabels") or {}),
        CommonAnnotations=KV(data.get("commonAnnotations") or {}),
        ExternalURL=data.get("externalURL", ""),
        GroupKey=data.get("groupKey", ""),
        TruncatedAlerts=data.get("truncatedAlerts", 0),
    )
    view.raw = data
    return view


def _builtin(fn: Callable[[dict[str, Any]], str], data: dict[str, Any]) -> Callable[[Any], str]:
    return lambda dot: fn(dot.raw if isinstance(dot, NotificationData) else data)


class Texts:
    """The texts of one notification: a contact point's template setting rendered, or the default."""

    def __init__(self, data: dict[str, Any], named: Mapping[str, list[Node]] | None = None) -> None:
        self.data = data
        self._dot: NotificationData | None = None
        self.named: dict[str, list[Node] | Callable[[Any], str]] = {
            "default.title": _builtin(title, data),
            "__subject": _builtin(title, data),
            "default.message": _builtin(message, data),
            "__text_alert_list": _text_alert_list,
            **(named or {}),
        }

    def text(self, setting: Any, default: Callable[[dict[str, Any]], str], name: str) -> str:
        if setting in (None, ""):
            return default(self.data)
        if self._dot is None:
            self._dot = template_data(self.data)
        return render(str(setting), {"$": self._dot}, dot=self._dot, name=name, named=self.named)
