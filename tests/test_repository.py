"""Checks on the repository itself: the tooling ci/setup installs is there."""

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_helm_3_and_4_are_installed():
    out3 = subprocess.run(
        [ROOT / ".bin/helm", "version", "--short"], capture_output=True, text=True
    )
    out4 = subprocess.run(
        [ROOT / ".bin/helm4/helm", "version", "--short"], capture_output=True, text=True
    )
    assert out3.stdout.startswith("v3."), out3
    assert out4.stdout.startswith("v4."), out4


def test_configurable_http_proxy_is_installed():
    chp = ROOT / "node_modules/.bin/configurable-http-proxy"
    out = subprocess.run([chp, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip().count(".") == 2


def test_packages_import_from_the_repository():
    import kubesim
    import kubespawner

    assert Path(kubesim.__file__).is_relative_to(ROOT / "kubesim")
    assert Path(kubespawner.__file__).is_relative_to(ROOT / "spawner")
    assert shutil.which("python", path=str(ROOT / ".venv/bin"))
