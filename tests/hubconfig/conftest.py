"""Fixtures: values files rendered once per session, hub config loaded from them."""

import sys
from pathlib import Path

import pytest

# --import-mode=importlib: make this folder's helper modules importable.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from hubenv import (  # noqa: E402
    VALUES,
    chart_renders_hub,
    hub_pod,
    load_hub_config,
    materialise,
    render,
    standin_render,
)


@pytest.fixture(scope="session")
def renderer():
    """Real `helm template` once the chart renders its hub objects."""
    return render if chart_renders_hub() else standin_render


class HubSetup:
    """One values combination: rendered once, loadable with variations."""

    def __init__(self, manifests, tmp_path_factory):
        self.manifests = manifests
        self.pod = hub_pod(manifests)
        self._tmp = tmp_path_factory
        self._config = None

    def root(self, **extras):
        return materialise(self.pod, self._tmp.mktemp("z2jh-root"), **extras)

    def load(self, env=None, **extras):
        return load_hub_config(self.root(**extras), {**self.pod.env, **(env or {})})

    @property
    def config(self):
        """The config loaded as the chart renders it (cached)."""
        if self._config is None:
            self._config = self.load()
        return self._config


@pytest.fixture(scope="session")
def hub_setup(renderer, tmp_path_factory):
    """hub_setup("a.yaml", "b.yaml") -> HubSetup, rendered once per session."""
    cache = {}

    def get(*names):
        if names not in cache:
            files = [VALUES / n if "/" not in str(n) else n for n in names]
            cache[names] = HubSetup(renderer(files), tmp_path_factory)
        return cache[names]

    return get
