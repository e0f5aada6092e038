"""The state-change-to-notification fast path: the per-replica cache of notification settings
(kept exact through the change bus, whichever replica writes), the claim that notes an earlier
pending notification of its group and integration (so sends stay in order), and a state change
whose group is flushed in the change's own transaction, sent once."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.alerting_support import (
    FAST,
    ok,
    pulse_rule,
    put_group,
    receiver,
    set_policy,
    setup_basics,
    wait_for,
    webhook_contact_point,
)
from tests.conftest import ADMIN_AUTH, AppFactory, Replica, _create_database
from vigil.alerting.notifier import Integration
from vigil.alerting.notifycache import OrgNotify
from vigil.alerting.tables import alert_group, alert_notification


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    url, drop = await _create_database("postgresql")
    try:
        yield url
    finally:
        await drop()


async def settings_on(r: Replica) -> OrgNotify:
    cache = r.services.alerting.notify_cache
    await cache.sync()
    async with r.services.db.write() as conn:
        return await cache.org(conn, 1)  # type: ignore[no-any-return]


async def test_notification_settings_cache_follows_writes_made_on_another_replica(
    make_replica: AppFactory, pg_url: str
) -> None:
    a = await make_replica(pg_url, **FAST)
    b = await make_replica(pg_url, **FAST)
    cache = b.services.alerting.notify_cache
    assert cache.caching
    await settings_on(b)  # the org's first read writes its default policy: that drops it again
    first = await settings_on(b)
    hits = cache.hits
    assert await settings_on(b) is first and cache.hits == hits + 1  # served from the cache
    assert first.silences == () and "hook" not in first.integrations

    # Each write on replica A is seen by B's next use: no wait for B's periodic bus poll.
    await webhook_contact_point(a.client, "hook", "http://127.0.0.1:9/hook")
    s = await settings_on(b)
    assert [i.type for i in s.integrations["hook"]] == ["webhook"]

    await set_policy(a.client, "hook")
    s = await settings_on(b)
    assert s.tree.receiver == "hook" and s.tree.group_by == ["alertname"]

    ends = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    silence = {
        "matchers": [{"name": "team", "value": "db", "isRegex": False, "isEqual": True}],
        "endsAt": ends,
    }
    url = "/api/alertmanager/grafana/api/v2/silences"
    sid = (await ok(await a.client.post(url, json=silence, headers=ADMIN_AUTH), 202))["silenceID"]
    s = await settings_on(b)
    assert [x.uid for x in s.active_silences(int(time.time() * 1000))] == [sid]

    timing = {"name": "nights", "time_intervals": [{"times": [{"start_time": "00:00", "end_time": "06:00"}]}]}
    await ok(await a.client.post("/api/v1/provisioning/mute-timings", json=timing, headers=ADMIN_AUTH), 201)
    s = await settings_on(b)
    assert s.timings_by_name(["nights", "other"]) == {"nights": timing["time_intervals"]}

    # Expiring the silence on A: gone from B's view at once.
    await ok(await a.client.delete(f"/api/alertmanager/grafana/api/v2/silence/{sid}", headers=ADMIN_AUTH))
    s = await settings_on(b)
    assert s.active_silences(int(time.time() * 1000)) == []

    # A write on B itself drops B's cache at its commit (no sync needed).
    before = await settings_on(b)
    await webhook_contact_point(b.client, "second", "http://127.0.0.1:9/second")
    async with b.services.db.write() as conn:
        after = await cache.org(conn, 1)
    assert after is not before and "second" in after.integrations


async def test_a_claim_notes_an_earlier_pending_notification_of_its_group_and_integration(
    replica: Replica,
) -> None:
    nflog = replica.services.alerting.nflog
    db = replica.services.db

    def integration(uid: str) -> Integration:
        return Integration(uid=uid, org_id=1, name="hook", type="webhook", settings={}, secure={})

    x, y = integration("int-x"), integration("int-y")

    async def claim(key: str, integ: Integration, group: int = 7) -> Any:
        async with db.write() as conn:
            return await nflog.claim(
                conn, claim_key=key, org_id=1, group_id=group, seq=1, integration=integ,
                data={"status": "firing"}, firing=1, resolved=0, now=int(time.time() * 1000),
            )  # fmt: skip

    first = await claim("g7:1:int-x", x)
    assert first is not None and not first.ordered
    second = await claim("g7:2:int-x", x)
    assert second is not None and second.ordered  # the first one is still pending
    assert second.id != first.id and second.row["payload"] == '{"status":"firing"}'
    other_integration = await claim("g7:2:int-y", y)
    assert other_integration is not None and not other_integration.ordered
    other_group = await claim("g8:1:int-x", x, group=8)
    assert other_group is not None and not other_group.ordered
    assert await claim("g7:2:int-x", x) is None  # the claim key is taken: nothing to send

    async with db.write() as conn:
        await conn.execute(
            update(alert_notification)
            .where(alert_notification.c.id.in_([first.id, second.id]))
            .values(status="sent")
        )
    third = await claim("g7:3:int-x", x)
    assert third is not None and not third.ordered


async def test_each_state_change_is_sent_once_from_the_transaction_that_wrote_it(
    make_replica: AppFactory, db_url: str
) -> None:
    r = await make_replica(db_url, **FAST)
    c = r.client
    await setup_basics(c)
    async with receiver() as rec:
        await webhook_contact_point(c, "hook", rec.url + "/hook")
        await set_policy(c, "hook")
        polled: list[int] = []
        dispatcher = r.services.alerting.dispatcher
        flush = dispatcher.flush

        async def counting_flush(group_id: int) -> Any:
            polled.append(group_id)
            return await flush(group_id)

        dispatcher.flush = counting_flush
        await put_group(c, "pulse", [pulse_rule("Pulse", on=2, off=2)])
        await wait_for(lambda: len(rec.received) >= 2, 10, what="a firing and a resolved notification")
        # The first evaluation may fall on the pulse's last "on" second: then the change that
        # follows comes within group_interval of the first flush and waits for a flush of the
        # dispatcher's own. Later changes are two seconds apart.
        polled.clear()
        seen = len(rec.received)
        await wait_for(lambda: len(rec.received) >= seen + 2, 10, what="the next firing and resolved")
        await asyncio.sleep(0.5)
        statuses = rec.statuses("/hook")
        assert statuses[:4] == ["firing", "resolved", "firing", "resolved"], statuses
        assert all(a != b for a, b in itertools.pairwise(statuses)), statuses
        assert len(statuses) == len(set(x.headers["x-vigil-notification-id"] for x in rec.received))
        async with r.services.db.read() as conn:
            rows = (await conn.execute(select(alert_notification.c.status, alert_notification.c.seq))).all()
            groups = (await conn.execute(select(alert_group.c.seq))).all()
        assert sorted(s for s, _ in rows) == ["sent"] * len(rows) and len(rows) == len(statuses)
        assert [g[0] for g in groups] == [len(rows)]  # one flush per notification, no empty ones
        if r.services.db.dialect != "mysql":
            # Flushed where the change was written: the dispatcher's own flush never ran (MySQL
            # flushes in a transaction of its own, started at once).
            assert polled == []
