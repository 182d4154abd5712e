"""The chart's RBAC suite imports its helpers, the chart helpers and the hub
image's helper programs from the source tree."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for folder in (Path(__file__).parent, ROOT / "tests" / "chart", ROOT / "images" / "hub"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
