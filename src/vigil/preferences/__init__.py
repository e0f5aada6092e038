"""User, team and org preferences, and starred dashboards."""
