"""z2jh's chart as its release would be: the anchored source with
chartpress's placeholders filled in (`version:` and the `set-by-chartpress`
image tags), copied into a temp folder. The anchor is test data: installed,
never edited."""

import re
import shutil
from pathlib import Path

ANCHORS = Path(__file__).resolve().parents[3] / "shared" / "anchors"


def anchor_chart(version: str) -> Path:
    return ANCHORS / f"zero-to-jupyterhub-k8s-{version}" / "jupyterhub"


def released_chart(version: str, dest: Path) -> Path:
    """A copy of z2jh `version`'s chart as chartpress publishes it."""
    chart = dest / f"z2jh-{version}"
    shutil.rmtree(chart, ignore_errors=True)
    shutil.copytree(anchor_chart(version), chart)
    meta = chart / "Chart.yaml"
    meta.write_text(re.sub(r"(?m)^version: .*$", f"version: {version}", meta.read_text()))
    values = chart / "values.yaml"
    values.write_text(values.read_text().replace('"set-by-chartpress"', f'"{version}"'))
    return chart
