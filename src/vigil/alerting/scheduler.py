"""The scheduler of one replica: every whole second it decides which rule groups this replica
owns (``shard``: rendezvous hashing over live members, each group held by a lease renewed at
every tick; ``all``: every group) and starts the evaluations due at that second.

Ticks are whole seconds of wall-clock time, so every replica agrees on when a group is due and
evaluates it "as of" the same instant (``ha_mode = all`` then computes identical transitions, and
the compare-and-swap writes keep one of them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vigil.alerting import decisions
from vigil.alerting.evaluator import EvalOutcome, evaluate
from vigil.alerting.instances import plan
from vigil.alerting.models import Rule, RuleGroup

if TYPE_CHECKING:
    from vigil.alerting.service import AlertingService

log = logging.getLogger("vigil.alerting.scheduler")
LEASE_PREFIX = "alerting/group/"
RELOAD_EVERY = 30.0


WRITE_CONCURRENCY = 2
LOAD_BATCH = 500  # rules whose stored states one query reads


class _StoredLoader:
    """One read of the stored states of a batch of rules, shared by the groups of the batch (the
    first group to need it runs it; a failed read fails those groups' evaluations this tick)."""

    def __init__(self, instances: Any, uids: list[str]) -> None:
        self.instances = instances
        self.uids = uids
        self._task: asyncio.Future[dict[str, dict[str, Any]]] | None = None

    async def get(self) -> dict[str, dict[str, Any]]:
        if self._task is None:
            self._task = asyncio.ensure_future(self.instances.load(self.uids))
        return await asyncio.shield(self._task)


class Scheduler:
    def __init__(self, svc: AlertingService, concurrency: int = 64) -> None:
        self.svc = svc
        self.groups: dict[str, RuleGroup] = {}
        self.offsets: dict[str, int] = {}
        self.dirty = True
        self.last_reload = -math.inf
        self.owned: set[str] = set()
        self.running: dict[str, asyncio.Task[None]] = {}
        self.last_eval: dict[str, dict[str, Any]] = {}
        self.missing: dict[str, dict[str, int]] = {}
        self.evaluations: dict[str, int] = {}  # rule uid -> evaluations by this replica
        self._sem = asyncio.Semaphore(concurrency)
        # State writes (with their flushes) a few at a time, in the order they were ready: ten
        # interleaved transactions all finish late, ten in a row finish one after the other.
        self._write_sem = asyncio.Semaphore(WRITE_CONCURRENCY)
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._wake = asyncio.Event()
        self._tick_lock = asyncio.Lock()
        self.started_ticks = 0
        self.last_tick: dict[str, int] = {}  # group key -> last tick evaluated here
        self.on_evaluated: list[Callable[[Rule, int], None]] = []

    def wake(self, *_: Any) -> None:
        """Re-decide ownership now (a member joined, left or died), not at the next whole second."""
        self._wake.set()

    # -- rules ---------------------------------------------------------------------------------

    def mark_dirty(self, *_: Any) -> None:
        self.dirty = True

    async def reload(self) -> None:
        rules = await self.svc.rules.all_rules()
        groups: dict[str, RuleGroup] = {}
        for r in sorted(rules, key=lambda r: (r.group_key, r.group_idx, r.id)):
            g = groups.get(r.group_key)
            if g is None:
                g = groups[r.group_key] = RuleGroup(r.group_key, r.org_id, r.folder_uid, r.group, r.interval)
            g.rules.append(r)
        self.groups = groups
        self.offsets = {k: decisions.group_offset(k, g.interval) for k, g in groups.items()}
        uids = {r.uid for r in rules}
        for uid in [u for u in self.missing if u not in uids]:
            del self.missing[uid]
        self.dirty = False
        self.last_reload = self.svc.clock.monotonic()

    # -- ownership -----------------------------------------------------------------------------

    async def _sync_leases(self, desired: set[str], retry: bool = True) -> set[str]:
        leases = self.svc.cluster.leases
        me = self.svc.instance
        ttl = self.svc.lease_ttl
        names = {LEASE_PREFIX + k: k for k in desired}
        await leases.renew(me, LEASE_PREFIX, ttl)
        held = await leases.held(me, LEASE_PREFIX)
        release = [n for n in held if n not in names]
        if release:
            await leases.release(me, release)
            self.svc.metrics.leases_released.inc(len(release))
        have = {names[n] for n in held if n in names}
        missing = [n for n in names if n not in held]
        for attempt in range(2 if retry else 1):
            if not missing:
                break
            got = await leases.acquire_many(missing, me, ttl)
            have |= {names[n] for n in got}
            self.svc.metrics.leases_acquired.inc(len(got))
            missing = [n for n in missing if n not in got]
            if missing and attempt == 0:
                # The previous owner releases at its own tick, a few milliseconds away: try once more.
                await asyncio.sleep(0.25)
        return have

    async def tick(self, t: int) -> None:
        """One scheduling round for whole second ``t``.

        Groups due at ``t`` are evaluated; so are groups this replica has just acquired (a dead or
        departing member's), at once, so fail-over does not wait for their next due tick. A group
        is evaluated at most once per tick here."""
        async with self._tick_lock:
            await self._tick(t)

    async def _tick(self, t: int) -> None:
        if self._stopping:
            return
        if self.dirty or self.svc.clock.monotonic() - self.last_reload > RELOAD_EVERY:
            await self.reload()
        if self.svc.is_draining():
            # SIGTERM: stop counting as live (peers take our groups at their next heartbeat read)
            # and hand the leases back now rather than when they lapse.
            if not self.svc.cluster.membership.draining:
                await self.svc.cluster.drain()
            await self.release_all()
            return
        live = self.svc.cluster.membership.live()
        self.svc.metrics.cluster_members.set(len(live))
        desired = decisions.owned(self.groups.keys(), live, self.svc.instance, self.svc.ha_mode)
        if self.svc.ha_mode == "shard":
            # Groups held since the last tick (their lease, renewed then, is still valid) start at
            # once; the lease round trips come after, so they do not delay evaluation.
            self._start_due(self.owned & desired, t, set())
            desired = await self._sync_leases(desired)
        acquired = desired - self.owned if self.started_ticks else set()
        self.started_ticks += 1
        self.owned = desired
        self.svc.metrics.groups_owned.set(len(desired))
        self.svc.metrics.rules_owned.set(sum(len(self.groups[k].rules) for k in desired if k in self.groups))
        self._start_due(desired, t, acquired)
        for key in [k for k in self.last_tick if k not in desired]:
            del self.last_tick[key]

    def _start_due(self, keys: set[str], t: int, acquired: set[str]) -> None:
        """Start the evaluations due at ``t`` (and of just-acquired groups), once per group and tick.

        The stored states of the started groups' rules are read in batches (one query for up to
        ``LOAD_BATCH`` rules, shared by their groups) rather than one query per group."""
        starting: list[RuleGroup] = []
        for key in sorted(keys):
            g = self.groups.get(key)
            if g is None or self.last_tick.get(key) == t:
                continue
            if key not in acquired and not decisions.due(t, g.interval, self.offsets.get(key, 0)):
                continue
            running = self.running.get(key)
            if running is not None and not running.done():
                self.last_tick[key] = t  # counted once per tick
                self.svc.metrics.evaluations_skipped.inc()
                continue
            self.last_tick[key] = t
            starting.append(g)
        batch: list[RuleGroup] = []
        size = 0
        for g in starting:
            batch.append(g)
            size += len(g.rules)
            if size >= LOAD_BATCH or g is starting[-1]:
                loader = _StoredLoader(self.svc.instances, [r.uid for b in batch for r in b.rules])
                for bg in batch:
                    task = asyncio.create_task(
                        self._evaluate_group(bg, t, loader), name=f"vigil-eval-{bg.key}"
                    )
                    self.running[bg.key] = task
                batch, size = [], 0

    async def release_all(self) -> None:
        if self.svc.ha_mode == "shard" and self.owned:
            with contextlib.suppress(Exception):
                n = await self.svc.cluster.leases.release_all(self.svc.instance, LEASE_PREFIX)
                self.svc.metrics.leases_released.inc(n)
        self.owned = set()

    # -- evaluation ----------------------------------------------------------------------------

    async def _evaluate_group(self, g: RuleGroup, t: int, loader: _StoredLoader | None = None) -> None:
        """Evaluate the group's rules in order. An evaluation holds one of the ``concurrency``
        slots; writing its outcome (one of ``WRITE_CONCURRENCY``) does not, so evaluations go on
        while changes queue to be written."""
        svc = self.svc
        try:
            active = [r for r in g.rules if not r.is_paused]
            if not active:
                return
            stored: dict[str, dict[str, Any]] | None = None
            for rule in active:
                async with self._sem:
                    if stored is None:
                        if loader is not None:
                            stored = await loader.get()
                        else:
                            stored = await svc.instances.load([r.uid for r in active])
                    started = svc.clock.monotonic()
                    outcome = await self._evaluate_rule(rule, t)
                await self._apply_outcome(rule, outcome, stored.get(rule.uid, {}), t, started)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("evaluating rule group %s failed", g.key)

    async def _evaluate_rule(self, rule: Rule, t: int) -> EvalOutcome:
        svc = self.svc
        outcome = await evaluate(rule, svc.runner, t * 1000, svc.evaluation_timeout)
        svc.metrics.evaluations.labels(outcome.kind).inc()
        svc.metrics.evaluation_duration.observe(outcome.duration)
        self.evaluations[rule.uid] = self.evaluations.get(rule.uid, 0) + 1
        self.last_eval[rule.uid] = {
            "at": t * 1000,
            "duration": outcome.duration,
            "health": outcome.kind,
            "error": outcome.error,
        }
        for cb in self.on_evaluated:
            cb(rule, t)
        return outcome

    async def _apply_outcome(
        self, rule: Rule, outcome: EvalOutcome, stored: dict[str, Any], t: int, started: float
    ) -> None:
        svc = self.svc
        changes = plan(rule, outcome, stored, float(t), self.missing.setdefault(rule.uid, {}))
        if not changes:
            return
        async with self._write_sem:
            written, due, claimed = await svc.instances.apply(
                rule, changes, float(t), svc.dispatcher, as_of=started
            )
        svc.dispatcher.deliver(claimed, as_of=started)
        for c in written:
            if not c.delete and c.state_changed:
                svc.metrics.transitions.labels(c.new.state.value).inc()
        if due:
            svc.dispatcher.kick(due)

    async def wait_idle(self) -> None:
        tasks = [t for t in self.running.values() if not t.done()]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # -- loop ----------------------------------------------------------------------------------

    async def run(self) -> None:
        clock = self.svc.clock
        while not self._stopping:
            t = math.floor(clock.now()) + 1
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, t - clock.now())):
                    await self._wake.wait()
            if self._wake.is_set():
                t = math.floor(clock.now())  # woken early: re-decide within the current second
            try:
                await self.tick(t)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("scheduler tick failed: %s", exc)

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self.run(), name=f"vigil-scheduler-{self.svc.instance}")

    async def stop(self, release: bool = True) -> None:
        self._stopping = True
        tasks = [t for t in [self._task, *self.running.values()] if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._task = None
        self.running.clear()
        if release:
            await self.release_all()
