"""The cluster page's store health: database and session store as this replica sees them."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ADMIN_AUTH, AppFactory, Replica, basic
from tests.sessions_support import redis_daemon


async def test_stores_report_the_database_and_session_store_health(replica: Replica) -> None:
    r = await replica.client.get("/api/cluster/stores", headers=ADMIN_AUTH)
    assert r.status_code == 200
    body = r.json()
    assert body["database"]["status"] == "ok"
    assert body["database"]["dialect"] in ("sqlite", "postgresql", "mysql")
    assert body["sessions"] == {**body["sessions"], "provider": "database", "status": "ok"}
    assert body["instance"] == replica.services.instance


async def test_a_failing_session_store_is_reported_not_hidden(
    make_replica: AppFactory, sqlite_url: str, tmp_path: Path
) -> None:
    """A private redis-server as the session store, stopped and started again under the replica."""
    redis = redis_daemon(tmp_path).start()
    try:
        rep = await make_replica(
            sqlite_url,
            session__provider="redis",
            session__provider_config=f"redis://127.0.0.1:{redis.port}/0",
        )
        body = (await rep.client.get("/api/cluster/stores", headers=ADMIN_AUTH)).json()
        assert body["sessions"]["provider"] == "redis" and body["sessions"]["status"] == "ok", body

        redis.stop()
        body = (await rep.client.get("/api/cluster/stores", headers=ADMIN_AUTH)).json()
        assert body["sessions"]["status"] == "failing", body
        assert body["sessions"]["error"], body
        assert body["database"]["status"] == "ok"

        redis.start()
        body = (await rep.client.get("/api/cluster/stores", headers=ADMIN_AUTH)).json()
        assert body["sessions"]["status"] == "ok", body
    finally:
        redis.stop()


async def test_only_server_admins_see_the_stores(sqlite_replica: Replica) -> None:
    assert (await sqlite_replica.client.get("/api/cluster/stores")).status_code == 401
    await sqlite_replica.client.post(
        "/api/admin/users",
        json={"login": "viewer1", "password": "viewer-pw-1", "email": "v@x"},
        headers=ADMIN_AUTH,
    )
    r = await sqlite_replica.client.get("/api/cluster/stores", headers=basic("viewer1", "viewer-pw-1"))
    assert r.status_code == 403
