"""``AlertingService``: every alerting part of one replica, wired together, with its lifecycle.

``start`` runs the scheduler and the dispatcher loops; ``stop`` is graceful (leases released so
peers take over at once); ``kill`` stops everything abruptly as a crash would, leaving leases and
claims to lapse (tests use it to prove fail-over).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import httpx
from prometheus_client import CollectorRegistry
from sqlalchemy import delete, exists, select

from vigil.alerting.dispatch import Dispatcher
from vigil.alerting.instances import InstanceStore
from vigil.alerting.metrics import AlertingMetrics
from vigil.alerting.nflog import NotificationLog
from vigil.alerting.notification_templates import NotificationTemplates
from vigil.alerting.notifier import SendContext, SMTPSettings
from vigil.alerting.notifycache import NotifyCache
from vigil.alerting.notifyconfig import NotifyConfig
from vigil.alerting.query import DataSourceRunner, QueryRunner
from vigil.alerting.rules import TOPIC, RuleStore
from vigil.alerting.scheduler import Scheduler
from vigil.alerting.silences import Silences
from vigil.alerting.sqlutil import write_retrying
from vigil.alerting.tables import alert_instance, alert_notification, alert_rule
from vigil.clock import Clock
from vigil.cluster.service import Cluster
from vigil.config import Config
from vigil.http.outbound import OutboundGuard
from vigil.storage.db import Database, now_ms

log = logging.getLogger("vigil.alerting")
KEEP_NOTIFICATIONS_MS = 5 * 86_400_000
ORPHAN_SWEEP_SECONDS = 30.0  # and notifications older than KEEP_NOTIFICATIONS_MS every 10th round


def smtp_settings(config: Config) -> SMTPSettings:
    return SMTPSettings(
        enabled=config.get_bool("smtp", "enabled"),
        host=config.get("smtp", "host"),
        user=config.get("smtp", "user"),
        password=config.get("smtp", "password"),
        from_address=config.get("smtp", "from_address"),
        from_name=config.get("smtp", "from_name"),
        ehlo_identity=config.get("smtp", "ehlo_identity"),
        starttls_policy=config.get("smtp", "startTLS_policy"),
        skip_verify=config.get_bool("smtp", "skip_verify"),
    )


class AlertingService:
    def __init__(
        self,
        config: Config,
        db: Database,
        clock: Clock,
        cluster: Cluster,
        registry: CollectorRegistry,
        root_url: str,
        version: str,
        secret_key: str,
        datasources: Any,
        is_draining: Callable[[], bool] = lambda: False,
    ) -> None:
        self.db = db
        self.clock = clock
        self.cluster = cluster
        self.instance = cluster.name
        self.root_url = root_url if root_url.endswith("/") else root_url + "/"
        self.version = version
        self.is_draining = is_draining
        self.enabled = config.get_bool("alerting", "enabled")
        self.ha_mode = config.get_choice("alerting", "ha_mode", ["shard", "all"])
        self.min_interval = config.get_duration("alerting", "min_interval", minimum=1)
        self.evaluation_timeout = config.get_duration("alerting", "evaluation_timeout", minimum=0.1)
        self.max_attempts = config.get_int("alerting", "max_attempts", minimum=1)
        self.notification_timeout = config.get_duration("alerting", "notification_timeout", minimum=0.1)
        self.smtp = smtp_settings(config)
        self.outbound = OutboundGuard.from_config(config)
        # A dead replica's leases lapse when peers consider it dead.
        self.lease_ttl = cluster.peer_timeout
        self.metrics = AlertingMetrics(registry)
        self.runner: QueryRunner = DataSourceRunner(datasources, cluster.bus)
        self.rules = RuleStore(db, clock, cluster.bus, self.min_interval)
        self.notify = NotifyConfig(db, clock, secret_key)
        self.silences = Silences(db, clock)
        self.notify_cache = NotifyCache(self.notify, self.silences, clock, cluster.bus)
        self.templates = NotificationTemplates(db, clock, cluster.bus, self.notify_cache.syncer)
        self.instances = InstanceStore(db, self.instance)
        self._http: httpx.AsyncClient | None = None
        self.nflog = NotificationLog(
            db, clock, self.notify, self.instance, self.metrics, self.send_context, self.max_attempts,
            self.notification_timeout,
        )  # fmt: skip
        self.dispatcher = Dispatcher(db, clock, self.notify_cache, self.nflog, self.metrics, self.root_url)
        # Evaluations share the replica's connection pool with HTTP requests: leave them half.
        pool = db.options.pool_size if db.dialect != "sqlite" else 16
        self.scheduler = Scheduler(self, concurrency=max(2, min(64, pool // 2)))
        self.rules.on_deleted.append(self._resolve_deleted)
        self._tasks: list[asyncio.Task[None]] = []
        self.running = False

    # -- plumbing ------------------------------------------------------------------------------

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = self.outbound.client(follow_redirects=False, timeout=self.notification_timeout)
        return self._http

    def send_context(self, notification_id: str, as_of: float | None = None) -> SendContext:
        return SendContext(
            http=self.http,
            timeout=self.notification_timeout,
            root_url=self.root_url,
            version=self.version,
            smtp=self.smtp,
            notification_id=notification_id,
            templates=self.templates.named,
            as_of=as_of,
        )

    async def _resolve_deleted(self, conn: Any, org_id: int, uids: list[str]) -> None:
        """A deleted rule's firing alerts are resolved (receivers hear about it)."""
        from sqlalchemy import select

        from vigil.alerting.tables import alert_instance

        rows = await conn.execute(
            select(alert_instance.c.rule_uid, alert_instance.c.fingerprint).where(
                alert_instance.c.rule_uid.in_(uids)
            )
        )
        now = now_ms(self.clock)
        for uid, fp in rows.all():
            await self.dispatcher.enqueue_resolved(conn, f"{uid}:{fp}", now)

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        self.cluster.bus.subscribe(TOPIC, self.scheduler.mark_dirty)
        self.cluster.membership.on_change(self.scheduler.wake)
        if not self.enabled:
            return
        self.scheduler.start()
        self._tasks.append(asyncio.create_task(self.dispatcher.run(), name=f"vigil-dispatch-{self.instance}"))
        self._tasks.append(
            asyncio.create_task(self._housekeeping(), name=f"vigil-alerting-gc-{self.instance}")
        )
        self.running = True

    async def _housekeeping(self) -> None:
        rounds = 0
        while True:
            await asyncio.sleep(ORPHAN_SWEEP_SECONDS)
            rounds += 1
            try:
                await self.resolve_orphans()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("resolving the alerts of deleted rules failed: %s", exc)
            if rounds % 10:
                continue
            with contextlib.suppress(Exception):
                cutoff = now_ms(self.clock) - KEEP_NOTIFICATIONS_MS
                async with self.db.write() as conn:
                    await conn.execute(
                        delete(alert_notification).where(
                            alert_notification.c.status != "pending", alert_notification.c.created < cutoff
                        )
                    )

    async def resolve_orphans(self, limit: int = 500) -> int:
        """Alert instances whose rule is gone: an evaluation under way when its rule was deleted
        can write a new series after the deletion removed the rule's instances. Their alerts are
        resolved (receivers hear of it, as for a deleted rule) and the rows deleted. Returns how
        many there were."""

        async def body(conn: Any) -> int:
            rows = (
                await conn.execute(
                    select(alert_instance.c.id, alert_instance.c.rule_uid, alert_instance.c.fingerprint)
                    .where(
                        ~exists().where(
                            alert_rule.c.org_id == alert_instance.c.org_id,
                            alert_rule.c.uid == alert_instance.c.rule_uid,
                        )
                    )
                    .order_by(alert_instance.c.id)
                    .limit(limit)
                )
            ).all()
            now = now_ms(self.clock)
            for _, uid, fp in rows:
                await self.dispatcher.enqueue_resolved(conn, f"{uid}:{fp}", now)
            if rows:
                await conn.execute(
                    delete(alert_instance).where(alert_instance.c.id.in_([r[0] for r in rows]))
                )
                log.info("resolved %d alert instance(s) of deleted rules", len(rows))
            return len(rows)

        return await write_retrying(self.db, body)

    async def _cancel_tasks(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()

    async def stop(self) -> None:
        """Graceful: stop evaluating, hand the leases back, let in-flight sends finish briefly."""
        await self.scheduler.stop(release=True)
        await self._cancel_tasks()
        await self.dispatcher.stop(grace=min(self.notification_timeout, 10.0))
        if self._http is not None:
            with contextlib.suppress(Exception):
                await self._http.aclose()
            self._http = None
        self.running = False

    async def kill(self) -> None:
        """Abrupt, as a crash: no lease release, no deregistration, in-flight work abandoned."""
        self.running = False
        await self.scheduler.stop(release=False)
        await self._cancel_tasks()
        await self.dispatcher.stop()
        await self.cluster.kill()

    # -- views ---------------------------------------------------------------------------------

    async def owned_rules(self) -> dict[str, list[str]]:
        """Rule uids each live member evaluates (from the leases in shard mode)."""
        from vigil.alerting.scheduler import LEASE_PREFIX

        rules = await self.rules.all_rules()
        by_group: dict[str, list[str]] = {}
        for r in rules:
            by_group.setdefault(r.group_key, []).append(r.uid)
        members = await self.cluster.membership.fetch()
        if self.ha_mode == "all":
            every = sorted(r.uid for r in rules)
            return {m.name: (every if m.alive else []) for m in members}
        holders = await self.cluster.leases.holders(LEASE_PREFIX)
        out: dict[str, list[str]] = {m.name: [] for m in members}
        for holder, names in holders.items():
            uids: list[str] = []
            for n in names:
                uids += by_group.get(n[len(LEASE_PREFIX) :], [])
            out[holder] = sorted(uids)
        return out
