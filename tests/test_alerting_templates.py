"""Annotation templates: Go-template subset with $labels, $values and $value."""

from __future__ import annotations

import pytest

from vigil.alerting.template import CaptureValue, TemplateError, check, humanize, printf, render

V = {
    "$labels": {"instance": "db-1", "severity": "warning"},
    "$values": {"B": CaptureValue(93.5, {"instance": "db-1"}), "C": CaptureValue(1.0)},
    "$value": "[ var='B' labels={instance=db-1} value=93.5 ]",
}


def test_labels_values_and_value_expand():
    text = "Disk on {{ $labels.instance }} is {{ $values.B }}% ({{ $values.B.Value }}); {{ $value }}"
    assert render(text, V) == "Disk on db-1 is 93.5% (93.5); [ var='B' labels={instance=db-1} value=93.5 ]"
    assert render("{{ $values.C }}", V) == "1"
    assert render("{{ $labels.missing }}", V) == "<no value>"


def test_functions_pipelines_and_conditions():
    assert render('{{ printf "%.1f" $values.B.Value }}', V) == "93.5"
    assert render("{{ $labels.severity | toUpper }}", V) == "WARNING"
    assert render('{{ index $labels "instance" }}', V) == "db-1"
    cond = (
        "{{ if gt $values.B.Value 95.0 }}crit{{ else if gt $values.B.Value 90.0 }}warn{{ else }}ok{{ end }}"
    )
    assert render(cond, V) == "warn"
    assert (
        render("{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}", V)
        == "instance=db-1;severity=warning;"
    )
    assert render("a {{- /* note */ -}} b", V) == "ab"
    assert render("{{ with $labels.instance }}[{{ . }}]{{ end }}", V) == "[db-1]"


def test_humanize_and_printf_match_prometheus_style():
    assert humanize(1234567) == "1.235M"
    assert humanize(0.0012) == "1.2m"
    assert printf("%d items, %s", 3.0, "ok") == "3 items, ok"


def test_bad_templates_fail_checking_and_render_an_error_text():
    for bad in ("{{ nosuchfunc }}", "{{ if $labels.x }}unclosed", "{{ end }}", "{{ $labels.x | }}"):
        with pytest.raises(TemplateError):
            check(bad)
    assert render("{{ nosuchfunc }}", V, name="summary").startswith("[error executing template summary:")
    assert render("{{ $nope }}", V, name="x") == "[error executing template x: undefined variable: $nope]"
