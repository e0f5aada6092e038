"""The provisioner of one replica: data sources and alerting at startup (and on reload), dashboard
providers at startup and then every provider's ``updateIntervalSeconds``.

Every cycle plans without a lock and writes nothing when the database already matches the files;
only when there is work does it take the cross-replica lock and plan again before writing.
Problems never stop the replica: each refused file or entry is logged once with its reason and
returned to the caller (the admin reload routes show them).
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from vigil.provisioning import alerting as alert_prov
from vigil.provisioning import dashboards as dash_prov
from vigil.provisioning import datasources as ds_prov
from vigil.provisioning.files import Problem, ProviderDef, read_datasources, read_providers
from vigil.storage.db import now_ms
from vigil.storage.locks import named_lock

if TYPE_CHECKING:
    from vigil.app import Services

log = logging.getLogger("vigil.provisioning")
LOCK = "provisioning"
IDLE_POLL_SECONDS = 10.0
REFUSED_RETRY_SECONDS = 600.0


class Provisioner:
    def __init__(self, services: Services, root: Path | None = None) -> None:
        self.s = services
        config = services.config
        self.root = Path(root or config.get("paths", "provisioning")).expanduser()
        self.lock_timeout = config.get_duration("provisioning", "lock_timeout", minimum=1)
        self._refused: dict[tuple[str, str], str] = {}
        self._refused_since = time.monotonic()
        self._reported: set[str] = set()
        self._due: dict[str, float] = {}
        self.alerting_retry = False  # alerting at startup failed: the loop tries again

    def _report(self, problems: list[Problem]) -> list[Problem]:
        for p in problems:
            text = str(p)
            if text in self._reported:
                continue
            self._reported.add(text)
            (log.error if p.refused else log.warning)("provisioning: %s", text)
        return problems

    # -- data sources ---------------------------------------------------------------------------

    async def provision_datasources(self) -> list[Problem]:
        defs, deletes, problems = read_datasources(self.root)
        if not defs and not deletes:
            return self._report(problems)
        orgs = {d.org_id for d in defs} | {d.org_id for d in deletes}
        async with self.s.db.read() as conn:
            pl = ds_prov.plan(await ds_prov.load_state(conn, orgs), defs, deletes)
        if pl.empty:
            return self._report(problems + pl.problems)
        async with named_lock(self.s.db, LOCK, self.lock_timeout):
            async with self.s.db.read() as conn:
                pl = ds_prov.plan(await ds_prov.load_state(conn, orgs), defs, deletes)
            done = await ds_prov.apply(self.s.db, self.s.datasources.store, pl, now_ms(self.s.clock))
        return self._report(problems + done)

    # -- alerting -------------------------------------------------------------------------------

    async def provision_alerting(self, force: bool = False) -> list[Problem]:
        """``alerting/*.yaml``: what differs from the record, or everything with ``force`` (a reload)."""
        defs, problems = alert_prov.read_alerting(self.root)
        if not defs.items and not defs.deletes:
            return self._report(problems)
        if not force and not defs.deletes and not await alert_prov.pending(self.s, defs):
            return self._report(problems)
        async with named_lock(self.s.db, LOCK, self.lock_timeout):
            done = await alert_prov.apply(self.s, defs, force)
        return self._report(problems + done)

    # -- dashboards -----------------------------------------------------------------------------

    def providers(self) -> tuple[list[ProviderDef], list[Problem]]:
        return read_providers(self.root)

    async def provision_dashboards(self, only: set[str] | None = None) -> list[Problem]:
        if time.monotonic() - self._refused_since > REFUSED_RETRY_SECONDS:
            self._refused.clear()
            self._refused_since = time.monotonic()
        providers, problems = self.providers()
        plans: list[dash_prov.Plan] = []
        scanned: dict[str, list[dash_prov.DashFile]] = {}
        for p in providers:
            if only is not None and p.name not in only:
                continue
            files, found = dash_prov.scan(p)
            problems += found
            if files is None:
                continue
            scanned[p.name] = files
            async with self.s.db.read() as conn:
                pl = dash_prov.plan(p, files, await dash_prov.load_state(conn, p), self._refused)
            problems += pl.problems
            if not pl.empty:
                plans.append(pl)
        if plans:
            async with named_lock(self.s.db, LOCK, self.lock_timeout):
                for pl in plans:
                    p = pl.provider
                    async with self.s.db.read() as conn:
                        fresh = dash_prov.plan(
                            p, scanned[p.name], await dash_prov.load_state(conn, p), self._refused
                        )
                    if fresh.empty:
                        continue
                    if fresh.gone and self._refused:
                        self._refused.clear()  # a file that clashed with a removed one may load now
                        async with self.s.db.read() as conn:
                            state = await dash_prov.load_state(conn, p)
                        fresh = dash_prov.plan(p, scanned[p.name], state, self._refused)
                    problems += await dash_prov.apply(self.s.db, fresh, self._refused, now_ms(self.s.clock))
        return self._report(problems)

    # -- cycles ---------------------------------------------------------------------------------

    async def run_once(self) -> list[Problem]:
        """Data sources, dashboards (they may name the data sources), then alerting (rules name
        data sources and may go into the dashboards' folders)."""
        return (
            await self.provision_datasources()
            + await self.provision_dashboards()
            + await self.provision_alerting()
        )

    async def loop(self) -> None:
        """Re-provision each dashboard provider when its interval has passed (the provider files are
        re-read every time, so added or changed providers apply without a restart)."""
        while True:
            wait = IDLE_POLL_SECONDS
            try:
                if self.alerting_retry:
                    await self.provision_alerting()
                    self.alerting_retry = False
                providers, _ = self.providers()
                now = time.monotonic()
                due = {p.name for p in providers if self._due.get(p.name, 0.0) <= now}
                if due:
                    await self.provision_dashboards(due)
                    now = time.monotonic()
                    for p in providers:
                        if p.name in due:
                            self._due[p.name] = now + p.update_interval
                if providers:
                    wait = max(
                        0.5, min(min(self._due.get(p.name, now) for p in providers) - now, IDLE_POLL_SECONDS)
                    )
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("provisioning cycle failed; retrying in %ss", wait)
            await asyncio.sleep(wait)


async def start(services: Services) -> None:
    """Provision once at startup (never failing the start), then keep dashboards in step."""
    prov = Provisioner(services)
    prov.alerting_retry = True  # cleared once alerting has been provisioned
    try:
        await prov.provision_datasources()
        providers, _ = prov.providers()
        await prov.provision_dashboards()
        await prov.provision_alerting()
        prov.alerting_retry = False
        now = time.monotonic()
        for p in providers:
            prov._due[p.name] = now + p.update_interval
    except Exception:
        log.exception("provisioning at startup failed; the periodic cycle will retry")
    task = asyncio.create_task(prov.loop(), name="vigil-provisioning")
    services.tasks.append(task)
