"""Import every feature's table module so the shared metadata is complete (migrations, tests)."""

from vigil.auth import tables as auth_tables
from vigil.dashboards import tables as dashboard_tables
from vigil.datasources import tables as datasource_tables
from vigil.sessions import tables as session_tables

__all__ = ["auth_tables", "dashboard_tables", "datasource_tables", "session_tables"]
