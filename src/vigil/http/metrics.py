"""Prometheus metrics of one replica (its own registry, so tests can build many apps)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self.requests = Counter(
            "vigil_http_requests_total",
            "HTTP requests by route template, method and status code",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "vigil_http_request_duration_seconds",
            "HTTP request latency by route template",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.db_pool_checked_out = Gauge(
            "vigil_db_pool_connections_in_use", "Database connections checked out", registry=self.registry
        )
        self.db_pool_size = Gauge(
            "vigil_db_pool_size", "Database connection pool size", registry=self.registry
        )
        self.db_up = Gauge("vigil_database_up", "1 when the shared database answers", registry=self.registry)
        self.active_sessions = Gauge(
            "vigil_active_sessions", "Live login sessions in the session store", registry=self.registry
        )
        self.draining = Gauge(
            "vigil_draining", "1 while the replica drains after SIGTERM", registry=self.registry
        )

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:  # labels() costs more than the increment: look it up once per key
            children = (self.requests.labels(route, method, str(status)), self.latency.labels(route))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
