"""Schemathesis against ``/openapi.json`` of a real ``vigil server``: every API operation, as the
server admin (Basic auth), with generated path and query parameters and JSON bodies.

Most routes read their body themselves (Grafana's shapes are loose), so the document declares no
body for them; for those the fuzzer sends an object made of Grafana's common field names with
arbitrary JSON values (``{"title": [], "dashboard": "x", "time": -1e300, ...}``) — wrong types are
exactly what a route must refuse with a 400, not a 500.

Checks: no 5xx; every error is a JSON object with a ``message`` (the document says so for every
operation); the status codes and content types are the documented ones.

Bounded: a few examples per operation (``VIGIL_FUZZ_EXAMPLES``, default 4). Operations that would
make the server send traffic off this machine (the data-source proxy, queries, health checks,
contact-point tests) are left out, alerting is off, and every non-loopback address is blocked
anyway; so are the few that would lock the fuzzing admin out (its password, its deletion).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import ADMIN, basic, make_config
from tests.server_proc import ServerProcess, stop_all
from vigil.app import create_app

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("VIGIL_FUZZ_EXAMPLES", "4"))

# every address but 127.0.0.0/8: the fuzzer may create data sources and contact
# points with any URL; nothing may leave the machine even if an excluded route were reached
NON_LOOPBACK = (
    "0.0.0.0/2, 64.0.0.0/3, 96.0.0.0/4, 112.0.0.0/5, 120.0.0.0/6, 124.0.0.0/7, 126.0.0.0/8, 128.0.0.0/1, ::/0"
)

EXCLUDED_PATHS = [
    r"^/api/datasources/proxy/",  # forwards to the data source's URL
    r"^/api/datasources/.*/health$",  # connects to it
    r"^/api/ds/",  # queries it
    r"receivers/test$",  # sends notifications
    r"^/api/admin/users/\{user_id\}$",  # DELETE: could delete the fuzzing admin
    r"^/api/admin/users/\{user_id\}/(password|permissions|disable)$",
    r"^/api/user/password$",
    r"^/api/orgs/\{org_id\}$",  # DELETE of org 1 would leave the admin without an org
    r"^/api/org/users/\{user_ref\}$",
    r"^/api/orgs/\{org_id\}/users/\{user_ref\}$",
    r"^/api/user/using/",
    r"^/api/users/\{user_id\}/using/",
]

# Grafana's common body fields; each gets any JSON value
FIELDS = [
    "title", "name", "uid", "id", "version", "overwrite", "message", "dashboard", "folderUid",
    "folderId", "folderUID", "parentUid", "tags", "panels", "text", "time", "timeEnd", "panelId",
    "dashboardUID", "dashboardId", "type", "access", "url", "user", "database", "basicAuth", "jsonData",
    "secureJsonData", "isDefault", "role", "login", "email", "password", "isDisabled", "orgId", "items",
    "permission", "teamId", "userId", "interval", "settings", "labels", "annotations", "data",
    "condition", "ruleGroup", "for", "rules", "receiver", "routes", "matchers", "startsAt", "endsAt",
    "comment", "createdBy", "time_intervals", "kind", "model", "inputs", "expires", "key", "external",
    "theme", "homeDashboardUID", "timezone", "weekStart", "secondsToLive", "loginOrEmail", "query",
    "queries", "from", "to", "base", "new", "diffType", "restoredFrom", "templating",
]  # fmt: skip

BODY_SCHEMA = {
    "type": "object",
    "properties": {field: {} for field in FIELDS},
    "additionalProperties": False,
}


def _document() -> dict[str, Any]:
    """The server's OpenAPI document (built in process: it needs no database), with a loose JSON
    body on every write that declares none."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(make_config(f"sqlite:///{tmp}/v.db", Path(tmp)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # FastAPI: duplicate operation ids of the proxy routes
            doc: dict[str, Any] = json.loads(json.dumps(app.api.openapi()))
    for item in doc["paths"].values():
        for method, operation in item.items():
            if method in ("post", "put", "patch") and "requestBody" not in operation:
                operation["requestBody"] = {
                    "required": False,
                    "content": {"application/json": {"schema": BODY_SCHEMA}},
                }
    return doc


def _schema() -> Any:
    schema = schemathesis.openapi.from_dict(_document())
    for pattern in EXCLUDED_PATHS:
        schema = schema.exclude(path_regex=pattern)
    return schema


SCHEMA = _schema()
OPERATIONS = sorted(
    (result.ok() for result in SCHEMA.get_all_operations()), key=lambda op: (op.path, op.method)
)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    proc = ServerProcess(
        "fuzz",
        # another (empty) database for an exploratory run, e.g. a PostgreSQL one
        os.environ.get("VIGIL_FUZZ_DATABASE_URL") or f"sqlite:///{tmp / 'vigil.db'}",
        tmp,
        SERVER_ROUTER_LOGGING="false",
        LOG_LEVEL="warning",
        ALERTING_ENABLED="false",
        SECURITY_DISABLE_BRUTE_FORCE_LOGIN_PROTECTION="true",
        SECURITY_OUTBOUND_BLOCKED_RANGES=NON_LOOPBACK,
        SECURITY_PASSWORD_HASH_MEMORY_KIB="1024",
        SECURITY_PASSWORD_HASH_ITERATIONS="1",
    )
    proc.start()
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.returncode() is None, proc.output()[-3000:]
            try:
                if httpx.get(proc.base_url + "/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, proc.output()[-3000:]
            time.sleep(0.2)
        yield proc
        # the fuzzing left the server healthy and the admin able to work
        assert httpx.get(proc.base_url + "/api/health", timeout=10).status_code == 200
        assert httpx.get(proc.base_url + "/api/user", auth=ADMIN, timeout=10).status_code == 200
    finally:
        stop_all([proc])


AUTH = basic(*ADMIN)


def _message_on_errors(response: Any, case: Any) -> None:
    if response.status_code < 400:
        return
    where = f"{case.method} {case.formatted_path} -> {response.status_code}"
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"{where}: error body is not JSON: {response.text[:200]!r}") from None
    assert isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"], (
        f"{where}: error body without a message: {body!r}"
    )


def test_every_operation_of_the_document_is_fuzzed_or_deliberately_left_out() -> None:
    everything = _document()["paths"]
    total = sum(
        1 for item in everything.values() for m in item if m in ("get", "post", "put", "patch", "delete")
    )
    assert len(OPERATIONS) > 150 and total - len(OPERATIONS) < 40, (total, len(OPERATIONS))


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
def test_no_operation_answers_a_server_error_or_an_error_without_a_message(
    operation: Any, fuzz_server: ServerProcess
) -> None:
    strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE)

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=os.environ.get("VIGIL_FUZZ_RANDOM", "") == "",
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case: Any) -> None:
        # sent with httpx: schemathesis' own requests transport breaks under urllib3-future, which
        # another dev dependency (niquests, via grafana-client) installs over urllib3
        kwargs = case.as_transport_kwargs(base_url=fuzz_server.base_url, headers=AUTH)
        kwargs.pop("cookies", None)
        if isinstance(kwargs.get("data"), (bytes, str)):
            kwargs["content"] = kwargs.pop("data")
        response = http.request(**kwargs)
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} -> {response.status_code} {response.text[:300]}\n"
            f"query={case.query!r} body={case.body!r}"
        )
        _message_on_errors(response, case)
        case.validate_response(
            response,
            checks=[status_code_conformance, content_type_conformance, response_schema_conformance],
        )

    with httpx.Client(timeout=30) as http:
        run()
