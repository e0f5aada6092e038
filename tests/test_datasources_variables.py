"""Template variable interpolation: every syntax and format, multi-value and All, and the escaping
rule that keeps values out of PromQL and SQL syntax (property-tested with hypothesis)."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from vigil.datasources.variables import InterpolationError, Scope, interpolate_text

SCOPE = Scope.from_json(
    {
        "one": {"text": "Web 1", "value": "web-1"},
        "many": {"value": ["a.b", "c|d"], "text": ["A", "C"], "multi": True},
        "all": {
            "value": "$__all",
            "includeAll": True,
            "options": [{"value": "$__all"}, {"value": "x"}, {"value": "y"}],
        },
        "allv": {"value": ["$__all"], "includeAll": True, "allValue": ".+", "options": ["x"]},
    }
).with_builtins({"__interval": "30s"})


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("$one ${one} [[one]]", "web-1 web-1 web-1"),
        ("${many:csv}", "a.b,c|d"),
        ("${many:pipe}", "a.b|c|d"),
        ("${many:regex}", r"(a\.b|c\|d)"),
        ("${one:regex}", r"web-1"),
        ("${many:glob}", "{a.b,c|d}"),
        ("${many:json}", '["a.b", "c|d"]'),
        ("${one:json}", '"web-1"'),
        ("${many:sqlstring}", "'a.b','c|d'"),
        ("${many:queryparam}", "var-many=a.b&var-many=c%7Cd"),
        ("${many:raw} [[many:raw]]", "a.b,c|d a.b,c|d"),
        ("${many:text} ${one:text}", "A + C Web 1"),
        ("${all:csv}", "x,y"),
        ("${allv:regex} $allv", ".+ .+"),
        ("${many:singlequote} ${many:doublequote}", "'a.b','c|d' \"a.b\",\"c|d\""),
        ("${many:percentencode}", "a.b%2Cc%7Cd"),
        (
            "$__interval $unknown ${unknown:csv} $__timeFilter(t)",
            "30s $unknown ${unknown:csv} $__timeFilter(t)",
        ),
        ("${one}suffix $onesuffix", "web-1suffix $onesuffix"),
    ],
)
def test_syntaxes_and_formats_in_plain_text(template: str, expected: str) -> None:
    assert interpolate_text(template, SCOPE, "text") == expected


def test_promql_default_formats() -> None:
    assert interpolate_text('up{job="$one"}', SCOPE, "promql") == 'up{job="web-1"}'
    assert interpolate_text('up{job=~"$many"}', SCOPE, "promql") == 'up{job=~"(a\\\\.b|c\\\\|d)"}'
    assert interpolate_text('up{job=~"$all"}', SCOPE, "promql") == 'up{job=~"(x|y)"}'
    assert interpolate_text('up{job=~"$allv"}', SCOPE, "promql") == 'up{job=~".+"}'
    assert interpolate_text("rate(x[$__interval])", SCOPE, "promql") == "rate(x[30s])"
    with pytest.raises(InterpolationError):
        interpolate_text("sum by ($many) (up)", SCOPE, "promql")
    # A comment cannot be closed by a value either.
    scope = Scope.from_json({"v": "x\nvector(1)"})
    assert interpolate_text("up # $v", scope, "promql") == "up # x_vector_1_"


def test_sql_default_formats() -> None:
    assert interpolate_text("WHERE h IN ($many)", SCOPE, "sql-postgresql") == "WHERE h IN ('a.b','c|d')"
    assert interpolate_text("WHERE h = '$one'", SCOPE, "sql-postgresql") == "WHERE h = 'web-1'"
    assert interpolate_text("WHERE h = $one", SCOPE, "sql-postgresql") == "WHERE h = 'web-1'"
    scope = Scope.from_json({"t": "metrics", "n": "10", "q": "it's"})
    assert (
        interpolate_text("SELECT * FROM $t LIMIT $n", scope, "sql-mysql") == "SELECT * FROM metrics LIMIT 10"
    )
    assert interpolate_text("SELECT '$q', \"$q\"", scope, "sql-postgresql") == "SELECT 'it''s', \"it's\""
    assert interpolate_text("SELECT E'$q'", scope, "sql-postgresql") == "SELECT E'it''s'"
    back = Scope.from_json({"q": "a\\'b"})
    assert interpolate_text("SELECT '$q'", back, "sql-mysql") == "SELECT 'a\\\\''b'"
    assert interpolate_text("SELECT `$q`", Scope.from_json({"q": "a`b"}), "sql-mysql") == "SELECT `a``b`"
    assert interpolate_text("SELECT 1 /* $q */", Scope.from_json({"q": "*/ DROP"}), "sql-sqlite") == (
        "SELECT 1 /* __ DROP */"
    )


_PROM_VALUE = re.compile(r'^up\{job="((?:[^"\\]|\\.)*)"\}$')


@settings(max_examples=150, deadline=None)
@given(st.text())
def test_no_value_escapes_a_promql_string(value: str) -> None:
    assume(value != "$__all")  # the All marker, not a value
    out = interpolate_text('up{job="$v"}', Scope.from_json({"v": value}), "promql")
    m = _PROM_VALUE.match(out)
    assert m is not None
    assert json.loads('"' + m.group(1) + '"') == value  # decodes back to exactly the value


@settings(max_examples=150, deadline=None)
@given(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")), st.booleans()
)
def test_no_value_escapes_a_sql_literal(value: str, bare: bool) -> None:
    assume(value != "$__all")  # the All marker, not a value
    template = "SELECT $v AS x" if bare else "SELECT '$v' AS x"
    sql = interpolate_text(template, Scope.from_json({"v": value}), "sql-sqlite")
    with sqlite3.connect(":memory:") as c:
        try:
            rows = c.execute(sql).fetchall()
        except sqlite3.OperationalError:
            # Only a bare identifier can fail (no such column): never anything else.
            assert bare and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?", value)
            return
    assert len(rows) == 1
    if not bare or not re.fullmatch(
        r"[A-Za-z_][A-Za-z0-9_$.]*|[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", value
    ):
        assert rows[0][0] == value


def test_all_without_options_matches_everything_in_promql() -> None:
    scope = Scope.from_json({"job": {"value": "$__all", "includeAll": True}})
    assert interpolate_text('up{job=~"$job"}', scope, "promql") == 'up{job=~".*"}'
