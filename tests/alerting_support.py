"""Helpers for alerting tests: a real HTTP receiver on loopback, and the API calls that set up a
folder, a TestData data source, contact points, policies and rules."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import uvicorn
from starlette.requests import Request
from starlette.responses import Response

from tests.conftest import ADMIN_AUTH
from tests.server_proc import free_port

FAST = {
    "alerting__min_interval": "1s",
    "alerting__notification_timeout": "1s",
    "cluster__heartbeat_interval": "200ms",
    "cluster__peer_timeout": "1500ms",
}


@dataclass
class Received:
    path: str
    method: str
    headers: dict[str, str]
    body: Any
    at: float


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that records every request; ``fail_next`` answers 500 that many times."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    fail_next: int = 0
    delay: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        raw = await request.body()
        try:
            body: Any = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = raw.decode("utf-8", "replace")
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_next > 0:
            self.fail_next -= 1
            await Response("boom", status_code=500)(scope, receive, send)
            return
        self.received.append(
            Received(
                request.url.path,
                request.method,
                {k.lower(): v for k, v in request.headers.items()},
                body,
                time.time(),
            )
        )
        await Response('{"ok":true}', media_type="application/json")(scope, receive, send)

    def bodies(self, path: str | None = None) -> list[Any]:
        return [r.body for r in self.received if path is None or r.path == path]

    def statuses(self, path: str | None = None) -> list[str]:
        return [b["status"] for b in self.bodies(path)]


@contextlib.asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver(port=free_port())
    server = uvicorn.Server(
        uvicorn.Config(
            rec.app,
            host="127.0.0.1",
            port=rec.port,
            log_level="error",
            lifespan="off",
            access_log=False,
            interface="asgi3",
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield rec
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 5)


async def ok(resp: httpx.Response, *codes: int) -> Any:
    assert resp.status_code in (codes or (200,)), (
        f"{resp.request.method} {resp.request.url}: {resp.status_code} {resp.text}"
    )
    return resp.json() if resp.content else None


async def setup_basics(
    client: httpx.AsyncClient, folder_uid: str = "alerts", ds_uid: str = "testdata"
) -> None:
    await ok(
        await client.post("/api/folders", json={"uid": folder_uid, "title": "Alerts"}, headers=ADMIN_AUTH)
    )
    await ok(
        await client.post(
            "/api/datasources",
            json={
                "name": "TestData",
                "type": "grafana-testdata-datasource",
                "access": "proxy",
                "uid": ds_uid,
            },
            headers=ADMIN_AUTH,
        )
    )


async def webhook_contact_point(
    client: httpx.AsyncClient, name: str, url: str, **settings: Any
) -> dict[str, Any]:
    body = {"name": name, "type": "webhook", "settings": {"url": url, **settings}}
    return await ok(
        await client.post("/api/v1/provisioning/contact-points", json=body, headers=ADMIN_AUTH), 202
    )  # type: ignore[no-any-return]


async def set_policy(client: httpx.AsyncClient, receiver: str, **options: Any) -> None:
    tree = {
        "receiver": receiver,
        "group_by": ["alertname"],
        "group_wait": "0s",
        "group_interval": "1s",
        "repeat_interval": "1h",
        **options,
    }
    await ok(await client.put("/api/v1/provisioning/policies", json=tree, headers=ADMIN_AUTH), 202)


def pulse_query(
    ref: str = "A", step: int = 1, on: int = 5, off: int = 5, labels: str = "", ds_uid: str = "testdata"
) -> dict[str, Any]:
    return {
        "refId": ref,
        "relativeTimeRange": {"from": 10, "to": 0},
        "datasourceUid": ds_uid,
        "model": {
            "scenarioId": "predictable_pulse",
            "pulseWave": {"timeStep": step, "onCount": on, "offCount": off, "onValue": 1, "offValue": 0},
            **({"labels": labels} if labels else {}),
        },
    }


def reduce_expr(ref: str, source: str, reducer: str = "last") -> dict[str, Any]:
    return {
        "refId": ref,
        "datasourceUid": "__expr__",
        "model": {"type": "reduce", "expression": source, "reducer": reducer},
    }


def threshold_expr(ref: str, source: str, op: str = "gt", value: float = 0.5) -> dict[str, Any]:
    return {
        "refId": ref,
        "datasourceUid": "__expr__",
        "model": {
            "type": "threshold",
            "expression": source,
            "conditions": [{"evaluator": {"type": op, "params": [value]}}],
        },
    }


def pulse_rule(title: str, group: str = "pulse", folder_uid: str = "alerts", **extra: Any) -> dict[str, Any]:
    on = extra.pop("on", 5)
    off = extra.pop("off", 5)
    labels = extra.pop("series_labels", "")
    return {
        "title": title,
        "ruleGroup": group,
        "folderUID": folder_uid,
        "condition": "C",
        "data": [
            pulse_query("A", on=on, off=off, labels=labels),
            reduce_expr("B", "A"),
            threshold_expr("C", "B"),
        ],
        "noDataState": "NoData",
        "execErrState": "Error",
        "for": "0s",
        "labels": {"team": "core"},
        "annotations": {"summary": "{{ $labels.alertname }} is {{ $values.B }}"},
        **extra,
    }


async def put_group(
    client: httpx.AsyncClient,
    group: str,
    rules: list[dict[str, Any]],
    interval: int = 1,
    folder_uid: str = "alerts",
) -> dict[str, Any]:
    return await ok(  # type: ignore[no-any-return]
        await client.put(
            f"/api/v1/provisioning/folder/{folder_uid}/rule-groups/{group}",
            json={"title": group, "interval": interval, "rules": rules},
            headers=ADMIN_AUTH,
        )
    )


async def wait_for(predicate: Any, timeout: float, step: float = 0.05, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
