"""Cluster tables: live members, named leases, and the change bus."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table

from vigil.storage.schema import metadata

cluster_member = Table(
    "cluster_member",
    metadata,
    Column("name", String(190), primary_key=True),
    Column("address", String(255), nullable=False, server_default=""),
    Column("version", String(64), nullable=False, server_default=""),
    Column("started_at", BigInteger, nullable=False),
    Column("last_heartbeat", BigInteger, nullable=False),
    Column("draining", Boolean, nullable=False, server_default="0"),
)

cluster_lease = Table(
    "cluster_lease",
    metadata,
    Column("name", String(190), primary_key=True),
    Column("holder", String(190), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("acquired_at", BigInteger, nullable=False),
    # Grows by one each time the lease changes hands (a fencing token).
    Column("fence", BigInteger, nullable=False),
    Index("ix_cluster_lease_holder", "holder"),
)

cluster_change = Table(
    "cluster_change",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("topic", String(100), nullable=False),
    Column("key", String(190), nullable=False, server_default=""),
    Column("origin", String(190), nullable=False, server_default=""),
    Column("created", BigInteger, nullable=False),
    Index("ix_cluster_change_created", "created"),
)
