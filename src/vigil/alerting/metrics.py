"""Alerting and cluster metrics, registered on the replica's own registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class AlertingMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.evaluations = Counter(
            "vigil_alerting_rule_evaluations_total",
            "Rule evaluations by this replica, by result (ok, nodata, error)",
            ["result"],
            registry=registry,
        )
        self.evaluation_duration = Histogram(
            "vigil_alerting_rule_evaluation_duration_seconds",
            "Time to run a rule's queries and expressions",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )
        self.evaluations_skipped = Counter(
            "vigil_alerting_rule_evaluations_skipped_total",
            "Evaluations skipped because the group's previous evaluation was still running",
            registry=registry,
        )
        self.rules_owned = Gauge(
            "vigil_alerting_rules_owned", "Rules this replica evaluates (its shard)", registry=registry
        )
        self.groups_owned = Gauge(
            "vigil_alerting_rule_groups_owned", "Rule groups this replica evaluates", registry=registry
        )
        self.transitions = Counter(
            "vigil_alerting_state_transitions_total",
            "Alert instance state changes written by this replica, by new state",
            ["state"],
            registry=registry,
        )
        self.notifications_sent = Counter(
            "vigil_alerting_notifications_sent_total",
            "Notifications delivered by this replica, by integration type",
            ["type"],
            registry=registry,
        )
        self.notifications_failed = Counter(
            "vigil_alerting_notifications_failed_total",
            "Failed delivery attempts by this replica, by integration type and whether final",
            ["type", "final"],
            registry=registry,
        )
        self.notifications_deduplicated = Counter(
            "vigil_alerting_notifications_deduplicated_total",
            "Flushes or claims this replica skipped because another replica had already taken them",
            registry=registry,
        )
        self.claims_taken_over = Counter(
            "vigil_alerting_claims_taken_over_total",
            "Notification claims taken over after the claimant's lease lapsed",
            registry=registry,
        )
        self.leases_acquired = Counter(
            "vigil_alerting_leases_acquired_total",
            "Rule group leases this replica acquired",
            registry=registry,
        )
        self.leases_released = Counter(
            "vigil_alerting_leases_released_total",
            "Rule group leases this replica handed off",
            registry=registry,
        )
        self.cluster_members = Gauge(
            "vigil_cluster_members_live", "Live cluster members seen by this replica", registry=registry
        )
