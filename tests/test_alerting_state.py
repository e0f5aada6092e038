"""State transitions per series: pure functions of previous state, outcome, rule timing and time."""

from __future__ import annotations

from vigil.alerting.evaluator import EvalOutcome, SeriesOutcome
from vigil.alerting.instances import Stored, notified_labels, plan
from vigil.alerting.labels import fingerprint
from vigil.alerting.models import Rule
from vigil.alerting.state import InstanceState, Outcome, State, Timing, notify_change, transition
from vigil.clock import FakeClock

F, N, ND, ER = Outcome.FIRING, Outcome.NORMAL, Outcome.NODATA, Outcome.ERROR


def run(outcomes: list[Outcome], timing: Timing, clock: FakeClock, step: float = 10) -> list[InstanceState]:
    cur: InstanceState | None = None
    seen = []
    for o in outcomes:
        cur = transition(cur, o, timing, clock.now())
        seen.append(cur)
        clock.advance(step)
    return seen


def test_firing_without_for_goes_straight_to_alerting_and_back_to_normal():
    clock = FakeClock()
    states = run([F, F, N], Timing(), clock)
    assert [s.state for s in states] == [State.ALERTING, State.ALERTING, State.NORMAL]
    assert states[0].fired_at == clock.now() - 30
    assert states[2].resolved_at == clock.now() - 10


def test_pending_lasts_for_the_for_duration_then_alerting():
    clock = FakeClock()
    states = run([F, F, F, F, N], Timing(for_s=30), clock)
    assert [s.state for s in states] == [
        State.PENDING,
        State.PENDING,
        State.PENDING,
        State.ALERTING,
        State.NORMAL,
    ]
    assert states[3].active_at == states[0].since


def test_pending_that_clears_never_fires_and_notifies_nothing():
    clock = FakeClock()
    states = run([F, N], Timing(for_s=60), clock)
    assert [s.state for s in states] == [State.PENDING, State.NORMAL]
    assert notify_change(None, states[0]) is None
    assert notify_change(states[0], states[1]) is None


def test_keep_firing_for_holds_recovering_then_resolves():
    clock = FakeClock()
    states = run([F, N, N, N], Timing(keep_firing_for_s=20), clock)
    assert [s.state for s in states] == [State.ALERTING, State.RECOVERING, State.RECOVERING, State.NORMAL]
    assert notify_change(states[0], states[1]) is None
    assert notify_change(states[2], states[3]) == "resolved"


def test_recovering_that_fires_again_is_alerting_without_a_new_notification():
    clock = FakeClock()
    states = run([F, N, F], Timing(keep_firing_for_s=60), clock)
    assert [s.state for s in states] == [State.ALERTING, State.RECOVERING, State.ALERTING]
    assert states[2].fired_at == states[0].fired_at
    assert notify_change(states[1], states[2]) is None


def test_no_data_maps_through_no_data_state():
    clock = FakeClock()
    assert transition(None, ND, Timing(no_data_state="NoData"), clock.now()).state == State.NODATA
    assert transition(None, ND, Timing(no_data_state="Alerting"), clock.now()).state == State.ALERTING
    pending = transition(None, ND, Timing(for_s=60, no_data_state="Alerting"), clock.now())
    assert (pending.state, pending.reason) == (State.PENDING, "NoData")
    ok = transition(None, ND, Timing(no_data_state="OK"), clock.now())
    assert (ok.state, ok.reason) == (State.NORMAL, "NoData")
    alerting = transition(None, F, Timing(), clock.now())
    kept = transition(alerting, ND, Timing(no_data_state="KeepLast"), clock.now() + 10)
    assert (kept.state, kept.reason) == (State.ALERTING, "NoData")


def test_errors_map_through_exec_err_state():
    clock = FakeClock()
    err = transition(None, ER, Timing(exec_err_state="Error"), clock.now())
    assert err.state == State.ERROR
    assert notify_change(None, err) == "firing"
    back = transition(err, N, Timing(), clock.now() + 10)
    assert back.state == State.NORMAL and notify_change(err, back) == "resolved"
    assert transition(None, ER, Timing(exec_err_state="OK"), clock.now()).state == State.NORMAL


def test_changing_kind_between_firing_states_notifies_a_new_alert():
    clock = FakeClock()
    alerting = transition(None, F, Timing(), clock.now())
    nodata = transition(alerting, ND, Timing(), clock.now() + 10)
    assert nodata.state == State.NODATA
    assert notify_change(alerting, nodata) == "firing"
    assert notified_labels({"alertname": "Disk"}, State.NODATA) == {
        "alertname": "DatasourceNoData",
        "rulename": "Disk",
    }


def _rule(**kw: object) -> Rule:
    base = dict(
        id=1, uid="r1", org_id=1, folder_uid="f", folder_title="Folder", group="g", group_idx=1, title="Disk",
        condition="C", data=[{"refId": "C"}], interval=10, for_s=0, keep_firing_for_s=0,
        no_data_state="NoData",
        exec_err_state="Error", labels={}, annotations={"summary": "{{ $labels.instance }}"}, is_paused=False,
        notification_settings=None, provenance="", version=1, updated=0,
    )  # fmt: skip
    base.update(kw)
    return Rule(**base)  # type: ignore[arg-type]


def _series(instance: str, outcome: Outcome) -> SeriesOutcome:
    labels = {
        "instance": instance,
        "alertname": "Disk",
        "grafana_folder": "Folder",
        "__alert_rule_uid__": "r1",
    }
    return SeriesOutcome(labels, fingerprint(labels), outcome, {"C": 1.0 if outcome == F else 0.0})


def _stored(s: SeriesOutcome, st: InstanceState) -> Stored:
    return Stored(1, s.fingerprint, s.labels, st, 0, 1)


def test_plan_creates_rows_only_for_series_that_leave_normal_and_renders_annotations():
    rule = _rule()
    a, b = _series("a", F), _series("b", N)
    changes = plan(rule, EvalOutcome("ok", [a, b]), {}, 100.0, {})
    assert [(c.fingerprint, c.new.state) for c in changes] == [(a.fingerprint, State.ALERTING)]
    assert changes[0].annotations == {"summary": "a"}


def test_plan_resolves_a_series_missing_for_two_evaluations():
    rule = _rule()
    a = _series("a", F)
    stored = {a.fingerprint: _stored(a, InstanceState(State.ALERTING, since=50, active_at=50, fired_at=50))}
    missing: dict[str, int] = {}
    assert plan(rule, EvalOutcome("ok", []), stored, 100.0, missing) == []
    changes = plan(rule, EvalOutcome("ok", []), stored, 110.0, missing)
    assert [(c.new.state, c.new.reason) for c in changes] == [(State.NORMAL, "MissingSeries")]
    assert notify_change(stored[a.fingerprint].st, changes[0].new) == "resolved"


def test_plan_applies_no_data_to_existing_instances_or_creates_one():
    rule = _rule()
    created = plan(rule, EvalOutcome("nodata"), {}, 100.0, {})
    assert len(created) == 1 and created[0].new.state == State.NODATA
    assert created[0].labels["alertname"] == "Disk" and "instance" not in created[0].labels
    a = _series("a", F)
    stored = {a.fingerprint: _stored(a, InstanceState(State.ALERTING, since=50, active_at=50, fired_at=50))}
    changed = plan(rule, EvalOutcome("error", error="boom"), stored, 100.0, {})
    assert [(c.fingerprint, c.new.state) for c in changed] == [(a.fingerprint, State.ERROR)]
    assert changed[0].annotations["Error"] == "boom"


def test_plan_resolves_the_no_data_instance_as_soon_as_data_is_back():
    rule = _rule()
    nodata = plan(rule, EvalOutcome("nodata"), {}, 100.0, {})[0]
    stored = {nodata.fingerprint: Stored(1, nodata.fingerprint, nodata.labels, nodata.new, 0, 1)}
    changes = plan(rule, EvalOutcome("ok", [_series("a", N)]), stored, 110.0, {})
    assert [(c.fingerprint, c.new.state) for c in changes] == [(nodata.fingerprint, State.NORMAL)]
