"""Data-source records API (reference §7) on SQLite, PostgreSQL and MariaDB: CRUD by id, uid and
name, Grafana's shapes and errors, secrets encrypted at rest and never returned."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from tests.conftest import ADMIN_AUTH, Replica, basic
from tests.prom_support import module_replica
from vigil.datasources.tables import data_source

PROM = {
    "name": "Prom",
    "type": "prometheus",
    "url": "http://127.0.0.1:9090",
    "access": "proxy",
    "basicAuth": True,
    "basicAuthUser": "scraper",
    "jsonData": {"httpMethod": "POST", "timeInterval": "15s"},
    "secureJsonData": {"basicAuthPassword": "s3cr3t-pw", "httpHeaderValue1": "Bearer tok-123"},
}
LIST_KEYS = {
    "id",
    "uid",
    "orgId",
    "name",
    "type",
    "typeName",
    "typeLogoUrl",
    "access",
    "url",
    "user",
    "database",
    "basicAuth",
    "isDefault",
    "jsonData",
    "readOnly",
}
FULL_KEYS = (LIST_KEYS - {"typeName"}) | {"basicAuthUser", "withCredentials", "secureJsonFields", "version"}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def solo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Replica]:
    """One SQLite replica for the shape and validation tests (they do not depend on the database)."""
    async with module_replica(tmp_path_factory.mktemp("vigil-records")) as replica:
        await replica.services.identities.create_user(login="vera", password="vera-pw", role="Viewer")
        await replica.services.identities.create_user(login="ed", password="ed-pw", role="Editor")
        yield replica


async def _clear(rep: Replica) -> None:
    for ds in await rep.services.datasources.store.list(1):
        await rep.services.datasources.store.delete(1, ds, allow_read_only=True)


async def _create(rep: Replica, body: dict[str, Any]) -> dict[str, Any]:
    r = await rep.client.post("/api/datasources", json=body, headers=ADMIN_AUTH)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def _create_returns_full_object_without_secrets_and_encrypts_them(replica: Replica) -> None:
    created = await _create(replica, {**PROM, "uid": "prom-1"})
    assert created["message"] == "Datasource added" and created["name"] == "Prom"
    assert created["id"] == created["datasource"]["id"] and created["uid"] == "prom-1"
    full = created["datasource"]
    assert set(full) == FULL_KEYS
    assert full["secureJsonFields"] == {"basicAuthPassword": True, "httpHeaderValue1": True}
    assert full["version"] == 1 and full["basicAuthUser"] == "scraper" and full["basicAuth"] is True
    assert "secureJsonData" not in full
    # At rest: no plaintext anywhere in the row; the service decrypts it back.
    async with replica.services.db.read() as conn:
        row = (await conn.execute(select(data_source).where(data_source.c.uid == "prom-1"))).one()
    assert "s3cr3t-pw" not in str(tuple(row)) and "tok-123" not in str(tuple(row))
    ds = await replica.services.datasources.store.by_uid(1, "prom-1")
    assert replica.services.datasources.store.secrets(ds) == {
        "basicAuthPassword": "s3cr3t-pw",
        "httpHeaderValue1": "Bearer tok-123",
    }
    for path in (
        "/api/datasources/prom-1",
        f"/api/datasources/{full['id']}",
        "/api/datasources/uid/prom-1",
        "/api/datasources/name/Prom",
        "/api/datasources",
    ):
        r = await replica.client.get(path, headers=ADMIN_AUTH)
        if path == "/api/datasources/prom-1":
            assert r.status_code == 400 and r.json() == {"message": "id is invalid"}
            continue
        assert r.status_code == 200
        assert "s3cr3t-pw" not in r.text and "secureJsonData" not in r.text


@pytest.mark.asyncio(loop_scope="module")
async def test_get_by_id_uid_name_and_list_shapes(solo: Replica) -> None:
    await _clear(solo)
    a = (await _create(solo, {**PROM, "uid": "p1"}))["datasource"]
    await _create(solo, {"name": "aardvark", "type": "testdata", "isDefault": True})
    c = solo.client
    by_uid = (await c.get("/api/datasources/uid/p1", headers=ADMIN_AUTH)).json()
    by_id = (await c.get(f"/api/datasources/{a['id']}", headers=ADMIN_AUTH)).json()
    by_name = (await c.get("/api/datasources/name/Prom", headers=ADMIN_AUTH)).json()
    assert by_uid == by_id == by_name == a
    assert (await c.get("/api/datasources/id/Prom", headers=ADMIN_AUTH)).json() == {"id": a["id"]}
    listed = (await c.get("/api/datasources", headers=ADMIN_AUTH)).json()
    assert [d["name"] for d in listed] == ["aardvark", "Prom"]  # case-insensitive name order
    assert all(set(d) == LIST_KEYS for d in listed)
    assert listed[0]["typeName"] == "TestData" and listed[0]["isDefault"] is True
    assert listed[1]["typeName"] == "Prometheus"
    for path in (
        "/api/datasources/uid/nope",
        "/api/datasources/name/nope",
        "/api/datasources/999",
        "/api/datasources/id/nope",
    ):
        r = await c.get(path, headers=ADMIN_AUTH)
        assert r.status_code == 404 and r.json() == {"message": "Data source not found"}


@pytest.mark.asyncio(loop_scope="module")
async def test_duplicates_bad_input_and_generated_uid(solo: Replica) -> None:
    c = solo.client
    first = await _create(solo, {"name": "one", "type": "testdata"})
    assert len(first["uid"]) == 14 and first["uid"].isalnum()
    r = await c.post("/api/datasources", json={"name": "one", "type": "testdata"}, headers=ADMIN_AUTH)
    assert r.status_code == 409 and r.json() == {"message": "data source with the same name already exists"}
    r = await c.post(
        "/api/datasources", json={"name": "two", "type": "testdata", "uid": first["uid"]}, headers=ADMIN_AUTH
    )
    assert r.status_code == 409 and r.json() == {"message": "data source with the same uid already exists"}
    bad = [
        ({"type": "testdata"}, "Name is required"),
        ({"name": "x"}, "Type is required"),
        ({"name": "x", "type": "prometheus", "url": "http://exa mple"}, "Validation error, invalid URL"),
        ({"name": "x", "type": "prometheus", "url": "http://"}, "Validation error, invalid URL"),
        ({"name": "x", "type": "prometheus", "url": "http://h:99999"}, "Validation error, invalid URL"),
        ({"name": "x", "type": "testdata", "uid": "bad uid!"}, "uid contains illegal characters"),
        ({"name": "x", "type": "testdata", "uid": "u" * 41}, "uid too long, max 40 characters"),
    ]
    for body, msg in bad:
        r = await c.post("/api/datasources", json=body, headers=ADMIN_AUTH)
        assert r.status_code == 400 and r.json() == {"message": msg}, (body, r.text)
    r = await c.post(
        "/api/datasources", content=b"{nope", headers={**ADMIN_AUTH, "content-type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["message"].startswith("bad request data")


async def _update_with_version_keeps_secrets_and_detects_conflicts(replica: Replica) -> None:
    c = replica.client
    created = (await _create(replica, {**PROM, "uid": "p1"}))["datasource"]
    upd = {**created, "url": "http://127.0.0.1:9091", "secureJsonData": {"httpHeaderValue1": "Bearer new"}}
    upd["jsonData"] = {"httpMethod": "GET"}
    r = await c.put("/api/datasources/uid/p1", json=upd, headers=ADMIN_AUTH)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["message"] == "Datasource updated" and body["id"] == created["id"] and body["name"] == "Prom"
    ds = body["datasource"]
    assert (
        ds["version"] == 2
        and ds["url"] == "http://127.0.0.1:9091"
        and ds["jsonData"] == {"httpMethod": "GET"}
    )
    assert ds["secureJsonFields"] == {"basicAuthPassword": True, "httpHeaderValue1": True}
    stored = await replica.services.datasources.store.by_uid(1, "p1")
    assert replica.services.datasources.store.secrets(stored)["httpHeaderValue1"] == "Bearer new"
    assert replica.services.datasources.store.secrets(stored)["basicAuthPassword"] == "s3cr3t-pw"
    # A stale version is refused.
    r = await c.put(f"/api/datasources/{created['id']}", json={**created, "version": 1}, headers=ADMIN_AUTH)
    assert r.status_code == 409 and "updated by someone else" in r.json()["message"]
    # Renaming onto another data source's name conflicts.
    await _create(replica, {"name": "other", "type": "testdata"})
    r = await c.put(f"/api/datasources/{created['id']}", json={**ds, "name": "other"}, headers=ADMIN_AUTH)
    assert r.status_code == 409 and r.json() == {"message": "data source with the same name already exists"}
    # Without version, the update is accepted (grafana-backup restores whole objects).
    r = await c.put(f"/api/datasources/{created['id']}", json={**PROM, "name": "Prom2"}, headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json()["datasource"]["version"] == 3


@pytest.mark.asyncio(loop_scope="module")
async def test_is_default_is_unique_per_org(solo: Replica) -> None:
    await _clear(solo)
    await _create(solo, {"name": "a", "type": "testdata", "isDefault": True})
    await _create(solo, {"name": "b", "type": "testdata", "isDefault": True})
    listed = (await solo.client.get("/api/datasources", headers=ADMIN_AUTH)).json()
    assert {d["name"]: d["isDefault"] for d in listed} == {"a": False, "b": True}


async def _delete_by_id_uid_and_name(replica: Replica) -> None:
    c = replica.client
    ids = [
        (await _create(replica, {"name": f"d{i}", "type": "testdata", "uid": f"u{i}"}))["id"]
        for i in range(3)
    ]
    r = await c.delete(f"/api/datasources/{ids[0]}", headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json() == {"message": "Data source deleted", "id": ids[0]}
    r = await c.delete("/api/datasources/uid/u1", headers=ADMIN_AUTH)
    assert r.json() == {"message": "Data source deleted", "id": ids[1]}
    r = await c.delete("/api/datasources/name/d2", headers=ADMIN_AUTH)
    assert r.json() == {"message": "Data source deleted", "id": ids[2]}
    assert (await c.get("/api/datasources", headers=ADMIN_AUTH)).json() == []
    r = await c.delete("/api/datasources/uid/u1", headers=ADMIN_AUTH)
    assert r.status_code == 404 and r.json() == {"message": "Data source not found"}


@pytest.mark.asyncio(loop_scope="module")
async def test_read_only_records_refuse_update_and_delete(solo: Replica) -> None:
    store = solo.services.datasources.store
    ds = await store.create(1, {"name": "provisioned", "type": "testdata", "uid": "ro"}, read_only=True)
    c = solo.client
    assert (await c.get("/api/datasources/uid/ro", headers=ADMIN_AUTH)).json()["readOnly"] is True
    r = await c.put("/api/datasources/uid/ro", json={"name": "x", "type": "testdata"}, headers=ADMIN_AUTH)
    assert r.status_code == 403 and r.json() == {"message": "Cannot update read-only data source"}
    r = await c.delete(f"/api/datasources/{ds.id}", headers=ADMIN_AUTH)
    assert r.status_code == 403 and r.json() == {"message": "Cannot delete read-only data source"}


@pytest.mark.asyncio(loop_scope="module")
async def test_roles_viewers_read_admins_write(solo: Replica) -> None:
    rep = solo
    await _create(rep, {"name": "t", "type": "testdata", "uid": "t"})
    c = rep.client
    for who in (basic("vera", "vera-pw"), basic("ed", "ed-pw")):
        assert (await c.get("/api/datasources", headers=who)).status_code == 200
        assert (await c.get("/api/datasources/uid/t/health", headers=who)).status_code == 200
        r = await c.post("/api/datasources", json={"name": "n", "type": "testdata"}, headers=who)
        assert r.status_code == 403 and "message" in r.json()
        assert (await c.delete("/api/datasources/uid/t", headers=who)).status_code == 403
    assert (await c.get("/api/datasources")).status_code == 401


@pytest.mark.asyncio(loop_scope="module")
async def test_unknown_types_are_stored_for_backup_restore(solo: Replica) -> None:
    await _clear(solo)
    created = await _create(solo, {"name": "logs", "type": "loki", "url": "http://127.0.0.1:3100"})
    assert created["datasource"]["type"] == "loki"
    listed = (await solo.client.get("/api/datasources", headers=ADMIN_AUTH)).json()
    assert listed[0]["typeName"] == "loki"
    r = await solo.client.get(f"/api/datasources/uid/{created['uid']}/health", headers=ADMIN_AUTH)
    assert r.status_code == 400 and r.json()["status"] == "ERROR"


async def test_create_update_delete_on_each_database(make_replica, db_url: str) -> None:  # type: ignore[no-untyped-def]
    """Create (secrets encrypted at rest), update with optimistic versions, delete by id, uid and name;
    a record written through one replica is read, secrets included, by another."""
    replica = await make_replica(db_url)
    await _create_returns_full_object_without_secrets_and_encrypts_them(replica)
    await _clear(replica)
    await _update_with_version_keeps_secrets_and_detects_conflicts(replica)
    await _clear(replica)
    await _delete_by_id_uid_and_name(replica)
    other = await make_replica(db_url)
    await _create(replica, {**PROM, "uid": "shared"})
    r = await other.client.get("/api/datasources/uid/shared", headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json()["secureJsonFields"]["basicAuthPassword"] is True
    ds = await other.services.datasources.store.by_uid(1, "shared")
    assert other.services.datasources.store.secrets(ds)["basicAuthPassword"] == "s3cr3t-pw"
