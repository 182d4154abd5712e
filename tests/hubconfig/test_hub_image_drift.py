"""The hub configuration comes from the chart, not from the hub image.

A custom hub image (`hub.image`) built from an older release still runs this
release's configuration, since the chart mounts its files over the image's;
an image whose programs the configuration cannot use (Zero to JupyterHub's:
upstream kubespawner) stops at start with one line saying so.
"""

import dataclasses
import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from .hubenv import HUB_CONFIG, REPO, load_hub_config, load_shipped_module, materialise

# The config files of our hub image from before containers_inherit_security_context
# (images/hub/ at d9ed87f^, four files at the config root), kept as test data so
# the test needs no git history (CI may clone shallow).
OLD_IMAGE_DIR = Path(__file__).parent / "data" / "older-hub-image"
OLD_IMAGE_FILES = ("jupyterhub_config.py", "z2jh.py", "profile_check.py", "kubespawner_traits.json")


def old_image_files():
    return {name: (OLD_IMAGE_DIR / name).read_text() for name in OLD_IMAGE_FILES}


def test_an_older_images_config_files_lose_to_the_charts(hub_setup, tmp_path):
    setup = hub_setup()
    old = old_image_files()
    today = setup.config
    mounted = setup.pod.mounted
    assert old["jupyterhub_config.py"] != mounted["jupyterhub_config.py"]
    # the old image's files with the chart's mounts over them: today's behaviour
    config = load_hub_config(setup.root(image_files=old), {**setup.pod.env})
    assert config.KubeSpawner.containers_inherit_security_context is True
    assert config == today
    # ... which the mounted code makes: the old files alone behave as before
    values_only = dataclasses.replace(
        setup.pod,
        mounted={k: v for k, v in mounted.items() if k.startswith(("config/", "secret/"))},
    )

    old_root = materialise(values_only, tmp_path / "old", image_files=old)
    old_config = load_hub_config(old_root, setup.pod.env)
    assert "containers_inherit_security_context" not in old_config.KubeSpawner


def test_the_chart_mounts_every_file_of_its_hub_configuration(hub_setup):
    shipped = sorted(
        str(p.relative_to(HUB_CONFIG))
        for p in HUB_CONFIG.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    mounted = hub_setup().pod.mounted
    assert sorted(k for k in mounted if not k.startswith(("config/", "secret/"))) == shipped
    for name in shipped:
        assert mounted[name] == (HUB_CONFIG / name).read_text(), name


def test_the_declared_minimums_are_the_spawners_own():
    """hubconf/requirements.py names our spawner's version and its JupyterHub
    minimum; spawner/pyproject.toml is where they are decided."""
    requirements = load_shipped_module("hubconf/requirements.py", "hub_requirements")
    project = tomllib.loads((REPO / "spawner/pyproject.toml").read_text())["project"]
    assert requirements.KUBESPAWNER == (project["name"], project["version"])
    hub_dependency = next(d for d in project["dependencies"] if d.startswith("jupyterhub"))
    assert hub_dependency == f"jupyterhub>={requirements.JUPYTERHUB[1]}"
    # this environment (the hub image's pins) meets them
    assert requirements.problems() == []


def z2jh_venv(version):
    out = subprocess.run(
        [str(REPO / "ci" / "z2jh-venv"), version], capture_output=True, text=True, timeout=900
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.slow
def test_z2jh_4_4_0s_hub_environment_stops_with_one_line(hub_setup, tmp_path):
    """Zero to JupyterHub 4.4.0's hub image (upstream kubespawner 7.0.0,
    JupyterHub 5.5.0) as hub.image: its real `jupyterhub` exits non-zero with
    one line naming hub.image, what it has and what is needed."""
    venv = z2jh_venv("4.4.0")
    setup = hub_setup()
    root = setup.root()
    out = subprocess.run(
        [f"{venv}/bin/jupyterhub", f"--config={root / 'jupyterhub_config.py'}"],
        env={**os.environ, **setup.pod.env, "Z2JH_CONFIG_ROOT": str(root)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert re.fullmatch(
        r"Hub configuration error: hub\.image cannot run this chart's hub configuration: "
        r"it has jupyterhub-kubespawner 7\.0\.0 instead of this chart's kubespawner >= 7\.1\.0; "
        r"use the chart release's hub image, or build yours FROM it",
        lines[0],
    ), lines[0]
