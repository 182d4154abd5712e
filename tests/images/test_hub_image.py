"""The built hub image loads its configuration from what the chart mounts.

Needs the podman-built hub image: ci/build-images runs these tests after its
builds, with HUB_IMAGE set to the image it built (`pytest -m images`); in
the ordinary test run, without HUB_IMAGE, they are skipped.
"""

import importlib.util
import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HUB_IMAGE = os.environ.get("HUB_IMAGE")
CONFIG_ROOT = "/usr/local/etc/jupyterhub"

pytestmark = [
    pytest.mark.images,
    pytest.mark.skipif(not HUB_IMAGE, reason="needs HUB_IMAGE: run by ci/build-images"),
]


def hubenv():
    """The hub-config tests' helpers: render the chart, pick out the hub pod's view."""
    spec = importlib.util.spec_from_file_location("hubenv", ROOT / "tests/hubconfig/hubenv.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Runs inside the image: loads the config as JupyterHub does, reports a few traits.
LOAD_CONFIG = f"""
import json, logging
from traitlets.config.loader import PyFileConfigLoader
from traitlets.utils.importstring import import_item
c = PyFileConfigLoader("jupyterhub_config.py", path="{CONFIG_ROOT}",
                       log=logging.getLogger("JupyterHub")).load_config()
import kubespawner
print(json.dumps({{
    "spawner_class": c.JupyterHub.spawner_class,
    "spawner_resolves": import_item(c.JupyterHub.spawner_class) is kubespawner.KubeSpawner,
    "image": c.KubeSpawner.image,
    "namespace": c.KubeSpawner.namespace,
    "services": [s["name"] for s in c.JupyterHub.services],
    "hub_connect_url": c.JupyterHub.hub_connect_url,
}}))
"""


@pytest.fixture
def mounted(tmp_path):
    """What the chart's default render mounts under the config root (its
    Secret and ConfigMap: values, names, the hub configuration code), as
    podman volumes at the same paths."""
    env_module = hubenv()
    pod = env_module.hub_pod(env_module.render())
    env_module.materialise(pod, tmp_path / "root")
    entries = sorted({path.split("/")[0] for path in pod.mounted})
    volumes = []
    for entry in entries:
        volumes += ["-v", f"{tmp_path / 'root' / entry}:{CONFIG_ROOT}/{entry}:ro"]
    (tmp_path / "env").write_text("".join(f"{k}={v}\n" for k, v in pod.env.items()))
    return tmp_path, pod, volumes


def test_hub_image_loads_the_charts_default_configuration(mounted):
    folder, pod, volumes = mounted
    result = subprocess.run(
        [
            "podman",
            "run",
            "--rm",
            "--network=none",
            "--read-only",
            *volumes,
            "--env-file",
            str(folder / "env"),
            HUB_IMAGE,
            "python",
            "-c",
            LOAD_CONFIG,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    values = pod.values
    image = values["singleuser"]["image"]
    assert loaded["spawner_class"] == "kubespawner.KubeSpawner"
    assert loaded["spawner_resolves"]
    assert loaded["image"] == f"{image['name']}:{image['tag']}"
    assert loaded["namespace"] == pod.env["POD_NAMESPACE"]
    assert "jupyterhub-idle-culler" in loaded["services"]  # cull.enabled is the default
    assert pod.env["HUB_SERVICE_HOST"] in loaded["hub_connect_url"]
