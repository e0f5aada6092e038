"""Alerting tables: rules, per-series state (changes go to the ``annotation`` table), receivers,
policies, mute timings, notification templates, silences, dispatch groups with their alerts, and
the notification log."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.dialects import mysql

from vigil.storage.schema import metadata

LONG_TEXT = Text().with_variant(mysql.LONGTEXT(), "mysql")

alert_rule = Table(
    "alert_rule",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uid", String(40), nullable=False, unique=True),
    Column("org_id", Integer, nullable=False),
    Column("folder_uid", String(40), nullable=False),
    Column("rule_group", String(190), nullable=False),
    Column("rule_group_idx", Integer, nullable=False, server_default="0"),
    Column("title", String(190), nullable=False),
    Column("condition", String(190), nullable=False),
    Column("data", LONG_TEXT, nullable=False),
    Column("interval_seconds", Integer, nullable=False),
    Column("for_seconds", Integer, nullable=False, server_default="0"),
    Column("keep_firing_for_seconds", Integer, nullable=False, server_default="0"),
    Column("no_data_state", String(20), nullable=False),
    Column("exec_err_state", String(20), nullable=False),
    Column("labels", Text, nullable=False),
    Column("annotations", Text, nullable=False),
    Column("is_paused", Boolean, nullable=False, server_default="0"),
    Column("notification_settings", Text, nullable=True),
    Column("provenance", String(20), nullable=False, server_default=""),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    UniqueConstraint("org_id", "folder_uid", "title"),
    Index("ix_alert_rule_org_id_folder_uid_rule_group", "org_id", "folder_uid", "rule_group"),
)

alert_instance = Table(
    "alert_instance",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, nullable=False),
    Column("rule_uid", String(40), nullable=False),
    Column("fingerprint", String(32), nullable=False),
    Column("labels", Text, nullable=False),
    Column("state", String(20), nullable=False),
    Column("reason", String(40), nullable=False, server_default=""),
    Column("since", BigInteger, nullable=False),
    Column("active_at", BigInteger, nullable=False, server_default="0"),
    Column("fired_at", BigInteger, nullable=False, server_default="0"),
    Column("resolved_at", BigInteger, nullable=False, server_default="0"),
    # The evaluation (tick, ms) that last changed this row: later evaluations only may change it.
    Column("last_eval", BigInteger, nullable=False),
    Column("value_text", Text, nullable=False),
    Column("values_json", Text, nullable=False),
    Column("annotations", Text, nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    UniqueConstraint("rule_uid", "fingerprint"),
    Index("ix_alert_instance_org_id_state", "org_id", "state"),
)

alert_contact_point = Table(
    "alert_contact_point",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uid", String(40), nullable=False, unique=True),
    Column("org_id", Integer, nullable=False),
    Column("name", String(190), nullable=False),
    Column("type", String(40), nullable=False),
    Column("settings", Text, nullable=False),
    # JSON object {field: "v1:…"}: secret settings encrypted with [security] secret_key.
    Column("secure_settings", Text, nullable=False),
    Column("disable_resolve_message", Boolean, nullable=False, server_default="0"),
    Column("provenance", String(20), nullable=False, server_default=""),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    Index("ix_alert_contact_point_org_id_name", "org_id", "name"),
)

alert_policy = Table(
    "alert_policy",
    metadata,
    Column("org_id", Integer, primary_key=True, autoincrement=False),
    Column("tree", LONG_TEXT, nullable=False),
    Column("provenance", String(20), nullable=False, server_default=""),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("updated", BigInteger, nullable=False),
)

alert_mute_timing = Table(
    "alert_mute_timing",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, nullable=False),
    Column("name", String(190), nullable=False),
    Column("time_intervals", Text, nullable=False),
    Column("provenance", String(20), nullable=False, server_default=""),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("updated", BigInteger, nullable=False),
    UniqueConstraint("org_id", "name"),
)

# Notification templates: one text per name, whose ``define`` blocks contact points can call.
alert_notification_template = Table(
    "alert_notification_template",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, nullable=False),
    Column("name", String(190), nullable=False),
    Column("template", LONG_TEXT, nullable=False),
    Column("provenance", String(20), nullable=False, server_default=""),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("updated", BigInteger, nullable=False),
    UniqueConstraint("org_id", "name"),
)

alert_silence = Table(
    "alert_silence",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uid", String(40), nullable=False, unique=True),
    Column("org_id", Integer, nullable=False),
    Column("matchers", Text, nullable=False),
    Column("starts_at", BigInteger, nullable=False),
    Column("ends_at", BigInteger, nullable=False),
    Column("created_by", String(190), nullable=False, server_default=""),
    Column("comment", Text, nullable=False),
    Column("updated", BigInteger, nullable=False),
    Index("ix_alert_silence_org_id_ends_at", "org_id", "ends_at"),
)

# One row per (org, receiver, route, group labels): Alertmanager's aggregation group, shared.
alert_group = Table(
    "alert_group",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, nullable=False),
    Column("hash", String(40), nullable=False),
    Column("receiver", String(190), nullable=False),
    Column("group_key", Text, nullable=False),
    Column("group_labels", Text, nullable=False),
    Column("options", Text, nullable=False),
    Column("active", Boolean, nullable=False, server_default="0"),
    # Flush counter: a flush is the compare-and-swap of seq to seq + 1.
    Column("seq", BigInteger, nullable=False, server_default="0"),
    Column("next_flush_at", BigInteger, nullable=False, server_default="0"),
    Column("last_flush_at", BigInteger, nullable=False, server_default="0"),
    # JSON {integration uid: {"firing": [...], "resolved": [...], "sent_at": ms}}
    Column("sent", Text, nullable=False),
    Column("created", BigInteger, nullable=False),
    UniqueConstraint("org_id", "hash"),
    Index("ix_alert_group_next_flush_at", "next_flush_at"),
)

alert_group_member = Table(
    "alert_group_member",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("group_id", Integer, nullable=False),
    # "<rule uid>:<instance fingerprint>" (resolving finds every member of an instance)
    Column("instance_key", String(80), nullable=False),
    # instance_key plus the alert kind ("" or DatasourceNoData/DatasourceError)
    Column("member_key", String(120), nullable=False),
    Column("fingerprint", String(32), nullable=False),
    Column("status", String(10), nullable=False),
    Column("alert", Text, nullable=False),
    Column("starts_at", BigInteger, nullable=False),
    Column("ends_at", BigInteger, nullable=False, server_default="0"),
    Column("updated", BigInteger, nullable=False),
    UniqueConstraint("group_id", "member_key"),
    Index("ix_alert_group_member_instance_key", "instance_key"),
)

# The notification log: one row per notification to one integration. The unique claim key is
# the right to send; only the claimant (or a survivor after the claim lease lapses) sends.
alert_notification = Table(
    "alert_notification",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("claim_key", String(190), nullable=False, unique=True),
    Column("org_id", Integer, nullable=False),
    Column("group_id", Integer, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("receiver", String(190), nullable=False),
    Column("integration_uid", String(40), nullable=False),
    Column("integration_type", String(40), nullable=False),
    Column("status", String(10), nullable=False),  # pending, sent, failed
    Column("payload", LONG_TEXT, nullable=False),
    Column("firing", Integer, nullable=False, server_default="0"),
    Column("resolved", Integer, nullable=False, server_default="0"),
    Column("claimed_by", String(190), nullable=False, server_default=""),
    Column("lease_until", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("sent_at", BigInteger, nullable=False, server_default="0"),
    Column("sent_by", String(190), nullable=False, server_default=""),
    Index("ix_alert_notification_status_lease_until", "status", "lease_until"),
    Index("ix_alert_notification_group_id", "group_id"),
)
