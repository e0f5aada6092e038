"""Alerting and cluster: members, leases, change bus; rules, state, receivers, policies,
mute timings, silences, dispatch groups and members, the notification log.

Revision ID: 0004_alerting
Revises: 0001_foundation
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0004_alerting"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

LONG_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql")


def upgrade() -> None:
    op.create_table(
        "cluster_member",
        sa.Column("name", sa.String(190), primary_key=True),
        sa.Column("address", sa.String(255), nullable=False, server_default=""),
        sa.Column("version", sa.String(64), nullable=False, server_default=""),
        sa.Column("started_at", sa.BigInteger, nullable=False),
        sa.Column("last_heartbeat", sa.BigInteger, nullable=False),
        sa.Column("draining", sa.Boolean, nullable=False, server_default="0"),
    )
    op.create_table(
        "cluster_lease",
        sa.Column("name", sa.String(190), primary_key=True),
        sa.Column("holder", sa.String(190), nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("acquired_at", sa.BigInteger, nullable=False),
        sa.Column("fence", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_cluster_lease_holder", "cluster_lease", ["holder"])
    op.create_table(
        "cluster_change",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("key", sa.String(190), nullable=False, server_default=""),
        sa.Column("origin", sa.String(190), nullable=False, server_default=""),
        sa.Column("created", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_cluster_change_created", "cluster_change", ["created"])

    op.create_table(
        "alert_rule",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(40), nullable=False),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("folder_uid", sa.String(40), nullable=False),
        sa.Column("rule_group", sa.String(190), nullable=False),
        sa.Column("rule_group_idx", sa.Integer, nullable=False, server_default="0"),
        sa.Column("title", sa.String(190), nullable=False),
        sa.Column("condition", sa.String(190), nullable=False),
        sa.Column("data", LONG_TEXT, nullable=False),
        sa.Column("interval_seconds", sa.Integer, nullable=False),
        sa.Column("for_seconds", sa.Integer, nullable=False, server_default="0"),
        sa.Column("keep_firing_for_seconds", sa.Integer, nullable=False, server_default="0"),
        sa.Column("no_data_state", sa.String(20), nullable=False),
        sa.Column("exec_err_state", sa.String(20), nullable=False),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("annotations", sa.Text, nullable=False),
        sa.Column("is_paused", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("notification_settings", sa.Text, nullable=True),
        sa.Column("provenance", sa.String(20), nullable=False, server_default=""),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("updated", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("uid", name="uq_alert_rule_uid"),
        sa.UniqueConstraint("org_id", "folder_uid", "title", name="uq_alert_rule_org_id_folder_uid_title"),
    )
    op.create_index(
        "ix_alert_rule_org_id_folder_uid_rule_group", "alert_rule", ["org_id", "folder_uid", "rule_group"]
    )
    op.create_table(
        "alert_instance",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("rule_uid", sa.String(40), nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False, server_default=""),
        sa.Column("since", sa.BigInteger, nullable=False),
        sa.Column("active_at", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("fired_at", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("resolved_at", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("last_eval", sa.BigInteger, nullable=False),
        sa.Column("value_text", sa.Text, nullable=False),
        sa.Column("values_json", sa.Text, nullable=False),
        sa.Column("annotations", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.UniqueConstraint("rule_uid", "fingerprint", name="uq_alert_instance_rule_uid_fingerprint"),
    )
    op.create_index("ix_alert_instance_org_id_state", "alert_instance", ["org_id", "state"])
    op.create_table(
        "alert_contact_point",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(40), nullable=False),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(190), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("settings", sa.Text, nullable=False),
        sa.Column("secure_settings", sa.Text, nullable=False),
        sa.Column("disable_resolve_message", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("provenance", sa.String(20), nullable=False, server_default=""),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("updated", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("uid", name="uq_alert_contact_point_uid"),
    )
    op.create_index("ix_alert_contact_point_org_id_name", "alert_contact_point", ["org_id", "name"])
    op.create_table(
        "alert_policy",
        sa.Column("org_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("tree", LONG_TEXT, nullable=False),
        sa.Column("provenance", sa.String(20), nullable=False, server_default=""),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("updated", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "alert_mute_timing",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(190), nullable=False),
        sa.Column("time_intervals", sa.Text, nullable=False),
        sa.Column("provenance", sa.String(20), nullable=False, server_default=""),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("updated", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("org_id", "name", name="uq_alert_mute_timing_org_id_name"),
    )
    op.create_table(
        "alert_silence",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(40), nullable=False),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("matchers", sa.Text, nullable=False),
        sa.Column("starts_at", sa.BigInteger, nullable=False),
        sa.Column("ends_at", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(190), nullable=False, server_default=""),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("updated", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("uid", name="uq_alert_silence_uid"),
    )
    op.create_index("ix_alert_silence_org_id_ends_at", "alert_silence", ["org_id", "ends_at"])
    op.create_table(
        "alert_group",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(40), nullable=False),
        sa.Column("receiver", sa.String(190), nullable=False),
        sa.Column("group_key", sa.Text, nullable=False),
        sa.Column("group_labels", sa.Text, nullable=False),
        sa.Column("options", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("seq", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("next_flush_at", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("last_flush_at", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("sent", sa.Text, nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("org_id", "hash", name="uq_alert_group_org_id_hash"),
    )
    op.create_index("ix_alert_group_next_flush_at", "alert_group", ["next_flush_at"])
    op.create_table(
        "alert_group_member",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("group_id", sa.Integer, nullable=False),
        sa.Column("instance_key", sa.String(80), nullable=False),
        sa.Column("member_key", sa.String(120), nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("alert", sa.Text, nullable=False),
        sa.Column("starts_at", sa.BigInteger, nullable=False),
        sa.Column("ends_at", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("updated", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("group_id", "member_key", name="uq_alert_group_member_group_id_member_key"),
    )
    op.create_index("ix_alert_group_member_instance_key", "alert_group_member", ["instance_key"])
    op.create_table(
        "alert_notification",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("claim_key", sa.String(190), nullable=False),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("group_id", sa.Integer, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("receiver", sa.String(190), nullable=False),
        sa.Column("integration_uid", sa.String(40), nullable=False),
        sa.Column("integration_type", sa.String(40), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("payload", LONG_TEXT, nullable=False),
        sa.Column("firing", sa.Integer, nullable=False, server_default="0"),
        sa.Column("resolved", sa.Integer, nullable=False, server_default="0"),
        sa.Column("claimed_by", sa.String(190), nullable=False, server_default=""),
        sa.Column("lease_until", sa.BigInteger, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("sent_at", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("sent_by", sa.String(190), nullable=False, server_default=""),
        sa.UniqueConstraint("claim_key", name="uq_alert_notification_claim_key"),
    )
    op.create_index(
        "ix_alert_notification_status_lease_until", "alert_notification", ["status", "lease_until"]
    )
    op.create_index("ix_alert_notification_group_id", "alert_notification", ["group_id"])


def downgrade() -> None:
    for name in (
        "alert_notification", "alert_group_member", "alert_group", "alert_silence", "alert_mute_timing",
        "alert_policy", "alert_contact_point", "alert_instance", "alert_rule",
        "cluster_change", "cluster_lease", "cluster_member",
    ):  # fmt: skip
        op.drop_table(name)
