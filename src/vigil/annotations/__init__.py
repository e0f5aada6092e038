"""Annotations: dashboard and organisation events, points and regions, with tags."""
