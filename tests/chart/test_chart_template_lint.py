"""Static rules for the chart's templates (what helm itself does not check)."""

import re

from .chart_helpers import CHART

TEMPLATES = sorted(p for p in (CHART / "templates").rglob("*") if p.is_file())
DEFINE = re.compile(r'{{-?\s*define\s+"([^"]+)"')
COMMENT = re.compile(r"{{-?\s*/\*.*?\*/\s*-?}}", re.S)
# The defines that read .Values as the user gave them, and why.
READ_RAW_VALUES = {
    "jupyterhub.values": "it computes the effective values from them",
    "jupyterhub.checkValues": "refusals name the keys as the user wrote them",
    "jupyterhub.legacyWarnings": "NOTES names the seed-era keys the user wrote",
    "jupyterhub.legacy.warnings": "NOTES names the seed-era keys the user wrote",
    # The effective values are computed with names (e.g. the manual TLS
    # Secret's): reading them here would recurse. None of these keys is a
    # seed-era one.
    "jupyterhub.chartName": "nameOverride, needed to compute the effective values",
    "jupyterhub.prefix": "fullnameOverride, needed to compute the effective values",
    "jupyterhub.names": "hub.existingSecret, beside the names computed from the prefix",
}


def values_readers(text: str):
    """(define name or None for the template's body, line) of each `.Values` read."""
    # comments may name .Values: blank them, keeping the line numbers
    text = COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    current = None
    for number, line in enumerate(text.splitlines(), 1):
        found = DEFINE.search(line)
        if found:
            current = found.group(1)
        if re.search(r"(?<![\w])\$?\.Values\b", line):
            yield current, number


def test_templates_read_the_effective_values_not_dot_values():
    """Every template reads $V (seed-era keys translated), never .Values:
    a template reading .Values would see a seed-era spelling untranslated."""
    offenders = [
        f"{path.relative_to(CHART)}:{number} ({name or 'template body'})"
        for path in TEMPLATES
        for name, number in values_readers(path.read_text())
        if name not in READ_RAW_VALUES
    ]
    assert offenders == [], "read $V instead (see README 'Adding a value')"


def test_the_lint_sees_a_dot_values_read():
    text = '{{- define "jupyterhub.x" -}}\n{{ .Values.hub.image }}\n{{- end }}\n{{ $.Values.a }}'
    assert list(values_readers(text)) == [("jupyterhub.x", 2), ("jupyterhub.x", 4)]
    assert list(values_readers("{{- /*\n.Values is not read here\n*/}}\n{{ .Values.b }}")) == [
        (None, 4)
    ]


def test_templates_with_more_than_two_arguments_name_them():
    """A define taking three or more arguments takes a dict (`.root`,
    `.values`...), not a list read as `index . 2`: named, they cannot be
    passed in the wrong order."""
    offenders = [
        f"{path.relative_to(CHART)}:{number}"
        for path in TEMPLATES
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\bindex \. [2-9]\b", line)
    ]
    assert offenders == []
