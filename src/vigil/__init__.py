"""Vigil: a Grafana-compatible dashboard and alerting server built for several replicas."""

__version__ = "0.1.0"
