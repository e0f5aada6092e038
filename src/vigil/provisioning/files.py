"""Reading provisioning files: ``datasources/*.yaml`` and ``dashboards/*.yaml`` under ``[paths]
provisioning`` (``.yml`` too), in file-name order, so every replica reads the same plan.

String values go through environment expansion: ``$VAR`` and ``${VAR}`` (empty when unset,
``${VAR:-default}`` for a default), ``$__env{VAR}``, ``$__file{/path}`` (the file's content,
trimmed), and ``$$`` for a literal ``$``. A file that cannot be used is refused as a whole with a
message naming it; one bad entry is refused alone.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import yaml

UID_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_EXPAND = re.compile(
    r"\$(?:(?P<dollar>\$)|__env\{(?P<env>[^}]*)\}|__file\{(?P<file>[^}]*)\}|\{(?P<braced>[^}]*)\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)
# Fields a data-source entry may carry (Grafana's provisioning keys); others are ignored.
DS_FIELDS = (
    "name",
    "type",
    "uid",
    "access",
    "url",
    "user",
    "database",
    "basicAuth",
    "basicAuthUser",
    "withCredentials",
    "isDefault",
    "jsonData",
    "secureJsonData",
    "password",
    "basicAuthPassword",
)


@dataclass(frozen=True)
class Problem:
    file: str
    message: str
    refused: bool = True  # False: a warning, the rest of the entry or file was used

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


class ExpansionError(ValueError):
    pass


def expand(value: str, env: Mapping[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        if m.group("dollar"):
            return "$"
        if m.group("file") is not None:
            path = Path(m.group("file").strip()).expanduser()
            try:
                return path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ExpansionError(f"cannot read {path} for $__file{{}}: {exc.strerror or exc}") from None
        name = m.group("env") if m.group("env") is not None else m.group("braced")
        if name is None:
            name = m.group("bare")
        default = ""
        if ":-" in name:
            name, default = name.split(":-", 1)
        return env.get(name.strip(), default) or default

    return _EXPAND.sub(one, value)


def expand_tree(value: Any, env: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return expand(value, env)
    if isinstance(value, list):
        return [expand_tree(v, env) for v in value]
    if isinstance(value, dict):
        return {k: expand_tree(v, env) for k, v in value.items()}
    return value


def yaml_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".yaml", ".yml") and p.is_file())


def load_yaml(path: Path, env: Mapping[str, str]) -> tuple[dict[str, Any] | None, Problem | None]:
    """The file's top-level mapping after expansion; (None, None) for an empty file."""
    name = str(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, Problem(name, f"cannot read the file: {exc}")
    try:
        doc = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc)
        return None, Problem(name, f"invalid YAML{where}: {reason}")
    if doc is None:
        return None, None
    if not isinstance(doc, dict):
        return None, Problem(
            name, f"expected a mapping with apiVersion at the top, found a {type(doc).__name__}"
        )
    version = doc.get("apiVersion", 1)
    if version not in (0, 1, "1", None):
        return None, Problem(name, f"apiVersion {version!r} is not supported: use apiVersion: 1")
    try:
        expanded = expand_tree(doc, env)
    except ExpansionError as exc:
        return None, Problem(name, str(exc))
    return expanded, None


def _bool(value: Any, what: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no", "1", "0", ""):
        return value.strip().lower() in ("true", "yes", "1")
    raise ValueError(f"{what} must be true or false")


def _org(value: Any) -> int:
    if value is None or value == "":
        return 1
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdigit():
        raise ValueError("orgId must be a positive integer")
    org_id = int(value)
    if org_id < 1:
        raise ValueError("orgId must be a positive integer")
    return org_id


def _checksum(value: Any) -> str:
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()


# -- data sources -----------------------------------------------------------------------------------


@dataclass
class DataSourceDef:
    file: str
    org_id: int
    name: str
    body: dict[str, Any]  # what the data-source store takes
    editable: bool
    checksum: str = ""

    @property
    def uid(self) -> str:
        return str(self.body.get("uid") or "")


@dataclass(frozen=True)
class DeleteDef:
    file: str
    org_id: int
    name: str
    uid: str


def _datasource(file: str, where: str, raw: Any) -> DataSourceDef:
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be a mapping")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where}: name is required")
    where = f"{where} ({name.strip()!r})"
    ds_type = raw.get("type")
    if not isinstance(ds_type, str) or not ds_type.strip():
        raise ValueError(f"{where}: type is required")
    try:
        org_id = _org(raw.get("orgId"))
        editable = _bool(raw.get("editable"), "editable")
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    body: dict[str, Any] = {}
    for key in DS_FIELDS:
        value = raw.get(key)
        if value is not None:
            body[key] = value
    body["name"] = name.strip()
    body["type"] = ds_type.strip()
    uid = body.get("uid")
    if uid is not None:
        if not isinstance(uid, str | int) or not UID_RE.match(str(uid)):
            raise ValueError(f"{where}: uid may hold up to 40 letters, digits, '-' and '_'")
        body["uid"] = str(uid)
    for key in ("jsonData", "secureJsonData"):
        if key in body and not isinstance(body[key], dict):
            raise ValueError(f"{where}: {key} must be a mapping")
    if "secureJsonData" in body:
        body["secureJsonData"] = {k: str(v) for k, v in body["secureJsonData"].items() if v is not None}
    for key in ("basicAuth", "withCredentials", "isDefault"):
        if key in body:
            try:
                body[key] = _bool(body[key], key)
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
    access = body.get("access")
    if access is not None and access not in ("proxy", "direct"):
        raise ValueError(f"{where}: access must be proxy or direct")
    ds = DataSourceDef(file=file, org_id=org_id, name=body["name"], body=body, editable=editable)
    ds.checksum = _checksum({"org": org_id, "editable": editable, "body": body})
    return ds


def read_datasources(
    root: Path, env: Mapping[str, str] | None = None
) -> tuple[list[DataSourceDef], list[DeleteDef], list[Problem]]:
    """Every data source and deletion in ``root/datasources``; a later file's definition of the same
    (org, name) wins over an earlier one's, as when Grafana applies the files in order."""
    env = os.environ if env is None else env
    problems: list[Problem] = []
    defs: dict[tuple[int, str], DataSourceDef] = {}
    deletes: list[DeleteDef] = []
    for path in yaml_files(root / "datasources"):
        doc, problem = load_yaml(path, env)
        if problem is not None:
            problems.append(problem)
        if doc is None:
            continue
        file = str(path)
        unknown = set(doc) - {"apiVersion", "datasources", "deleteDatasources", "prune"}
        if not {"datasources", "deleteDatasources"} & set(doc):
            problems.append(Problem(file, "no datasources or deleteDatasources list: not a data source file"))
            continue
        if unknown:
            problems.append(
                Problem(file, f"ignored unknown keys: {', '.join(sorted(unknown))}", refused=False)
            )
        for key in ("deleteDatasources", "datasources"):
            if doc.get(key) is not None and not isinstance(doc.get(key), list):
                problems.append(Problem(file, f"{key} must be a list"))
                doc[key] = None
        for i, raw in enumerate(doc.get("deleteDatasources") or []):
            try:
                if not isinstance(raw, dict):
                    raise ValueError("must be a mapping")
                name = raw.get("name")
                uid = raw.get("uid")
                if not (isinstance(name, str) and name.strip()) and not (
                    isinstance(uid, str) and uid.strip()
                ):
                    raise ValueError("name or uid is required")
                deletes.append(
                    DeleteDef(
                        file,
                        _org(raw.get("orgId")),
                        (name or "").strip() if isinstance(name, str) else "",
                        (uid or "").strip() if isinstance(uid, str) else "",
                    )
                )
            except ValueError as exc:
                problems.append(Problem(file, f"deleteDatasources[{i}] {exc}"))
        for i, raw in enumerate(doc.get("datasources") or []):
            try:
                ds = _datasource(file, f"datasources[{i}]", raw)
            except ValueError as exc:
                problems.append(Problem(file, str(exc)))
                continue
            earlier = defs.pop((ds.org_id, ds.name), None)
            if earlier is not None:
                problems.append(
                    Problem(
                        earlier.file,
                        f"data source {ds.name!r} (org {ds.org_id}) is defined again in {file}; "
                        "that definition is used",
                        refused=False,
                    )
                )
            defs[(ds.org_id, ds.name)] = ds
    out = list(defs.values())
    # one uid per org, one default per org: the first definition (in file order) keeps it
    seen_uid: dict[tuple[int, str], str] = {}
    default_of: dict[int, str] = {}
    kept: list[DataSourceDef] = []
    for ds in out:
        if ds.uid:
            other = seen_uid.get((ds.org_id, ds.uid))
            if other is not None:
                problems.append(
                    Problem(ds.file, f"data source {ds.name!r}: uid {ds.uid!r} is already used by {other!r}")
                )
                continue
            seen_uid[(ds.org_id, ds.uid)] = ds.name
        if ds.body.get("isDefault"):
            if ds.org_id in default_of:
                problems.append(
                    Problem(
                        ds.file,
                        f"data source {ds.name!r}: only one default per organization, "
                        f"{default_of[ds.org_id]!r} already is; isDefault ignored",
                        refused=False,
                    )
                )
                ds.body["isDefault"] = False
                ds.checksum = _checksum({"org": ds.org_id, "editable": ds.editable, "body": ds.body})
            else:
                default_of[ds.org_id] = ds.name
        kept.append(ds)
    return kept, deletes, problems


# -- dashboard providers ----------------------------------------------------------------------------


@dataclass
class ProviderDef:
    file: str
    name: str
    org_id: int
    path: Path
    folder: str = ""
    folder_uid: str = ""
    disable_deletion: bool = False
    update_interval: float = 10.0
    allow_ui_updates: bool = False
    folders_from_files: bool = False
    options: dict[str, Any] = field(default_factory=dict)


def _provider(file: str, where: str, raw: Any, base: Path) -> ProviderDef:
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be a mapping")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where}: name is required")
    where = f"{where} ({name.strip()!r})"
    kind = raw.get("type") or "file"
    if kind != "file":
        raise ValueError(f"{where}: type {kind!r} is not supported (only file)")
    options = raw.get("options") or {}
    if not isinstance(options, dict):
        raise ValueError(f"{where}: options must be a mapping")
    path = options.get("path")
    if not isinstance(path, str) or not path.strip():
        raise ValueError(f"{where}: options.path is required")
    try:
        org_id = _org(raw.get("orgId"))
        folders_from_files = _bool(
            options.get("foldersFromFilesStructure"), "options.foldersFromFilesStructure"
        )
        disable_deletion = _bool(raw.get("disableDeletion"), "disableDeletion")
        allow_ui = _bool(raw.get("allowUiUpdates"), "allowUiUpdates")
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    folder = raw.get("folder") or ""
    folder_uid = raw.get("folderUid") or ""
    if not isinstance(folder, str) or not isinstance(folder_uid, str):
        raise ValueError(f"{where}: folder and folderUid must be strings")
    if folder_uid and not UID_RE.match(folder_uid):
        raise ValueError(f"{where}: folderUid may hold up to 40 letters, digits, '-' and '_'")
    if folders_from_files and (folder.strip() or folder_uid):
        raise ValueError(f"{where}: folder and folderUid cannot be used with foldersFromFilesStructure")
    interval = raw.get("updateIntervalSeconds", 10)
    if interval is None:
        interval = 10
    if isinstance(interval, bool) or not isinstance(interval, int | float | str):
        raise ValueError(f"{where}: updateIntervalSeconds must be a number")
    try:
        seconds = float(interval)
    except ValueError:
        raise ValueError(f"{where}: updateIntervalSeconds must be a number") from None
    resolved = Path(path.strip()).expanduser()
    if not resolved.is_absolute():
        resolved = base / resolved
    return ProviderDef(
        file=file,
        name=name.strip(),
        org_id=org_id,
        path=resolved,
        folder=folder.strip(),
        folder_uid=folder_uid,
        disable_deletion=disable_deletion,
        update_interval=max(1.0, seconds),
        allow_ui_updates=allow_ui,
        folders_from_files=folders_from_files,
        options=options,
    )


def read_providers(
    root: Path, env: Mapping[str, str] | None = None, base: Path | None = None
) -> tuple[list[ProviderDef], list[Problem]]:
    """Every dashboard provider in ``root/dashboards``. Relative ``options.path`` values are resolved
    from ``base`` (the working directory, as Grafana does)."""
    env = os.environ if env is None else env
    base = base or Path.cwd()
    problems: list[Problem] = []
    providers: dict[str, ProviderDef] = {}
    for path in yaml_files(root / "dashboards"):
        doc, problem = load_yaml(path, env)
        if problem is not None:
            problems.append(problem)
        if doc is None:
            continue
        file = str(path)
        entries = doc.get("providers")
        if entries is None:
            problems.append(Problem(file, "no providers list: not a dashboard provider file"))
            continue
        if not isinstance(entries, list):
            problems.append(Problem(file, "providers must be a list"))
            continue
        for i, raw in enumerate(entries):
            try:
                p = _provider(file, f"providers[{i}]", raw, base)
            except ValueError as exc:
                problems.append(Problem(file, str(exc)))
                continue
            if p.name in providers:
                problems.append(
                    Problem(file, f"provider name {p.name!r} is already used in {providers[p.name].file}")
                )
                continue
            providers[p.name] = p
    return list(providers.values()), problems
