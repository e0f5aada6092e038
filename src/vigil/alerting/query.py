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


TOPIC = "alerting.datasources"
# Writes that change how a rule's data source reference resolves (any column of any record:
# uid, name, type and the default flag all take part).
WATCHED = ("data_source",)


class DataSourceRunner:
    """Runs rule queries through ``DataSourceService.evaluate_rule_queries``.

    With a database and a change bus, the data-source records the rules name are cached per
    replica: a write to the ``data_source`` table records a change on the bus in its own
    transaction, and every replica drops its cache when it hears of it (its own at the commit,
    the others at their next bus poll). Without a running bus every evaluation reads the record."""

    def __init__(self, datasources: Any, bus: Any = None) -> None:
        self.datasources = datasources
        self.bus = bus
        self._records: dict[tuple[int, str | None, str | None], tuple[Any, str | None]] = {}
        self._generation = 0
        self.hits = 0
        self.misses = 0
        if bus is not None:
            bus.on_writes(WATCHED, TOPIC, self._on_change)

    @property
    def caching(self) -> bool:
        return self.bus is not None and bool(self.bus.started)

    def _on_change(self, *_: Any) -> None:
        self._generation += 1
        self._records.clear()

    async def resolve(self, org_id: int, ref: dict[str, Any]) -> tuple[Any, str | None]:
        from vigil.datasources.variables import Scope

        key = (org_id, ref.get("uid"), ref.get("type"))
        if self.caching:
            found = self._records.get(key)
            if found is not None:
                self.hits += 1
                return found
        generation = self._generation
        self.misses += 1
        result: tuple[Any, str | None] = await self.datasources.resolve(org_id, ref, None, Scope())
        # Not kept when a change arrived while reading: the record read may predate it.
        if self.caching and generation == self._generation:
            self._records[key] = result
        return result

    async def run(self, org_id: int, data: list[dict[str, Any]], now_ms: int) -> dict[str, RefResult]:
        from vigil.datasources.expressions import Number

        try:
            raw = await self.datasources.evaluate_rule_queries(org_id, data, now_ms, resolver=self.resolve)
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
