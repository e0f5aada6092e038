"""Import every feature's table module so the shared metadata is complete (migrations, tests)."""

from vigil.alerting import tables as alerting_tables
from vigil.annotations import tables as annotation_tables
from vigil.auth import tables as auth_tables
from vigil.cluster import tables as cluster_tables
from vigil.dashboards import tables as dashboard_tables
from vigil.datasources import tables as datasource_tables
from vigil.library import tables as library_tables
from vigil.playlists import tables as playlist_tables
from vigil.preferences import tables as preference_tables
from vigil.provisioning import tables as provisioning_tables
from vigil.sessions import tables as session_tables
from vigil.snapshots import tables as snapshot_tables

__all__ = [
    "alerting_tables",
    "annotation_tables",
    "auth_tables",
    "cluster_tables",
    "dashboard_tables",
    "datasource_tables",
    "library_tables",
    "playlist_tables",
    "preference_tables",
    "provisioning_tables",
    "session_tables",
    "snapshot_tables",
]
