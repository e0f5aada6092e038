"""Data sources: records, the type registry, query execution, expressions, variables, the proxy.

Public entry points (other features call these, nothing else):

- ``DataSourceService`` (``services.datasources``): records CRUD, ``query`` for ``/api/ds/query``,
  ``evaluate_rule_queries`` for the alerting engine, ``health``, ``metric_find``.
- ``vigil.datasources.expressions``: ``Number``, ``Series`` and the expression kinds.
"""
