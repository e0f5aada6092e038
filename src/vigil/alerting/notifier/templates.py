"""Default title and message texts (Grafana's default templates, written from their documented
output): ``[FIRING:2] DiskAlmostFull (Infrastructure warning)`` and the per-alert message body."""

from __future__ import annotations

import html
from typing import Any


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
