"""POST /api/dashboards/import: unwrap the body, fill ``__inputs`` from ``inputs``."""

from __future__ import annotations

import re
from typing import Any

from vigil.errors import AppError

_DASHBOARD_KEYS = ("title", "panels", "rows", "schemaVersion")


def extract_dashboard(body: dict[str, Any]) -> dict[str, Any]:
    """The dashboard of an import body: ``{"dashboard": …}``, an export wrapped once more
    (``{"dashboard": {"dashboard": …, "meta": …}}``) or a bare dashboard."""
    dash: Any = body.get("dashboard") if "dashboard" in body else None
    if dash is None and any(k in body for k in _DASHBOARD_KEYS):
        dash = body
    if dash is None:
        raise AppError.bad_request(
            "bad request data: dashboard is required (plugin dashboards are not available)"
        )
    while isinstance(dash, dict) and isinstance(dash.get("dashboard"), dict) and "title" not in dash:
        dash = dash["dashboard"]
    if not isinstance(dash, dict):
        raise AppError.bad_request("bad request data: dashboard must be a JSON object")
    return dash


_VAR = re.compile(r"\$\{([^}]+)\}")


def evaluate_inputs(dash: dict[str, Any], inputs: Any) -> dict[str, Any]:
    """Replace ``${NAME}`` of every ``__inputs`` entry with the matching ``inputs`` value, in every
    string of the dashboard; ``__inputs`` itself is dropped. Missing inputs are a 400."""
    defs = dash.get("__inputs")
    if not isinstance(defs, list) or not defs:
        return {k: v for k, v in dash.items() if k != "__inputs"}
    given: dict[str, Any] = {}
    if isinstance(inputs, list):
        for item in inputs:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                given[item["name"]] = item.get("value")
    values: dict[str, str] = {}
    for d in defs:
        if not isinstance(d, dict) or not isinstance(d.get("name"), str):
            continue
        name = d["name"]
        if name not in given:
            if d.get("type") == "constant" and "value" in d:
                values[name] = str(d["value"])
                continue
            raise AppError.bad_request(f"Dashboard input variable: {name} missing from import command")
        value = given[name]
        values[name] = "" if value is None else str(value)

    def sub(text: str) -> str:
        return _VAR.sub(lambda m: values.get(m.group(1), m.group(0)), text)

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return sub(node) if "${" in node else node
        if isinstance(node, list):
            return [walk(x) for x in node]
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        return node

    return {k: walk(v) for k, v in dash.items() if k != "__inputs"}
