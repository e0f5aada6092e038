"""Annotations and their tags.

A point annotation has ``epoch == epoch_end``; a region spans ``epoch``..``epoch_end`` (epoch ms).
An organisation annotation has ``dashboard_uid = ""``. Tags are stored whole (``term``) and split at
the first ``:`` into ``tag_key``/``tag_value`` so a filter ``env`` matches ``env:prod``.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text
from sqlalchemy.dialects import mysql

from vigil.storage.schema import metadata

LongText = Text().with_variant(mysql.LONGTEXT(), "mysql")

annotation = Table(
    "annotation",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, nullable=False),
    Column("dashboard_uid", String(40), nullable=False, server_default=""),
    Column("dashboard_id", Integer, nullable=False, server_default="0"),
    Column("panel_id", Integer, nullable=False, server_default="0"),
    Column("user_id", Integer, nullable=False, server_default="0"),
    Column("alert_id", Integer, nullable=False, server_default="0"),
    Column("alert_name", String(255), nullable=False, server_default=""),
    Column("prev_state", String(40), nullable=False, server_default=""),
    Column("new_state", String(40), nullable=False, server_default=""),
    Column("text", Text, nullable=False),
    Column("data", LongText, nullable=False),
    Column("epoch", BigInteger, nullable=False),
    Column("epoch_end", BigInteger, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    Index("ix_annotation_org_id_epoch_end_epoch", "org_id", "epoch_end", "epoch"),
    Index("ix_annotation_org_id_dashboard_uid_panel_id", "org_id", "dashboard_uid", "panel_id"),
    Index("ix_annotation_org_id_alert_id", "org_id", "alert_id"),
)

annotation_tag = Table(
    "annotation_tag",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("annotation_id", Integer, nullable=False),
    Column("org_id", Integer, nullable=False),
    Column("term", String(190), nullable=False),
    Column("tag_key", String(190), nullable=False),
    Column("tag_value", String(190), nullable=False, server_default=""),
    Index("ix_annotation_tag_annotation_id", "annotation_id"),
    Index("ix_annotation_tag_org_id_tag_key", "org_id", "tag_key"),
)
