"""The alerting engine caches the data-source records its rules name, per replica, and drops them
when any replica writes a data source (change bus): an evaluation never uses a deleted or changed
record for longer than a bus poll."""

from __future__ import annotations

import asyncio
import time

from tests.alerting_support import ok, pulse_query, reduce_expr, setup_basics, threshold_expr
from tests.conftest import ADMIN_AUTH


def rule_data() -> list[dict]:
    return [pulse_query("A", ds_uid="testdata"), reduce_expr("B", "A"), threshold_expr("C", "B")]


async def test_data_source_changes_on_one_replica_reach_every_replicas_rule_evaluations(
    make_replica, tmp_path
):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    a = await make_replica(url, alerting__enabled="false", cluster__heartbeat_interval="200ms")
    b = await make_replica(url, alerting__enabled="false", cluster__heartbeat_interval="200ms")
    await setup_basics(a.client)
    runner = b.services.alerting.runner
    now = int(time.time() * 1000)

    first = await runner.run(1, rule_data(), now)
    assert first["C"].error is None and first["C"].values, first
    misses = runner.misses
    again = await runner.run(1, rule_data(), now)
    assert again["C"].values == first["C"].values
    assert runner.misses == misses, "the second evaluation read the record from the database again"
    assert runner.hits > 0

    # Deleted on replica A: replica B's evaluations fail within a bus poll, not at some expiry.
    await ok(await a.client.delete("/api/datasources/uid/testdata", headers=ADMIN_AUTH))
    started = time.monotonic()
    results: dict = {}
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        results = await runner.run(1, rule_data(), now)
        if results["A"].error:
            break
        await asyncio.sleep(0.02)
    assert results["A"].error and "not found" in results["A"].error.lower(), results
    assert time.monotonic() - started < 2.0

    # Created again (same uid) on replica A: B uses it again.
    body = {"name": "TestData 2", "type": "grafana-testdata-datasource", "uid": "testdata"}
    await ok(await a.client.post("/api/datasources", json=body, headers=ADMIN_AUTH))
    fresh = await runner.run(1, rule_data(), now)
    assert fresh["C"].error is None and fresh["C"].values == first["C"].values
