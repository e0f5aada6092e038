"""Per-series alert state and its transitions: pure functions of the previous state, the outcome
of one evaluation, the rule's timing and the evaluation time (no I/O, no clock of their own).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class State(StrEnum):
    NORMAL = "Normal"
    PENDING = "Pending"
    ALERTING = "Alerting"
    RECOVERING = "Recovering"
    NODATA = "NoData"
    ERROR = "Error"


class Outcome(StrEnum):
    FIRING = "firing"  # the condition is true for this series
    NORMAL = "normal"  # the condition is false
    NODATA = "nodata"  # the queries returned nothing
    ERROR = "error"  # the queries or expressions failed


NO_DATA_STATES = ("NoData", "Alerting", "OK", "KeepLast")
EXEC_ERR_STATES = ("Error", "Alerting", "OK", "KeepLast")
FIRING_STATES = frozenset({State.ALERTING, State.RECOVERING, State.NODATA, State.ERROR})


@dataclass(frozen=True)
class Timing:
    for_s: float = 0.0
    keep_firing_for_s: float = 0.0
    no_data_state: str = "NoData"
    exec_err_state: str = "Error"


@dataclass(frozen=True)
class InstanceState:
    state: State
    reason: str = ""
    since: float = 0.0  # when the current state began
    active_at: float = 0.0  # when the current pending/firing episode began
    fired_at: float = 0.0  # when it last became firing (the notification's startsAt)
    resolved_at: float = 0.0  # when it last stopped firing (the notification's endsAt)


NORMAL = InstanceState(State.NORMAL)


def is_firing(state: State) -> bool:
    """Whether a state is sent to receivers as a firing alert."""
    return state in FIRING_STATES


def transition(cur: InstanceState | None, outcome: Outcome, timing: Timing, now: float) -> InstanceState:
    """The state after one evaluation at ``now``."""
    prev = cur or NORMAL
    if outcome == Outcome.NODATA:
        return _special(prev, timing.no_data_state, State.NODATA, "NoData", timing, now)
    if outcome == Outcome.ERROR:
        return _special(prev, timing.exec_err_state, State.ERROR, "Error", timing, now)
    if outcome == Outcome.FIRING:
        return _firing(prev, "", timing, now)
    return _normal(prev, "", timing, now)


def _special(
    prev: InstanceState, setting: str, own: State, reason: str, timing: Timing, now: float
) -> InstanceState:
    if setting == "Alerting":
        return _firing(prev, reason, timing, now)
    if setting == "OK":
        return _normal(prev, reason, timing, now)
    if setting == "KeepLast":
        return replace(prev, reason=reason) if prev.state != State.NORMAL or prev.reason else prev
    if prev.state == own:
        return prev
    return InstanceState(own, "", since=now, active_at=now, fired_at=now, resolved_at=prev.resolved_at)


def _firing(prev: InstanceState, reason: str, timing: Timing, now: float) -> InstanceState:
    s = prev.state
    if s == State.ALERTING:
        return prev if prev.reason == reason else replace(prev, reason=reason)
    if s == State.RECOVERING:
        return replace(prev, state=State.ALERTING, reason=reason, since=now)
    if s == State.PENDING:
        if now - prev.active_at >= timing.for_s:
            return replace(prev, state=State.ALERTING, reason=reason, since=now, fired_at=now)
        return prev if prev.reason == reason else replace(prev, reason=reason)
    # Normal, NoData, Error: a new episode begins.
    if timing.for_s <= 0:
        return InstanceState(
            State.ALERTING, reason, since=now, active_at=now, fired_at=now, resolved_at=prev.resolved_at
        )
    return InstanceState(State.PENDING, reason, since=now, active_at=now, resolved_at=prev.resolved_at)


def _normal(prev: InstanceState, reason: str, timing: Timing, now: float) -> InstanceState:
    s = prev.state
    if s == State.NORMAL:
        return prev if prev.reason == reason else replace(prev, reason=reason)
    if s == State.PENDING:
        return InstanceState(State.NORMAL, reason, since=now, resolved_at=prev.resolved_at)
    if s == State.ALERTING and timing.keep_firing_for_s > 0:
        return replace(prev, state=State.RECOVERING, reason=reason, since=now)
    if s == State.RECOVERING and now - prev.since < timing.keep_firing_for_s:
        return prev
    # Alerting (no keep_firing_for), Recovering past keep_firing_for, NoData, Error: resolved.
    return InstanceState(State.NORMAL, reason, since=now, fired_at=prev.fired_at, resolved_at=now)


def notify_change(old: InstanceState | None, new: InstanceState) -> str | None:
    """What a transition means to receivers: ``firing``, ``resolved`` or None (nothing to send).

    A change between two firing states of different kind (e.g. NoData to Alerting) is ``firing``:
    the alert sent carries other labels (``alertname=DatasourceNoData``), so it is a new alert.
    """
    was = old is not None and is_firing(old.state)
    now_firing = is_firing(new.state)
    if now_firing and not was:
        return "firing"
    if was and not now_firing:
        return "resolved"
    if was and now_firing and old is not None and alert_kind(old.state) != alert_kind(new.state):
        return "firing"
    return None


def alert_kind(state: State) -> str:
    """``DatasourceNoData``/``DatasourceError`` for those states, else ``""`` (the rule's own alert)."""
    if state == State.NODATA:
        return "DatasourceNoData"
    if state == State.ERROR:
        return "DatasourceError"
    return ""
