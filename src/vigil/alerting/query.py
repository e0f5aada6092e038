"""The evaluator's one dependency on data sources: ``QueryRunner``.

``run`` executes a rule's queries and expressions at one instant and returns, per refId, the
numbers it produced (one per label set) or an error. ``DataSourceRunner`` adapts the data-source
service (``evaluate_rule_queries``); anything else with the same method can stand in for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from vigil.errors import AppError


@dataclass(frozen=True)
class RefValue:
    labels: dict[str, str]
    value: float | None


@dataclass
class RefResult:
    values: list[RefValue] = field(default_factory=list)
    error: str | None = None
    # True when the refId produced time series rather than numbers (a condition must be numbers).
    series: bool = False


class QueryRunner(Protocol):
    async def run(self, org_id: int, data: list[dict[str, Any]], now_ms: int) -> dict[str, RefResult]: ...


class DataSourceRunner:
    """Runs rule queries through ``DataSourceService.evaluate_rule_queries``."""

    def __init__(self, datasources: Any) -> None:
        self.datasources = datasources

    async def run(self, org_id: int, data: list[dict[str, Any]], now_ms: int) -> dict[str, RefResult]:
        from vigil.datasources.expressions import Number

        try:
            raw = await self.datasources.evaluate_rule_queries(org_id, data, now_ms)
        except AppError as exc:
            return {str(q.get("refId")): RefResult(error=exc.message) for q in data}
        out: dict[str, RefResult] = {}
        for ref, res in raw.items():
            if res.error is not None:
                out[ref] = RefResult(error=str(res.error))
                continue
            values: list[RefValue] = []
            series = False
            for v in res.values:
                if isinstance(v, Number):
                    values.append(RefValue(dict(v.labels or {}), v.value))
                else:
                    series = True
                    last = next((x for x in reversed(v.values) if x is not None), None)
                    values.append(RefValue(dict(v.labels or {}), last))
            out[ref] = RefResult(values=values, series=series)
        return out
