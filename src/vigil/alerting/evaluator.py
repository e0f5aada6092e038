"""Evaluating one rule: run its queries through the ``QueryRunner`` and turn the condition's result
into one outcome per series (pure ``interpret``), with labels and rendered annotations."""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from typing import Any

from vigil.alerting import template
from vigil.alerting.labels import Labels, fingerprint, public
from vigil.alerting.models import Rule
from vigil.alerting.query import QueryRunner, RefResult, RefValue
from vigil.alerting.state import Outcome


@dataclass
class SeriesOutcome:
    labels: Labels  # every label of the alert instance, private ones included
    fingerprint: str
    outcome: Outcome
    values: dict[str, float | None] = field(default_factory=dict)
    value_text: str = ""


@dataclass
class EvalOutcome:
    kind: str  # ok, nodata, error
    series: list[SeriesOutcome] = field(default_factory=list)
    error: str = ""
    duration: float = 0.0


def base_labels(rule: Rule) -> Labels:
    return {"alertname": rule.title, "grafana_folder": rule.folder_title, "__alert_rule_uid__": rule.uid}


def instance_labels(
    rule: Rule, series_labels: dict[str, str], values: dict[str, float | None], value_text: str
) -> Labels:
    """Series labels, then the rule's (templated) labels, then alertname/grafana_folder/rule uid."""
    out = dict(series_labels)
    variables = _template_vars(series_labels, values, value_text)
    for k, v in rule.labels.items():
        out[k] = template.render(v, variables, name=f"label_{k}")
    out.update(base_labels(rule))
    return out


def _template_vars(
    labels: dict[str, str], values: dict[str, float | None], value_text: str
) -> dict[str, Any]:
    captures = {ref: template.CaptureValue(v, labels) for ref, v in values.items()}
    return {"$labels": public(labels), "$values": captures, "$value": value_text}


def render_annotations(
    rule: Rule, labels: Labels, values: dict[str, float | None], value_text: str
) -> dict[str, str]:
    variables = _template_vars(labels, values, value_text)
    dot = {"Labels": public(labels), "Values": variables["$values"], "Value": value_text}
    return {
        k: template.render(v, variables, dot=dot, name=f"annotation_{k}") for k, v in rule.annotations.items()
    }


def _pick(ref: RefResult, labels: dict[str, str]) -> RefValue | None:
    for v in ref.values:
        if v.labels == labels:
            return v
    subset = [v for v in ref.values if v.labels and all(labels.get(k) == x for k, x in v.labels.items())]
    if len(subset) == 1:
        return subset[0]
    if len(ref.values) == 1:
        return ref.values[0]
    return None


def _fmt(v: float | None) -> str:
    return "null" if v is None else template.go_str(v)


def interpret(rule: Rule, results: dict[str, RefResult]) -> EvalOutcome:
    """Pure: the condition's numbers -> one outcome per series (firing when non-zero)."""
    cond = results.get(rule.condition)
    if cond is None:
        errors = [f"{ref}: {r.error}" for ref, r in results.items() if r.error]
        return EvalOutcome("error", error="; ".join(errors) or f"no result for condition {rule.condition}")
    if cond.error:
        return EvalOutcome("error", error=cond.error)
    failed = [f"{ref}: {r.error}" for ref, r in results.items() if r.error]
    if failed:
        return EvalOutcome("error", error="; ".join(failed))
    if cond.series:
        return EvalOutcome(
            "error",
            error=f"invalid format of evaluation results for the alert definition {rule.condition}: "
            "looks like time series data, only reduced data can be alerted on",
        )
    present = [v for v in cond.values if v.value is not None and not math.isnan(v.value)]
    if not present:
        return EvalOutcome("nodata")
    order = [q["refId"] for q in rule.data]
    out = []
    for cv in present:
        values: dict[str, float | None] = {}
        parts = []
        for ref in order:
            r = results.get(ref)
            if r is None or r.series:
                continue
            picked = cv if ref == rule.condition else _pick(r, cv.labels)
            if picked is None:
                continue
            values[ref] = picked.value
            lbl = ", ".join(f"{k}={v}" for k, v in sorted(picked.labels.items()))
            parts.append(f"[ var='{ref}' labels={{{lbl}}} value={_fmt(picked.value)} ]")
        value_text = ", ".join(parts)
        labels = instance_labels(rule, cv.labels, values, value_text)
        outcome = Outcome.FIRING if cv.value not in (0, 0.0) else Outcome.NORMAL
        out.append(SeriesOutcome(labels, fingerprint(labels), outcome, values, value_text))
    return EvalOutcome("ok", series=out)


async def evaluate(rule: Rule, runner: QueryRunner, now_ms: int, timeout: float) -> EvalOutcome:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            results = await runner.run(rule.org_id, rule.data, now_ms)
        outcome = interpret(rule, results)
    except TimeoutError:
        outcome = EvalOutcome("error", error=f"evaluation timed out after {timeout:g}s")
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        outcome = EvalOutcome("error", error=f"{type(exc).__name__}: {exc}")
    outcome.duration = time.perf_counter() - started
    return outcome
