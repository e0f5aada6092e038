"""Library elements: panels (kind 1) and variables (kind 2) shared between dashboards."""
