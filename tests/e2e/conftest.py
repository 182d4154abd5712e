"""Shared set-up of the end-to-end suite: the `localdeploy` machinery (in
ci/) importable, and one deployment for the whole session."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "ci") not in sys.path:
    sys.path.insert(0, str(ROOT / "ci"))
