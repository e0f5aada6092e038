"""Playlists: ordered lists of dashboards (by uid or by tag) cycled on an interval."""
