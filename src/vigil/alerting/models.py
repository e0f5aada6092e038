"""Alerting's in-memory shapes: a rule as stored and as the scheduler sees it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vigil.alerting.state import Timing


@dataclass(frozen=True)
class Rule:
    id: int
    uid: str
    org_id: int
    folder_uid: str
    folder_title: str
    group: str
    group_idx: int
    title: str
    condition: str
    data: list[dict[str, Any]]
    interval: int
    for_s: int
    keep_firing_for_s: int
    no_data_state: str
    exec_err_state: str
    labels: dict[str, str]
    annotations: dict[str, str]
    is_paused: bool
    notification_settings: dict[str, Any] | None
    provenance: str
    version: int
    updated: int

    @property
    def group_key(self) -> str:
        return group_key(self.org_id, self.folder_uid, self.group)

    @property
    def timing(self) -> Timing:
        return Timing(self.for_s, self.keep_firing_for_s, self.no_data_state, self.exec_err_state)


def group_key(org_id: int, folder_uid: str, group: str) -> str:
    return f"{org_id}/{folder_uid}/{group}"


@dataclass
class RuleGroup:
    key: str
    org_id: int
    folder_uid: str
    name: str
    interval: int
    rules: list[Rule] = field(default_factory=list)
