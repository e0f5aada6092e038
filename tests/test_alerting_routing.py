"""Notification policy trees, matchers, group keys, mute timings and durations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vigil.alerting import mutetiming, routing
from vigil.alerting.durations import format_duration, parse_duration
from vigil.alerting.labels import fingerprint, parse_matcher
from vigil.errors import AppError

TREE = {
    "receiver": "default",
    "group_by": ["alertname"],
    "group_wait": "30s",
    "routes": [
        {"receiver": "db", "object_matchers": [["team", "=", "db"]], "group_wait": "0s", "continue": True},
        {"receiver": "pager", "object_matchers": [["severity", "=~", "crit.*"]], "group_by": ["..."]},
        {
            "receiver": "ops",
            "matchers": ['env!="dev"'],
            "routes": [{"object_matchers": [["team", "=", "web"]]}],
        },
    ],
}


def test_first_match_wins_unless_continue():
    root = routing.build(TREE)
    hits = routing.match(root, {"team": "db", "severity": "critical", "env": "dev"})
    assert [r.receiver for r in hits] == ["db", "pager"]
    assert [r.receiver for r in routing.match(root, {"env": "dev"})] == ["default"]


def test_children_inherit_receiver_and_timers():
    root = routing.build(TREE)
    [hit] = routing.match(root, {"team": "web", "env": "prod"})
    assert hit.receiver == "ops" and hit.group_wait == 30 and hit.group_by == ["alertname"]
    [db] = routing.match(routing.build({**TREE, "routes": TREE["routes"][:1]}), {"team": "db"})
    assert db.group_wait == 0 and db.group_interval == routing.DEFAULT_GROUP_INTERVAL


def test_group_labels_and_keys_follow_alertmanager():
    root = routing.build(TREE)
    labels = {"alertname": "Disk", "team": "db", "instance": "a"}
    db = routing.match(root, labels)[0]
    gl = routing.group_labels(db, labels)
    assert gl == {"alertname": "Disk"}
    assert routing.group_key(db, gl) == '{}/{team="db"}:{alertname="Disk"}'
    pager = routing.match(root, {"severity": "critical", "x": "1"})[0]
    assert routing.group_labels(pager, {"severity": "critical", "x": "1"}) == {
        "severity": "critical",
        "x": "1",
    }


@pytest.mark.parametrize(
    "tree",
    [
        {},
        {"receiver": "r", "object_matchers": [["a", "=", "b"]]},
        {"receiver": "r", "routes": [{"object_matchers": [["a", "~", "b"]]}]},
        {"receiver": "r", "group_wait": "soon"},
        {"receiver": "r", "group_by": ["...", "x"]},
        {"receiver": "r", "routes": [{"object_matchers": [["a", "=~", "("]]}]},
    ],
)
def test_invalid_trees_are_400(tree):
    with pytest.raises(AppError) as err:
        routing.build(tree)
    assert err.value.status_code == 400


def test_matchers_parse_and_match():
    m = parse_matcher('severity=~"crit|warn"')
    assert m.matches({"severity": "warn"}) and not m.matches({"severity": "warning"})
    assert parse_matcher("env!=prod").matches({})
    assert fingerprint({"a": "1", "b": "2"}) == fingerprint({"b": "2", "a": "1"}) != fingerprint({"a": "1"})


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_mute_timings_match_times_weekdays_days_months_and_years():
    office = {"times": [{"start_time": "09:00", "end_time": "17:00"}], "weekdays": ["monday:friday"]}
    assert mutetiming.interval_active(office, ts("2024-05-06T10:00:00"))  # a Monday
    assert not mutetiming.interval_active(office, ts("2024-05-06T18:00:00"))
    assert not mutetiming.interval_active(office, ts("2024-05-05T10:00:00"))  # a Sunday
    last_day = {"days_of_month": ["-1"], "months": ["february"], "years": ["2024"]}
    assert mutetiming.interval_active(last_day, ts("2024-02-29T12:00:00"))
    assert not mutetiming.interval_active(last_day, ts("2024-02-28T12:00:00"))
    berlin = {"times": [{"start_time": "00:00", "end_time": "01:00"}], "location": "Europe/Berlin"}
    assert mutetiming.interval_active(berlin, ts("2024-05-05T22:30:00"))
    with pytest.raises(AppError):
        mutetiming.validate({"name": "x", "time_intervals": [{"weekdays": ["funday"]}]})
    with pytest.raises(AppError):
        mutetiming.validate(
            {"name": "x", "time_intervals": [{"times": [{"start_time": "10:00", "end_time": "09:00"}]}]}
        )


def test_durations_round_trip():
    assert parse_duration("1h30m") == 5400 and parse_duration("500ms") == 0.5 and parse_duration(90) == 90
    assert format_duration(5400) == "1h30m" and format_duration(0) == "0s" and format_duration(300) == "5m"
    with pytest.raises(AppError):
        parse_duration("5 minutes")
