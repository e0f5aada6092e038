"""Dashboards, folders, versions, permissions and search: the tables and the service other features use."""
