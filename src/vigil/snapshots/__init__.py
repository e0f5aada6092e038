"""Dashboard snapshots: a frozen copy of a dashboard's JSON, shared by key, deleted by delete key."""
