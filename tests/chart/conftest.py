"""Fixtures for the chart tests (helpers live in chart_helpers.py)."""

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .chart_helpers import CHART, HELMS, VALUES_FILES, HelmError, lint, render, values_key


@pytest.fixture(scope="session")
def prerendered():
    """Render and lint every values file with both helms, in parallel."""
    jobs = [(render, (values_key(name), h)) for name in VALUES_FILES for h in HELMS]
    jobs += [(lint, (values_key(name), h)) for name in VALUES_FILES for h in HELMS]

    def run(job):
        fn, args = job
        try:
            fn(*args)
        except HelmError:
            pass  # the test asking for it reports the error

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(run, jobs))
    return VALUES_FILES


@pytest.fixture(scope="session")
def notes_chart(tmp_path_factory) -> Path:
    """A copy of the chart with one extra template that renders NOTES.txt's
    text into a ConfigMap, since `helm template` does not print NOTES."""
    copy = tmp_path_factory.mktemp("notes") / "chart"
    shutil.copytree(CHART, copy)
    (copy / "templates/zz-notes.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\n"
        'data:\n  notes: {{ include "jupyterhub.notes" . | quote }}\n'
    )
    assert 'include "jupyterhub.notes"' in (CHART / "templates/NOTES.txt").read_text()
    return copy


@pytest.fixture(scope="session")
def notes(notes_chart):
    def _notes(values: tuple = (), sets: tuple = ()) -> str:
        r = render(values, sets=sets, chart=notes_chart, show_only="templates/zz-notes.yaml")
        return r.docs[0]["data"]["notes"]

    return _notes
