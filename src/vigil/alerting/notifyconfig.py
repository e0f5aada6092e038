"""Contact points (receivers and their integrations), the notification policy tree, mute timings.

A contact point name is a receiver; several integrations (rows) may share one name. Secret
settings are encrypted at rest and shown as ``[REDACTED]``. Every org gets Grafana's defaults on
first use: the ``grafana-default-email`` contact point and a root policy pointing at it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.alerting import mutetiming, routing
from vigil.alerting.notifier import Integration, channel, channels
from vigil.alerting.rules import new_uid
from vigil.alerting.sqlutil import dumps, insert_ignore, loads
from vigil.alerting.tables import alert_contact_point as cp
from vigil.alerting.tables import alert_mute_timing as mt
from vigil.alerting.tables import alert_policy as pol
from vigil.clock import Clock
from vigil.datasources.secrets import SecretBox, SecretError
from vigil.errors import AppError
from vigil.storage.db import Database, now_ms

REDACTED = "[REDACTED]"
DEFAULT_EMAIL = {"addresses": "<example@email.com>"}


def default_contact_point_uid(org_id: int) -> str:
    return f"default-email-{org_id}"


class NotifyConfig:
    def __init__(self, db: Database, clock: Clock, secret_key: str) -> None:
        self.db = db
        self.clock = clock
        self.box = SecretBox(secret_key, "vigil alerting contact points")
        self._trees: dict[tuple[int, int], routing.Route] = {}

    # -- defaults ------------------------------------------------------------------------------

    async def ensure_defaults(self, conn: AsyncConnection, org_id: int) -> None:
        exists = (await conn.execute(select(pol.c.org_id).where(pol.c.org_id == org_id))).first()
        if exists is not None:
            return
        now = now_ms(self.clock)
        await conn.execute(
            insert_ignore(
                self.db.dialect,
                cp,
                {
                    "uid": default_contact_point_uid(org_id),
                    "org_id": org_id,
                    "name": routing.DEFAULT_RECEIVER,
                    "type": "email",
                    "settings": dumps(DEFAULT_EMAIL),
                    "secure_settings": "{}",
                    "disable_resolve_message": False,
                    "provenance": "",
                    "created": now,
                    "updated": now,
                },
            )
        )
        await conn.execute(
            insert_ignore(
                self.db.dialect,
                pol,
                {
                    "org_id": org_id,
                    "tree": dumps(routing.default_tree()),
                    "provenance": "",
                    "version": 1,
                    "updated": now,
                },
            )
        )

    async def _ensure(self, org_id: int) -> None:
        async with self.db.write() as conn:
            await self.ensure_defaults(conn, org_id)

    # -- contact points ------------------------------------------------------------------------

    def integration_from_row(self, m: Any) -> Integration:
        try:
            secure = self.box.decrypt_map(loads(m["secure_settings"], {}), scope=m["uid"] + ":")
        except SecretError:
            secure = {}
        return Integration(
            uid=m["uid"],
            org_id=m["org_id"],
            name=m["name"],
            type=m["type"],
            settings=loads(m["settings"], {}),
            secure=secure,
            disable_resolve_message=bool(m["disable_resolve_message"]),
        )

    def export(self, m: Any) -> dict[str, Any]:
        settings = dict(loads(m["settings"], {}))
        for k in loads(m["secure_settings"], {}):
            settings[k] = REDACTED
        return {
            "uid": m["uid"],
            "name": m["name"],
            "type": m["type"],
            "settings": settings,
            "disableResolveMessage": bool(m["disable_resolve_message"]),
            "provenance": m["provenance"],
        }

    async def list_contact_points(self, org_id: int, name: str | None = None) -> list[dict[str, Any]]:
        await self._ensure(org_id)
        async with self.db.read() as conn:
            q = select(cp).where(cp.c.org_id == org_id)
            if name:
                q = q.where(cp.c.name == name)
            rows = (await conn.execute(q.order_by(cp.c.name, cp.c.id))).all()
        return [self.export(r._mapping) for r in rows]

    async def integration(self, uid: str) -> Integration | None:
        async with self.db.read() as conn:
            row = (await conn.execute(select(cp).where(cp.c.uid == uid))).first()
        return None if row is None else self.integration_from_row(row._mapping)

    def parse_contact_point(
        self, body: Any, current: Integration | None = None
    ) -> tuple[str, str, dict[str, Any], dict[str, str], bool]:
        if not isinstance(body, dict):
            raise AppError.bad_request("invalid contact point: expected a JSON object")
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise AppError.bad_request("invalid contact point: name is required")
        if len(name) > 190:
            raise AppError.bad_request("invalid contact point: name is longer than 190 characters")
        kind = body.get("type")
        if not isinstance(kind, str) or kind.lower() not in channels():
            raise AppError.bad_request(
                f"invalid contact point: type {kind!r} is not supported (use {', '.join(sorted(channels()))})"
            )
        kind = kind.lower()
        settings = body.get("settings") or {}
        if not isinstance(settings, dict):
            raise AppError.bad_request("invalid contact point: settings must be an object")
        extra_secure = body.get("secureSettings") or {}
        if not isinstance(extra_secure, dict):
            raise AppError.bad_request("invalid contact point: secureSettings must be an object")
        merged = {**settings, **extra_secure}
        module = channel(kind)
        secure: dict[str, str] = {}
        plain: dict[str, Any] = {}
        for k, v in merged.items():
            if k in module.SECURE:
                if v == REDACTED or v is None:
                    if current is not None and k in current.secure:
                        secure[k] = current.secure[k]
                    continue
                if v != "":
                    secure[k] = str(v)
            else:
                plain[k] = v
        if current is not None and current.type == kind:
            for k, v in current.secure.items():
                if k not in merged:
                    secure[k] = v
        module.validate({**plain, **secure})
        disable = body.get("disableResolveMessage", False)
        if not isinstance(disable, bool):
            raise AppError.bad_request("invalid contact point: disableResolveMessage must be true or false")
        return name.strip(), kind, plain, secure, disable

    async def create_contact_point(self, org_id: int, body: Any, provenance: str) -> dict[str, Any]:
        name, kind, plain, secure, disable = self.parse_contact_point(body)
        uid = body.get("uid") or new_uid()
        if not isinstance(uid, str) or len(uid) > 40:
            raise AppError.bad_request("invalid contact point: uid must be at most 40 characters")
        now = now_ms(self.clock)
        try:
            async with self.db.write() as conn:
                await self.ensure_defaults(conn, org_id)
                await conn.execute(
                    cp.insert().values(
                        uid=uid,
                        org_id=org_id,
                        name=name,
                        type=kind,
                        settings=dumps(plain),
                        secure_settings=dumps(self.box.encrypt_map(secure, scope=uid + ":")),
                        disable_resolve_message=disable,
                        provenance=provenance,
                        created=now,
                        updated=now,
                    )
                )
        except IntegrityError:
            raise AppError.conflict("a contact point with this uid already exists") from None
        return await self.get_contact_point(org_id, uid)

    async def get_contact_point(self, org_id: int, uid: str) -> dict[str, Any]:
        async with self.db.read() as conn:
            row = (await conn.execute(select(cp).where(cp.c.org_id == org_id, cp.c.uid == uid))).first()
        if row is None:
            raise AppError.not_found("contact point not found")
        return self.export(row._mapping)

    async def update_contact_point(self, org_id: int, uid: str, body: Any, provenance: str) -> None:
        async with self.db.write() as conn:
            row = (await conn.execute(select(cp).where(cp.c.org_id == org_id, cp.c.uid == uid))).first()
            if row is None:
                raise AppError.not_found("contact point not found")
            current = self.integration_from_row(row._mapping)
            name, kind, plain, secure, disable = self.parse_contact_point(body, current)
            if name != current.name:
                used = await self._receiver_in_use(conn, org_id, current.name)
                others = (
                    await conn.execute(
                        select(cp.c.uid).where(
                            cp.c.org_id == org_id, cp.c.name == current.name, cp.c.uid != uid
                        )
                    )
                ).first()
                if used and others is None:
                    raise AppError.conflict(
                        f"contact point {current.name!r} is used by a notification policy: "
                        "rename it there first"
                    )
            await conn.execute(
                update(cp)
                .where(cp.c.id == row._mapping["id"])
                .values(
                    name=name,
                    type=kind,
                    settings=dumps(plain),
                    secure_settings=dumps(self.box.encrypt_map(secure, scope=uid + ":")),
                    disable_resolve_message=disable,
                    provenance=provenance,
                    updated=now_ms(self.clock),
                )
            )

    async def delete_contact_point(self, org_id: int, uid: str) -> None:
        async with self.db.write() as conn:
            row = (await conn.execute(select(cp).where(cp.c.org_id == org_id, cp.c.uid == uid))).first()
            if row is None:
                raise AppError.not_found("contact point not found")
            name = row._mapping["name"]
            others = (
                await conn.execute(
                    select(cp.c.uid).where(cp.c.org_id == org_id, cp.c.name == name, cp.c.uid != uid)
                )
            ).first()
            if others is None and await self._receiver_in_use(conn, org_id, name):
                raise AppError.conflict(f"contact point {name!r} is used by a notification policy")
            await conn.execute(delete(cp).where(cp.c.id == row._mapping["id"]))

    async def _receiver_in_use(self, conn: AsyncConnection, org_id: int, name: str) -> bool:
        tree = await self._tree_json(conn, org_id)
        return name in routing.receivers_used(routing.build(tree))

    async def receiver_names(self, conn: AsyncConnection, org_id: int) -> set[str]:
        return {r[0] for r in await conn.execute(select(cp.c.name).where(cp.c.org_id == org_id))}

    # -- policies ------------------------------------------------------------------------------

    async def _tree_json(self, conn: AsyncConnection, org_id: int) -> dict[str, Any]:
        row = (await conn.execute(select(pol.c.tree).where(pol.c.org_id == org_id))).first()
        return loads(row[0], None) if row is not None else routing.default_tree()

    async def route_tree(self, conn: AsyncConnection, org_id: int) -> routing.Route:
        """The parsed policy tree (memoised per org and version)."""
        row = (await conn.execute(select(pol.c.tree, pol.c.version).where(pol.c.org_id == org_id))).first()
        if row is None:
            await self.ensure_defaults(conn, org_id)
            return routing.build(routing.default_tree())
        key = (org_id, int(row[1]))
        found = self._trees.get(key)
        if found is None:
            found = routing.build(loads(row[0], routing.default_tree()))
            self._trees = {k: v for k, v in self._trees.items() if k[0] != org_id}
            self._trees[key] = found
        return found

    async def get_policy(self, org_id: int) -> dict[str, Any]:
        await self._ensure(org_id)
        async with self.db.read() as conn:
            row = (await conn.execute(select(pol).where(pol.c.org_id == org_id))).first()
        tree = (
            loads(row._mapping["tree"], routing.default_tree()) if row is not None else routing.default_tree()
        )
        out = routing.export(tree)
        out["provenance"] = row._mapping["provenance"] if row is not None else ""
        return out

    async def put_policy(self, org_id: int, body: Any, provenance: str) -> None:
        tree = routing.normalise(body)
        root = routing.build(tree)
        async with self.db.write() as conn:
            await self.ensure_defaults(conn, org_id)
            known = await self.receiver_names(conn, org_id)
            missing = sorted(routing.receivers_used(root) - known)
            if missing:
                raise AppError.bad_request(f"invalid policy: receiver {missing[0]!r} does not exist")
            timings = {r[0] for r in await conn.execute(select(mt.c.name).where(mt.c.org_id == org_id))}
            unknown = sorted(routing.timings_used(root) - timings)
            if unknown:
                raise AppError.bad_request(f"invalid policy: mute timing {unknown[0]!r} does not exist")
            await conn.execute(
                update(pol)
                .where(pol.c.org_id == org_id)
                .values(
                    tree=dumps(tree),
                    provenance=provenance,
                    version=pol.c.version + 1,
                    updated=now_ms(self.clock),
                )
            )

    async def reset_policy(self, org_id: int) -> None:
        async with self.db.write() as conn:
            await self.ensure_defaults(conn, org_id)
            await conn.execute(
                insert_ignore(
                    self.db.dialect,
                    cp,
                    {
                        "uid": default_contact_point_uid(org_id),
                        "org_id": org_id,
                        "name": routing.DEFAULT_RECEIVER,
                        "type": "email",
                        "settings": dumps(DEFAULT_EMAIL),
                        "secure_settings": "{}",
                        "disable_resolve_message": False,
                        "provenance": "",
                        "created": now_ms(self.clock),
                        "updated": now_ms(self.clock),
                    },
                )
            )
            await conn.execute(
                update(pol)
                .where(pol.c.org_id == org_id)
                .values(
                    tree=dumps(routing.default_tree()),
                    provenance="",
                    version=pol.c.version + 1,
                    updated=now_ms(self.clock),
                )
            )

    # -- mute timings --------------------------------------------------------------------------

    @staticmethod
    def _timing(m: Any) -> dict[str, Any]:
        return {
            "name": m["name"],
            "time_intervals": loads(m["time_intervals"], []),
            "version": str(m["version"]),
            "provenance": m["provenance"],
        }

    async def list_timings(self, org_id: int) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = (await conn.execute(select(mt).where(mt.c.org_id == org_id).order_by(mt.c.name))).all()
        return [self._timing(r._mapping) for r in rows]

    async def get_timing(self, org_id: int, name: str) -> dict[str, Any]:
        async with self.db.read() as conn:
            row = (await conn.execute(select(mt).where(mt.c.org_id == org_id, mt.c.name == name))).first()
        if row is None:
            raise AppError.not_found("mute timing not found")
        return self._timing(row._mapping)

    async def create_timing(self, org_id: int, body: Any, provenance: str) -> dict[str, Any]:
        clean = mutetiming.validate(body)
        try:
            async with self.db.write() as conn:
                await conn.execute(
                    mt.insert().values(
                        org_id=org_id,
                        name=clean["name"],
                        time_intervals=dumps(clean["time_intervals"]),
                        provenance=provenance,
                        version=1,
                        updated=now_ms(self.clock),
                    )
                )
        except IntegrityError:
            raise AppError.conflict(f"a mute timing named {clean['name']!r} already exists") from None
        return await self.get_timing(org_id, clean["name"])

    async def update_timing(self, org_id: int, name: str, body: Any, provenance: str) -> dict[str, Any]:
        clean = mutetiming.validate({**(body if isinstance(body, dict) else {}), "name": name})
        async with self.db.write() as conn:
            result = await conn.execute(
                update(mt)
                .where(mt.c.org_id == org_id, mt.c.name == name)
                .values(
                    time_intervals=dumps(clean["time_intervals"]),
                    provenance=provenance,
                    version=mt.c.version + 1,
                    updated=now_ms(self.clock),
                )
            )
            if result.rowcount == 0:
                raise AppError.not_found("mute timing not found")
        return await self.get_timing(org_id, name)

    async def delete_timing(self, org_id: int, name: str) -> None:
        async with self.db.write() as conn:
            tree = await self._tree_json(conn, org_id)
            if name in routing.timings_used(routing.build(tree)):
                raise AppError.conflict(f"mute timing {name!r} is used by a notification policy")
            result = await conn.execute(delete(mt).where(mt.c.org_id == org_id, mt.c.name == name))
            if result.rowcount == 0:
                raise AppError.not_found("mute timing not found")
