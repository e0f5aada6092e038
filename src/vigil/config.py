"""One configuration object: packaged defaults, then a file, then VIGIL_* environment, then flags.

Nothing here reads the environment at import time; ``Config.load`` is given everything it uses.
Every key read must be documented in ``defaults.ini`` (a comment line directly above it):
reading an undocumented key raises ``ConfigError`` so a test catches it.
"""

from __future__ import annotations

import configparser
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from vigil.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_SECRET_WORDS = ("password", "secret", "token", "api_key")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def env_name(section: str, key: str) -> str:
    """``VIGIL_<SECTION>_<KEY>`` with dots and dashes in the section turned into underscores."""
    return "VIGIL_" + re.sub(r"[.\-]", "_", section).upper() + "_" + key.upper()


def _parser() -> configparser.RawConfigParser:
    p = configparser.RawConfigParser(comment_prefixes=("#", ";"), inline_comment_prefixes=None, strict=False)
    p.optionxform = str  # type: ignore[assignment,method-assign]
    return p


@dataclass(frozen=True)
class Documented:
    """Keys of the packaged defaults.ini and whether each has a comment line above it."""

    defaults: dict[str, dict[str, str]]
    commented: frozenset[tuple[str, str]]

    @classmethod
    def packaged(cls) -> Documented:
        text = resources.files("vigil").joinpath("defaults.ini").read_text(encoding="utf-8")
        return cls.parse(text)

    @classmethod
    def parse(cls, text: str) -> Documented:
        p = _parser()
        p.read_string(text)
        defaults = {s: dict(p.items(s)) for s in p.sections()}
        commented: set[tuple[str, str]] = set()
        section = ""
        previous = ""
        for raw in text.splitlines():
            line = raw.strip()
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1]
            elif line and not line.startswith((";", "#")) and "=" in line:
                key = line.split("=", 1)[0].strip()
                if previous.startswith(";") and len(previous) > 2:
                    commented.add((section, key))
            previous = line
        return cls(defaults, frozenset(commented))


@dataclass
class Config:
    values: dict[str, dict[str, str]]
    documented: Documented
    sources: dict[tuple[str, str], str] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)

    @classmethod
    def load(
        cls,
        config_file: str | Path | None = None,
        environ: Mapping[str, str] | None = None,
        overrides: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    ) -> Config:
        """Layer the packaged defaults, ``config_file``, ``environ`` and ``overrides`` ("section.key")."""
        documented = Documented.packaged()
        values = {s: dict(kv) for s, kv in documented.defaults.items()}
        sources = {(s, k): "defaults" for s, kv in values.items() for k in kv}
        unknown: list[str] = []
        environ = environ or {}
        if config_file is None and environ.get("VIGIL_CONFIG"):
            config_file = environ["VIGIL_CONFIG"]
        if config_file is not None:
            path = Path(config_file)
            if not path.is_file():
                raise ConfigError(f"configuration file {path} does not exist")
            p = _parser()
            try:
                p.read(path, encoding="utf-8")
            except configparser.Error as exc:
                raise ConfigError(f"configuration file {path} cannot be parsed: {exc}") from None
            for s in p.sections():
                for k, v in p.items(s):
                    if k not in documented.defaults.get(s, {}):
                        unknown.append(f"[{s}] {k} in {path}")
                    values.setdefault(s, {})[k] = v
                    sources[(s, k)] = str(path)
        by_env = {env_name(s, k): (s, k) for s, kv in documented.defaults.items() for k in kv}
        for name, value in environ.items():
            if not name.startswith("VIGIL_") or name == "VIGIL_CONFIG":
                continue
            if name in by_env:
                s, k = by_env[name]
                values[s][k] = value
                sources[(s, k)] = f"env {name}"
            else:
                unknown.append(f"environment variable {name}")
        items = overrides.items() if isinstance(overrides, Mapping) else (overrides or [])
        for dotted, value in items:
            s, _, k = dotted.rpartition(".")
            if not s or k not in documented.defaults.get(s, {}):
                raise ConfigError(f"unknown setting {dotted!r}: use section.key, e.g. server.http_port")
            values[s][k] = value
            sources[(s, k)] = "flag"
        return cls(values, documented, sources, unknown)

    # -- typed access -------------------------------------------------------------------------

    def get(self, section: str, key: str) -> str:
        if (section, key) not in self.documented.commented:
            raise ConfigError(f"[{section}] {key} is read but not documented in defaults.ini")
        return self.values.get(section, {}).get(key, "").strip()

    def _invalid(self, section: str, key: str, value: str, accepted: str) -> ConfigError:
        where = self.sources.get((section, key), "defaults")
        return ConfigError(
            f"invalid value {value!r} for [{section}] {key} (from {where}): accepted {accepted}"
        )

    def get_str(self, section: str, key: str) -> str:
        return self.get(section, key)

    def get_int(self, section: str, key: str, minimum: int | None = None, maximum: int | None = None) -> int:
        raw = self.get(section, key)
        lo = "" if minimum is None else f" >= {minimum}"
        hi = "" if maximum is None else f" <= {maximum}"
        try:
            value = int(raw)
        except ValueError:
            raise self._invalid(section, key, raw, f"an integer{lo}{hi}") from None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise self._invalid(section, key, raw, f"an integer{lo}{hi}")
        return value

    def get_bool(self, section: str, key: str) -> bool:
        raw = self.get(section, key).lower()
        if raw in _TRUE:
            return True
        if raw in _FALSE:
            return False
        raise self._invalid(section, key, raw, "true or false")

    def get_choice(self, section: str, key: str, choices: Iterable[str]) -> str:
        options = list(choices)
        raw = self.get(section, key).lower()
        if raw not in options:
            raise self._invalid(section, key, raw, "one of " + ", ".join(options))
        return raw

    def get_duration(self, section: str, key: str, minimum: float = 0.0) -> float:
        """Seconds from ``90``, ``90s``, ``15m``, ``12h``, ``7d``, ``1w`` or ``500ms``."""
        raw = self.get(section, key)
        m = _DURATION.match(raw)
        if not m:
            raise self._invalid(section, key, raw, "a duration such as 30s, 15m, 12h or 7d")
        seconds = float(m.group(1)) * _UNIT_SECONDS[m.group(2) or "s"]
        if seconds < minimum:
            raise self._invalid(section, key, raw, f"a duration of at least {minimum:g}s")
        return seconds

    def get_networks(self, section: str, key: str) -> list[str]:
        """IP addresses and CIDR networks separated by commas or spaces, or ``*`` for any."""
        raw = self.get(section, key)
        items = [x for x in re.split(r"[,\s]+", raw.strip()) if x]
        for item in items:
            if item == "*":
                continue
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise self._invalid(section, key, raw, "IP addresses or CIDR networks, or *") from None
        return items

    # -- display ------------------------------------------------------------------------------

    def show(self) -> str:
        """The effective configuration as INI text, secrets masked, each value's source noted."""
        lines: list[str] = []
        for section, kv in self.values.items():
            lines.append(f"[{section}]")
            for key, value in kv.items():
                shown = mask(key, value)
                lines.append(f"{key} = {shown}    ; {self.sources.get((section, key), 'defaults')}")
            lines.append("")
        return "\n".join(lines)


def mask(key: str, value: str) -> str:
    if not value:
        return value
    if any(word in key.lower() for word in _SECRET_WORDS):
        return "*****"
    if "://" in value:
        parts = urlsplit(value)
        if parts.password:
            netloc = parts.netloc.replace(":" + parts.password + "@", ":*****@", 1)
            return urlunsplit(parts._replace(netloc=netloc))
    return value
