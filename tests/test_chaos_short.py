"""The short form of the chaos and load battery (bench/chaos.py, ``make chaos`` runs the full one):
3 replicas behind HAProxy on a private PostgreSQL with database sessions, a request mix under load
while a replica is SIGKILLed, SIGSTOPped and PostgreSQL restarts (the full battery adds Redis
sessions, a Redis restart and a rolling restart of every replica). What HA promises, checked on the
result:

- no acknowledged write is lost (every dashboard version and annotation answered 200 reads back);
- no session is lost (no logged-in cookie is ever answered 401, every session works at the end);
- every alert state change reaches the webhook once, none is missing;
- failures are 502/503/timeouts while a fault lasts, never a 500 or a 401, and everything recovers.

Takes about 60 seconds; the report goes to the test's temporary folder (``python -m bench.chaos
--short`` writes bench/results/chaos-short.*).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from bench.chaos import Missing, print_summary, run_all

from tests.conftest import IN_CI

pytestmark = pytest.mark.slow

# what a client may see while a fault lasts: the load balancer's 502 (a replica died in the middle of
# a write), 503 (database or session store away, replica draining), a timeout or a reset connection
# (a hung replica), 412 (a save whose earlier attempt timed out at the client but was stored)
TRANSIENT = {"http_502", "http_503", "http_412", "timeout", "connection_closed", "connect_error", "ReadError"}


async def test_short_chaos_battery_loses_no_acknowledged_write_no_session_and_no_notification(
    tmp_path: Path,
) -> None:
    try:
        # database sessions (the default provider) only: the Redis provider's outage is covered by
        # tests/test_cluster_ha.py, and both run in `make chaos`; the suite stays under 20 minutes
        result = await run_all(True, ["database"], 6, tmp_path / "results", logs=tmp_path / "logs")
    except Missing as exc:
        reason = f"PROGRAM MISSING: {exc} (apt-get install haproxy redis-server postgresql)"
        if IN_CI:
            pytest.fail(reason)
        print(f"\n*** {reason} ***", file=sys.stderr)
        pytest.skip(reason)
    print_summary(result)
    assert (tmp_path / "results" / "chaos-short.json").is_file()
    assert (tmp_path / "results" / "chaos-short.md").is_file()
    v = result["verdict"]
    detail = json.dumps(
        {
            r["session_provider"]: {
                "writes": r["writes"]["lost_items"][:10],
                "sessions": r["sessions"]["refusals"][:10],
                "notifications": {
                    "missing": r["notifications"]["missing_items"],
                    "unexpected": r["notifications"]["unexpected_items"],
                    "duplicated": r["notifications"]["duplicated_items"],
                },
            }
            for r in result["runs"]
        },
        indent=1,
    )
    assert v["acknowledged_writes_lost"] == 0, detail
    assert v["sessions_lost"] == 0, detail
    assert v["notifications_duplicated"] == 0, detail
    assert v["notifications_missing"] == 0, detail
    assert v["notifications_unexpected"] == 0, detail
    assert v["all_replicas_healthy_at_end"]
    assert v["http_500"] == 0 and v["replica_unhandled_errors"] == 0, (tmp_path / "logs").as_posix()

    providers = {r["session_provider"]: r for r in result["runs"]}
    assert set(providers) == {"database"}
    for provider, run in providers.items():
        faults = {row["fault"]: row for row in run["faults"]}
        expected = {"steady", "sigkill", "sigstop", "postgres_restart"}
        if provider == "redis":
            expected |= {"redis_restart", "rolling_restart"}
        assert set(faults) == expected, faults.keys()
        # the load was real: writes were acknowledged and alerts changed state in every window
        assert run["writes"]["dashboard_versions_acknowledged"] >= 20, run["writes"]
        assert run["writes"]["annotations_acknowledged"] >= 20, run["writes"]
        assert run["sessions"]["checked_at_end"] >= 6
        assert run["notifications"]["state_changes_recorded"] >= 10, run["notifications"]
        assert faults["steady"]["requests_failed"] == 0, faults["steady"]
        for name, row in faults.items():
            assert row["requests_ok"] > 0, row
            assert set(row["failed_by_cause"]) <= TRANSIENT, row
            if name == "steady":
                continue
            # the fault really happened: a replica left HAProxy's rotation, or requests failed
            if name in ("sigkill", "sigstop", "rolling_restart"):
                assert row["haproxy_min_replicas_up"] is not None and row["haproxy_min_replicas_up"] < 3, row
            if name == "redis_restart":
                assert row["failed_by_cause"].get("http_503", 0) > 0, row  # cookies: 503 while Redis is away
            if name == "postgres_restart":
                assert row["requests_failed"] > 0, row
            assert row["all_replicas_healthy_after_s"] is not None, row
            assert row["recovery_s"] < 30, row
            # the only repeat allowed: a replica killed or hung after the receiver got a notification
            # and before it recorded the delivery; a survivor sends it again under the same
            # X-Vigil-Notification-Id (at-least-once there, documented), one per rule at most
            if name not in ("sigkill", "sigstop"):
                assert row["notifications_redelivered"] == 0, (row, detail)
            assert row["notifications_redelivered"] <= 3, (row, detail)
