"""grafana-client 5.x against a real ``vigil server`` process over HTTP: one operator's scenario,
run through the sync ``GrafanaApi`` and the async ``AsyncGrafanaApi`` alike, using every element the
client offers for folders (and their permissions), dashboards (and permissions, versions, tags,
home), search, data-source records, annotations, snapshots, library elements, stars and user, org
and team preferences. (grafana-client has no playlist element.) PostgreSQL, and SQLite for the
async run.
"""

# mypy: allow-untyped-calls
from __future__ import annotations

import inspect
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from grafana_client.api import AsyncGrafanaApi, GrafanaApi
from grafana_client.client import GrafanaBadInputError, GrafanaClientError
from grafana_client.model import DatasourceIdentifier, PersonalPreferences

from tests.compat_support import admin_token, vigil_server
from tests.conftest import ADMIN
from tests.server_proc import ServerProcess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    with vigil_server(tmp_path_factory.mktemp(f"gc-{request.param}"), request.param, "gc") as proc:
        yield proc


def _api(server: ServerProcess, auth: Any, asynchronous: bool) -> Any:
    cls = AsyncGrafanaApi if asynchronous else GrafanaApi
    return cls(auth=auth, host="127.0.0.1", port=server.port, protocol="http", timeout=10)


async def a(value: Any) -> Any:
    """The result of a client call, sync or async."""
    return await value if inspect.isawaitable(value) else value


def _status(exc: pytest.ExceptionInfo[GrafanaClientError]) -> int:
    return int(exc.value.status_code)


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_an_operator_manages_content_with_grafana_client(
    server: ServerProcess, asynchronous: bool, tmp_path: Path
) -> None:
    # An admin's Basic credentials for stars and preferences (they belong to a user), a service
    # account's Bearer token for everything else, as scripts usually do.
    p = "a" if asynchronous else "s"  # a prefix keeps the two runs on one server apart
    basic = _api(server, ADMIN, asynchronous)
    api = _api(server, admin_token(server.base_url, f"gc-{p}"), asynchronous)
    info = await a(api.health.check())
    assert info["version"] == "11.6.0"

    # -- people the permissions refer to ------------------------------------------------------
    u = await a(
        basic.admin.create_user(  # server-admin work: not for a service account
            {
                "name": "Viewer",
                "login": f"{p}-viewer",
                "email": f"{p}-v@example.com",
                "password": "pw-1234567",
            }
        )
    )
    user_id = u["id"]
    team = await a(api.teams.add_team({"name": f"{p}-team", "email": ""}))
    team_id = team["teamId"]
    await a(api.teams.add_team_member(team_id, user_id))

    # -- folders -----------------------------------------------------------------------------
    parent = await a(api.folder.create_folder(f"{p} Parent", uid=f"{p}-parent"))
    assert parent["uid"] == f"{p}-parent" and parent["title"] == f"{p} Parent" and parent["id"] > 0
    child = await a(api.folder.create_folder(f"{p} Child", uid=f"{p}-child", parent_uid=f"{p}-parent"))
    assert child["parentUid"] == f"{p}-parent"
    other = await a(api.folder.create_folder(f"{p} Other"))
    assert other["uid"] and other["uid"] != f"{p}-parent"
    with pytest.raises(GrafanaClientError) as err:
        await a(api.folder.create_folder("Again", uid=f"{p}-parent"))
    assert _status(err) == 409

    top = await a(api.folder.get_all_folders())
    assert {f"{p}-parent", other["uid"]} <= {f["uid"] for f in top}
    assert f"{p}-child" not in {f["uid"] for f in top}
    nested = await a(api.folder.get_all_folders(parent_uid=f"{p}-parent"))
    assert [f["uid"] for f in nested] == [f"{p}-child"]
    got = await a(api.folder.get_folder(f"{p}-parent"))
    assert got["id"] == parent["id"] and got["url"].startswith(f"/dashboards/f/{p}-parent/")
    assert (await a(api.folder.get_folder_by_id(child["id"])))["uid"] == f"{p}-child"
    with pytest.raises(GrafanaClientError) as err:
        await a(api.folder.get_folder(f"{p}-missing"))
    assert _status(err) == 404

    renamed = await a(api.folder.update_folder(other["uid"], title=f"{p} Renamed", version=other["version"]))
    assert renamed["title"] == f"{p} Renamed" and renamed["version"] == other["version"] + 1
    with pytest.raises(GrafanaClientError) as err:  # stale version
        await a(api.folder.update_folder(other["uid"], title=f"{p} Stale", version=other["version"]))
    assert _status(err) == 412
    forced = await a(api.folder.update_folder(other["uid"], title=f"{p} Forced", overwrite=True))
    assert forced["title"] == f"{p} Forced"
    moved = await a(api.folder.move_folder(f"{p}-child", other["uid"]))
    assert moved["parentUid"] == other["uid"]
    assert [f["uid"] for f in await a(api.folder.get_all_folders(parent_uid=other["uid"]))] == [f"{p}-child"]

    await a(
        api.folder.update_folder_permissions(
            f"{p}-parent",
            [
                {"role": "Viewer", "permission": 1},
                {"teamId": team_id, "permission": 2},
                {"userId": user_id, "permission": 4},
            ],
        )
    )
    perms = await a(api.folder.get_folder_permissions(f"{p}-parent"))
    kinds = {
        (x.get("role"), x["teamId"], x["userId"], x["permissionName"]) for x in perms if not x["inherited"]
    }
    assert (None, team_id, 0, "Edit") in kinds and (None, 0, user_id, "Admin") in kinds
    assert ("Viewer", 0, 0, "View") in kinds
    assert all(x["uid"] == f"{p}-parent" and x["isFolder"] is True for x in perms)
    await a(api.folder.update_folder_permissions_for_user(f"{p}-parent", user_id, {"permission": "Edit"}))
    perms = await a(api.folder.get_folder_permissions(f"{p}-parent"))
    assert [x["permissionName"] for x in perms if x["userId"] == user_id] == ["Edit"]

    # -- dashboards --------------------------------------------------------------------------
    model = {
        "title": f"{p} Service",
        "tags": [f"{p}-prod", "gc"],
        "panels": [
            {"id": 1, "type": "timeseries", "title": "CPU", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8}}
        ],
        "schemaVersion": 41,
        "custom": {"kept": [1, 2, 3]},
    }
    saved = await a(
        api.dashboard.update_dashboard({"dashboard": model, "folderUid": f"{p}-parent", "message": "first"})
    )
    assert saved["status"] == "success" and saved["version"] == 1 and saved["folderUid"] == f"{p}-parent"
    uid, dash_id = saved["uid"], saved["id"]
    full = await a(api.dashboard.get_dashboard(uid))
    assert full["dashboard"]["custom"] == {"kept": [1, 2, 3]} and full["dashboard"]["uid"] == uid
    assert full["meta"]["folderUid"] == f"{p}-parent" and full["meta"]["folderId"] == parent["id"]
    assert full["meta"]["slug"] == f"{p}-service" and full["meta"]["canAdmin"] is True

    # grafana-client copies folderUid out of "meta" when it is missing at the top level.
    again = dict(full, message="second")
    again["dashboard"] = dict(full["dashboard"], description="two")
    resaved = await a(api.dashboard.update_dashboard(again))
    assert resaved["version"] == 2 and resaved["folderUid"] == f"{p}-parent" and resaved["uid"] == uid
    with pytest.raises(GrafanaClientError) as err:  # the version it read is stale now
        await a(api.dashboard.update_dashboard({"dashboard": full["dashboard"], "folderUid": f"{p}-parent"}))
    assert _status(err) == 412 and err.value.response["status"] == "version-mismatch"
    with pytest.raises(GrafanaClientError) as err:  # a second dashboard with the same title
        await a(
            api.dashboard.update_dashboard(
                {"dashboard": {"title": f"{p} Service"}, "folderUid": f"{p}-parent"}
            )
        )
    assert _status(err) == 412 and err.value.response["status"] == "name-exists"
    third = await a(
        api.dashboard.update_dashboard(
            {"dashboard": dict(full["dashboard"], description="three"), "overwrite": True, "message": "third"}
        )
    )
    assert third["version"] == 3 and third["uid"] == uid and not third.get("folderUid")
    # An overwrite without folderUid moves the dashboard to General; put it back.
    await a(
        api.dashboard.update_dashboard(
            {
                "dashboard": (await a(api.dashboard.get_dashboard(uid)))["dashboard"],
                "folderUid": f"{p}-parent",
            }
        )
    )

    root = await a(api.dashboard.update_dashboard({"dashboard": {"title": f"{p} Root", "tags": ["gc"]}}))
    with pytest.raises(GrafanaClientError) as err:  # removed legacy route
        await a(api.dashboard.get_dashboard_by_name(f"{p}-service"))
    assert _status(err) == 404
    home = await a(api.dashboard.get_home_dashboard())
    assert "dashboard" in home or "redirectUri" in home
    tags = {t["term"]: t["count"] for t in await a(api.dashboard.get_dashboards_tags())}
    assert tags[f"{p}-prod"] == 1 and tags["gc"] >= 2

    await a(api.dashboard.update_permissions_by_uid(uid, [{"userId": user_id, "permission": 2}]))
    by_uid = await a(api.dashboard.get_permissions_by_uid(uid))
    assert any(
        x["userId"] == user_id and x["permissionName"] == "Edit" and not x["inherited"] for x in by_uid
    )
    assert any(x["inherited"] and x["teamId"] == team_id for x in by_uid)  # from the folder
    await a(api.dashboard.update_permissions_by_id(dash_id, {"teamId": team_id, "permission": 1}))
    by_id = await a(api.dashboard.get_permissions_by_id(dash_id))
    assert any(x["teamId"] == team_id and x["permissionName"] == "View" and not x["inherited"] for x in by_id)
    with pytest.deprecated_call():
        legacy = await a(api.dashboard.get_dashboard_permissions(dash_id))
    assert legacy == by_id
    with pytest.deprecated_call():
        await a(api.dashboard.update_dashboard_permissions(dash_id, {"items": []}))
    assert not [x for x in await a(api.dashboard.get_permissions_by_uid(uid)) if not x["inherited"]]

    # -- dashboard versions ------------------------------------------------------------------
    versions = await a(api.dashboard_versions.get_dashboard_versions_by_uid(uid))
    listed = versions["versions"] if isinstance(versions, dict) else versions
    assert [v["version"] for v in listed] == [4, 3, 2, 1]
    assert [v["message"] for v in listed][1:] == ["third", "second", "first"]
    limited = await a(api.dashboard_versions.get_dashboard_versions_by_id(dash_id, limit=2))
    assert [v["version"] for v in limited] == [4, 3]
    one = await a(api.dashboard_versions.get_dashboard_version_by_uid(uid, 1))
    assert (
        one["version"] == 1
        and one["data"]["custom"] == {"kept": [1, 2, 3]}
        and "description" not in one["data"]
    )
    two = await a(api.dashboard_versions.get_dashboard_version_by_id(dash_id, 2))
    assert two["data"]["description"] == "two"
    restored = await a(api.dashboard_versions.restore_dashboard_by_uid(uid, 1))
    assert restored["version"] == 5
    assert "description" not in (await a(api.dashboard.get_dashboard(uid)))["dashboard"]
    restored = await a(api.dashboard_versions.restore_dashboard_by_id(dash_id, 2))
    assert restored["version"] == 6
    assert (await a(api.dashboard.get_dashboard(uid)))["dashboard"]["description"] == "two"
    diff = await a(api.dashboard_versions.calculate_diff(dash_id, 1, dash_id, 2, diff_type="basic"))
    assert "description" in str(diff)
    diff = await a(api.dashboard_versions.calculate_diff(dash_id, 1, dash_id, 2, diff_type="json"))
    assert "two" in str(diff)

    # -- search ------------------------------------------------------------------------------
    def uids(hits: list[dict[str, Any]]) -> list[str]:
        return [h["uid"] for h in hits]

    assert uids(await a(api.search.search_dashboards(query=f"{p} serv"))) == [uid]
    assert uids(await a(api.search.search_dashboards(tag=[f"{p}-prod", "gc"]))) == [uid]
    assert set(uids(await a(api.search.search_dashboards(tag="gc", query=p)))) == {uid, root["uid"]}
    folders_hit = await a(api.search.search_dashboards(query=p, type_="dash-folder"))
    assert {h["type"] for h in folders_hit} == {"dash-folder"} and f"{p}-parent" in uids(folders_hit)
    assert uids(await a(api.search.search_dashboards(dashboard_ids=[dash_id]))) == [uid]
    assert uids(
        await a(api.search.search_dashboards(dashboard_uids=[uid, root["uid"]], type_="dash-db"))
    ) == [
        root["uid"],
        uid,
    ]
    in_folder = await a(api.search.search_dashboards(folder_uids=[f"{p}-parent"], type_="dash-db"))
    assert uids(in_folder) == [uid] and in_folder[0]["folderTitle"] == f"{p} Parent"
    assert uids(await a(api.search.search_dashboards(folder_ids=[parent["id"]], type_="dash-db"))) == [uid]
    with pytest.raises(GrafanaBadInputError):
        await a(api.search.search_dashboards(folder_ids=[parent["id"]], folder_uids=[f"{p}-parent"]))
    paged = [await a(api.search.search_dashboards(query=p, limit=1, page=n)) for n in (1, 2, 3, 9)]
    assert [len(x) for x in paged] == [1, 1, 1, 0] and len({x[0]["uid"] for x in paged[:3]}) == 3

    # -- stars and preferences (they belong to a user: the admin's Basic credentials) ---------
    await a(basic.user.star_dashboard(uid))
    await a(basic.user.star_dashboard(root["id"]))
    assert set(uids(await a(basic.search.search_dashboards(starred=True, query=p)))) == {uid, root["uid"]}
    await a(basic.user.unstar_dashboard(root["id"]))
    await a(basic.user.unstar_dashboard(uid))
    assert uids(await a(basic.search.search_dashboards(starred=True, query=p))) == []
    with pytest.deprecated_call():
        await a(basic.user.star_actual_user_dashboard(dash_id))
    assert uids(await a(basic.search.search_dashboards(starred=True, query=p))) == [uid]
    with pytest.deprecated_call():
        await a(basic.user.unstar_actual_user_dashboard(dash_id))
    assert uids(await a(basic.search.search_dashboards(starred=True, query=p))) == []

    await a(basic.user.update_preferences(PersonalPreferences(theme="light", homeDashboardUID=uid)))
    prefs = await a(basic.user.get_preferences())
    assert prefs["theme"] == "light" and prefs["homeDashboardUID"] == uid
    await a(basic.user.patch_preferences({"timezone": "utc"}))
    prefs = await a(basic.user.get_preferences())
    assert (prefs["theme"], prefs["timezone"], prefs["homeDashboardUID"]) == ("light", "utc", uid)
    home = await a(basic.dashboard.get_home_dashboard())
    assert home.get("dashboard", {}).get("uid") == uid or uid in home.get("redirectUri", "")
    await a(basic.user.update_preferences({"weekStart": "monday"}))  # a whole update resets the rest
    prefs = await a(basic.user.get_preferences())
    assert prefs["weekStart"] == "monday" and prefs["theme"] == "" and not prefs["homeDashboardUID"]

    await a(api.organization.update_preferences(PersonalPreferences(timezone="browser", weekStart="sunday")))
    await a(api.organization.patch_preferences(PersonalPreferences(theme="dark")))
    org_prefs = await a(api.organization.get_preferences())
    assert (org_prefs["timezone"], org_prefs["weekStart"], org_prefs["theme"]) == (
        "browser",
        "sunday",
        "dark",
    )
    with pytest.deprecated_call():
        await a(api.organizations.organization_preference_update(theme="light", timezone="utc"))
    with pytest.deprecated_call():
        org_prefs = await a(api.organizations.organization_preference_get())
    assert (org_prefs["theme"], org_prefs["timezone"]) == ("light", "utc")
    await a(api.teams.update_preferences(team_id, PersonalPreferences(theme="dark", homeDashboardId=dash_id)))
    team_prefs = await a(api.teams.get_preferences(team_id))
    assert team_prefs["theme"] == "dark" and team_prefs["homeDashboardId"] == dash_id
    with pytest.deprecated_call():
        await a(api.teams.update_team_preferences(team_id, {"timezone": "utc"}))
    with pytest.deprecated_call():
        team_prefs = await a(api.teams.get_team_preferences(team_id))
    assert team_prefs["timezone"] == "utc"

    # -- data sources (records) --------------------------------------------------------------
    ds_body = {
        "name": f"{p}-prom",
        "type": "prometheus",
        "url": "http://127.0.0.1:9",
        "access": "proxy",
        "basicAuth": True,
        "basicAuthUser": "scraper",
        "jsonData": {"httpMethod": "POST"},
        "secureJsonData": {"basicAuthPassword": "s3cret"},
    }
    created = await a(api.datasource.create_datasource(ds_body))
    assert created["message"] == "Datasource added" and created["name"] == f"{p}-prom"
    ds_id, ds_uid = created["id"], created["datasource"]["uid"]
    with pytest.raises(GrafanaClientError) as err:
        await a(api.datasource.create_datasource(ds_body))
    assert _status(err) == 409
    by_id = await a(api.datasource.get_datasource_by_id(ds_id))
    assert by_id["uid"] == ds_uid and by_id["jsonData"] == {"httpMethod": "POST"}
    assert by_id["secureJsonFields"] == {"basicAuthPassword": True} and "secureJsonData" not in by_id
    assert (await a(api.datasource.get_datasource_by_uid(ds_uid)))["id"] == ds_id
    assert (await a(api.datasource.get_datasource_by_name(f"{p}-prom")))["id"] == ds_id
    assert (await a(api.datasource.find_datasource(f"{p}-prom")))["uid"] == ds_uid
    assert (await a(api.datasource.get_datasource_id_by_name(f"{p}-prom"))) == {"id": ds_id}
    for ident in (
        DatasourceIdentifier(id=ds_id),
        DatasourceIdentifier(uid=ds_uid),
        DatasourceIdentifier(name=f"{p}-prom"),
    ):
        assert (await a(api.datasource.get(ident)))["id"] == ds_id
    updated = await a(api.datasource.update_datasource(ds_id, dict(by_id, url="http://127.0.0.1:10")))
    assert (
        updated["message"] == "Datasource updated" and updated["datasource"]["url"] == "http://127.0.0.1:10"
    )
    again_ds = await a(api.datasource.get_datasource_by_uid(ds_uid))
    assert again_ds["secureJsonFields"] == {"basicAuthPassword": True}  # kept when not sent
    updated = await a(api.datasource.update_datasource_by_uid(ds_uid, dict(again_ds, isDefault=True)))
    assert updated["datasource"]["isDefault"] is True
    listed_ds = await a(api.datasource.list_datasources())
    assert [d["uid"] for d in listed_ds if d["name"] == f"{p}-prom"] == [ds_uid]
    assert all("secureJsonData" not in d for d in listed_ds)
    with pytest.raises(GrafanaBadInputError) as bad:  # nothing listens on port 10
        await a(api.datasource.health(ds_uid))
    assert bad.value.response["status"] == "ERROR"
    for n in (2, 3):
        await a(
            api.datasource.create_datasource({"name": f"{p}-td{n}", "type": "grafana-testdata-datasource"})
        )
    assert (await a(api.datasource.delete_datasource_by_name(f"{p}-td2")))["message"] == "Data source deleted"
    td3 = await a(api.datasource.get_datasource_by_name(f"{p}-td3"))
    await a(api.datasource.delete_datasource_by_uid(td3["uid"]))
    await a(api.datasource.delete_datasource_by_id(ds_id))
    with pytest.raises(GrafanaClientError) as err:
        await a(api.datasource.get_datasource_by_uid(ds_uid))
    assert _status(err) == 404

    # -- annotations -------------------------------------------------------------------------
    t0 = int(time.time() * 1000) - 3_600_000
    dash_ann = await a(
        api.annotations.add_annotation(
            dashboard_uid=uid, panel_id=1, time_from=t0, time_to=t0 + 60_000, tags=[f"{p}-deploy"], text="v1"
        )
    )
    assert dash_ann["message"] == "Annotation added"
    by_dash_id = await a(
        api.annotations.add_annotation(
            dashboard_id=dash_id, time_from=t0 + 1000, tags=[f"{p}-deploy"], text="v2"
        )
    )
    org_ann = await a(api.annotations.add_annotation(time_from=t0 + 2000, tags=[f"{p}-org"], text="org-wide"))
    graphite = await a(
        api.annotations.add_annotation_graphite(
            what=f"{p} release", tags=[f"{p}-gr"], when=(t0 + 3000) // 1000, data="d"
        )
    )
    assert graphite["message"] == "Graphite annotation added"

    def ids(anns: list[dict[str, Any]]) -> set[int]:
        return {x["id"] for x in anns}

    window = {"time_from": t0 - 1, "time_to": t0 + 10_000}
    assert ids(await a(api.annotations.find_annotations(**window, dashboard_uid=uid))) == {
        dash_ann["id"],
        by_dash_id["id"],
    }
    assert ids(await a(api.annotations.find_annotations(**window, dashboard_id=dash_id, panel_id=1))) == {
        dash_ann["id"]
    }
    assert ids(await a(api.annotations.find_annotations(**window, tags=[f"{p}-org"]))) == {org_ann["id"]}
    assert ids(
        await a(api.annotations.find_annotations(**window, tags=[f"{p}-gr"], ann_type="annotation"))
    ) == {graphite["id"]}
    assert len(await a(api.annotations.find_annotations(**window, tags=[f"{p}-deploy"], limit=1))) == 1
    assert await a(api.annotations.find_annotations(**window, ann_type="alert", tags=[f"{p}-deploy"])) == []
    mine = await a(api.annotations.find_annotations(**window, user_id=999_999))
    assert mine == []
    with pytest.deprecated_call():
        old = await a(api.annotations.get_annotation(**window, tags=[f"{p}-deploy"]))
    assert ids(old) == {dash_ann["id"], by_dash_id["id"]}
    region = next(x for x in old if x["id"] == dash_ann["id"])
    assert region["timeEnd"] == t0 + 60_000 and region["dashboardUID"] == uid and region["panelId"] == 1

    await a(
        api.annotations.update_annotation(
            org_ann["id"], time_from=t0 + 2500, tags=[f"{p}-org", "x"], text="new"
        )
    )
    got_ann = (await a(api.annotations.find_annotations(**window, tags=[f"{p}-org"])))[0]
    assert (got_ann["time"], got_ann["text"], sorted(got_ann["tags"])) == (
        t0 + 2500,
        "new",
        sorted([f"{p}-org", "x"]),
    )
    await a(
        api.annotations.partial_update_annotation(org_ann["id"], tags=[f"{p}-org"])
    )  # None means unchanged
    got_ann = (await a(api.annotations.find_annotations(**window, tags=[f"{p}-org"])))[0]
    assert (got_ann["time"], got_ann["text"], got_ann["tags"]) == (t0 + 2500, "new", [f"{p}-org"])
    for ann in (dash_ann, by_dash_id, org_ann, graphite):
        await a(api.annotations.delete_annotations_by_id(ann["id"]))
    assert await a(api.annotations.find_annotations(**window, dashboard_uid=uid)) == []

    # -- snapshots ---------------------------------------------------------------------------
    snap_model = dict(full["dashboard"], title=f"{p} Snap")
    snap = await a(api.snapshots.create_new_snapshot(dashboard=snap_model, name=f"{p} snap", expires=3600))
    assert {"key", "deleteKey", "url", "deleteUrl", "id"} <= set(snap)
    chosen = await a(
        api.snapshots.create_new_snapshot(
            dashboard=snap_model, name=f"{p} chosen", key=f"{p}-key", delete_key=f"{p}-del", external=False
        )
    )
    assert chosen["key"] == f"{p}-key" and chosen["deleteKey"] == f"{p}-del"
    listed_snaps = {s["key"]: s for s in await a(api.snapshots.get_dashboard_snapshots())}
    assert {snap["key"], f"{p}-key"} <= set(listed_snaps)
    assert listed_snaps[f"{p}-key"]["name"] == f"{p} chosen"
    one_snap = await a(api.snapshots.get_snapshot_by_key(snap["key"]))
    assert one_snap["dashboard"]["custom"] == {"kept": [1, 2, 3]} and one_snap["meta"]["isSnapshot"] is True
    await a(api.snapshots.delete_snapshot_by_key(snap["key"]))
    await a(api.snapshots.delete_snapshot_by_delete_key(f"{p}-del"))
    for key in (snap["key"], f"{p}-key"):
        with pytest.raises(GrafanaClientError) as err:
            await a(api.snapshots.get_snapshot_by_key(key))
        assert _status(err) == 404

    # -- library elements --------------------------------------------------------------------
    panel = {"type": "stat", "title": f"{p} Stat", "options": {"reduceOptions": {"calcs": ["last"]}}}
    el = (
        await a(api.libraryelement.create_library_element(panel, folder_uid=f"{p}-parent", uid=f"{p}-lib"))
    )["result"]
    assert (el["uid"], el["name"], el["kind"], el["folderUid"]) == (f"{p}-lib", f"{p} Stat", 1, f"{p}-parent")
    var = (
        await a(
            api.libraryelement.create_library_element(
                {"name": "env", "type": "custom", "query": "a,b"}, name=f"{p} env", kind=2
            )
        )
    )["result"]
    assert var["kind"] == 2 and var["folderUid"] == ""
    got_el = (await a(api.libraryelement.get_library_element(f"{p}-lib")))["result"]
    assert got_el["model"]["options"] == panel["options"] and got_el["version"] == 1
    by_name = (await a(api.libraryelement.get_library_element_by_name(f"{p} Stat")))["result"]
    assert [x["uid"] for x in by_name] == [f"{p}-lib"]
    assert (await a(api.libraryelement.get_library_element_connections(f"{p}-lib")))["result"] == []
    # The element as read back is what the client expects: it takes the name from model.title, the
    # folder from meta.folderUid and the kind from kind. (Without an explicit version the client
    # looks for "version" beside "result" in the GET reply, where Grafana has none, and gives up.)
    changed = dict(got_el, model=dict(got_el["model"], title=f"{p} Stat 2"))
    upd = (await a(api.libraryelement.update_library_element(f"{p}-lib", changed, version=1)))["result"]
    assert upd["version"] == 2 and upd["name"] == f"{p} Stat 2" and upd["folderUid"] == f"{p}-parent"
    with pytest.raises(GrafanaClientError) as err:  # stale version
        await a(api.libraryelement.update_library_element(f"{p}-lib", panel, name="x", version=1))
    assert _status(err) == 412
    listing = (
        await a(
            api.libraryelement.list_library_elements(
                search_string=p, kind=1, sort_direction="alpha-asc", per_page=10, page=1
            )
        )
    )["result"]
    assert [x["uid"] for x in listing["elements"]] == [f"{p}-lib"] and listing["perPage"] == 10
    listing = (
        await a(
            api.libraryelement.list_library_elements(
                search_string=p, folder_filter=str(parent["id"]), type_filter="stat"
            )
        )
    )["result"]
    assert [x["uid"] for x in listing["elements"]] == [f"{p}-lib"]
    listing = (await a(api.libraryelement.list_library_elements(search_string=p, exclude_uid=f"{p}-lib")))[
        "result"
    ]
    assert [x["uid"] for x in listing["elements"]] == [var["uid"]]
    page2 = (await a(api.libraryelement.list_library_elements(search_string=p, per_page=1, page=2)))["result"]
    assert len(page2["elements"]) == 1 and page2["totalCount"] == 2
    await a(api.libraryelement.delete_library_element(var["uid"]))
    await a(api.libraryelement.delete_library_element(f"{p}-lib"))
    with pytest.raises(GrafanaClientError) as err:
        await a(api.libraryelement.get_library_element(f"{p}-lib"))
    assert _status(err) == 404

    # -- deleting ----------------------------------------------------------------------------
    gone = await a(api.dashboard.delete_dashboard(root["uid"]))
    assert gone["title"] == f"{p} Root"
    with pytest.raises(GrafanaClientError) as err:
        await a(api.dashboard.get_dashboard(root["uid"]))
    assert _status(err) == 404
    deleted = await a(api.folder.delete_folder(f"{p}-parent"))
    assert deleted["title"] == f"{p} Parent"
    with pytest.raises(GrafanaClientError) as err:  # the folder's dashboards went with it
        await a(api.dashboard.get_dashboard(uid))
    assert _status(err) == 404
    await a(api.folder.delete_folder(other["uid"], force_delete_rules=True))
    assert [h for h in await a(api.search.search_dashboards(query=p)) if h["type"] == "dash-db"] == []
