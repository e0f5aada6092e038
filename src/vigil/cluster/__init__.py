"""Cluster plumbing shared by every replica: membership heartbeats, named leases, rendezvous shard
assignment and a change bus. It knows nothing of alerting (or of any feature using it)."""
