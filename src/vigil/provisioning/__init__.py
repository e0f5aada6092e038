"""Provisioning of data sources and dashboards from YAML files under ``[paths] provisioning``."""
