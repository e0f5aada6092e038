"""Removing an org's alerting when the org is deleted: rules and their states, contact points,
policies, mute timings, templates, silences, dispatch groups and the notification log. Runs inside
the deleting transaction (``Orgs(cleanups=[...])``); the rule change is published in it, so every
replica's scheduler drops the org's rules at its next bus poll."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from vigil.alerting import tables
from vigil.alerting.rules import TOPIC

_BY_ORG = (
    tables.alert_rule,
    tables.alert_instance,
    tables.alert_contact_point,
    tables.alert_policy,
    tables.alert_mute_timing,
    tables.alert_notification_template,
    tables.alert_silence,
    tables.alert_notification,
)


async def delete_alerting_of_org(conn: AsyncConnection, org_id: int, bus: Any) -> None:
    groups = select(tables.alert_group.c.id).where(tables.alert_group.c.org_id == org_id).scalar_subquery()
    await conn.execute(
        delete(tables.alert_group_member).where(tables.alert_group_member.c.group_id.in_(groups))
    )
    await conn.execute(delete(tables.alert_group).where(tables.alert_group.c.org_id == org_id))
    for table in _BY_ORG:
        await conn.execute(delete(table).where(table.c.org_id == org_id))
    await bus.publish(TOPIC, f"org:{org_id}", conn)
