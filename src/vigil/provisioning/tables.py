"""What the provisioner last wrote for each provisioned data source and alerting object (dashboards
are recorded in the dashboards feature's ``dashboard_provisioning`` table)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text, UniqueConstraint

from vigil.storage.schema import metadata

# check_sum: sha256 of the provisioned definition (after $VAR expansion); ds_version: the data
# source's version right after the provisioner wrote it. Same checksum and same version → nothing to do.
provisioning_datasource = Table(
    "provisioning_datasource",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, nullable=False),
    Column("name", String(190), nullable=False),
    Column("ds_uid", String(40), nullable=False),
    Column("ds_version", Integer, nullable=False),
    Column("check_sum", String(64), nullable=False),
    Column("file", Text, nullable=False),
    Column("updated", BigInteger, nullable=False),
    UniqueConstraint("org_id", "name"),
)

# Alerting objects from provisioning/alerting/*.yaml: kind is group, contact_point, policy, template
# or mute_time; key names the object within its org (policy: ""). Same checksum → nothing to do.
provisioning_alerting = Table(
    "provisioning_alerting",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("key", String(190), nullable=False),
    Column("check_sum", String(64), nullable=False),
    Column("file", Text, nullable=False),
    Column("updated", BigInteger, nullable=False),
    UniqueConstraint("org_id", "kind", "key"),
)
