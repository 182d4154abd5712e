"""The image tests import the hub image's helper programs from the source tree."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HUB_IMAGE_DIR = ROOT / "images" / "hub"

# k8s_helpers is installed into the hub image by its Dockerfile; here it is
# imported from its folder, as the image would run it.
if str(HUB_IMAGE_DIR) not in sys.path:
    sys.path.insert(0, str(HUB_IMAGE_DIR))
