"""Alerting: rules, scheduler, evaluator, per-series state, dispatch, notification log, notifiers.

Exactly one notification per state change per receiver, however many replicas run: the right to
send is a row claimed with a unique key in the shared database (``nflog``). Evaluation is spread
over replicas by rendezvous hashing with leases (``ha_mode = shard``) or done everywhere
(``ha_mode = all``); either way state transitions are compare-and-swap writes, so a transition
happens once.
"""
