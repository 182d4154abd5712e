"""Fixtures: values files rendered once per session, hub config loaded from them."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from .hubenv import VALUES, hub_pod, load_hub_config, materialise, render


@pytest.fixture(scope="session")
def renderer():
    """Real `helm template` of chart/."""
    return render


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


class HubSetups:
    """hub_setups("a.yaml", "b.yaml") -> HubSetup, each combination rendered once."""

    def __init__(self, renderer, tmp_path_factory):
        self._renderer = renderer
        self._tmp = tmp_path_factory
        self._cache = {}

    @staticmethod
    def _files(names):
        """Values files by name (in values/) or path; also the cache key."""
        return tuple(str(VALUES / n) if "/" not in str(n) else str(n) for n in names)

    def __call__(self, *names):
        files = self._files(names)
        if files not in self._cache:
            self._cache[files] = HubSetup(self._renderer(files), self._tmp)
        return self._cache[files]

    def prerender(self, *single_files):
        """Render many values files at once (helm runs beside itself)."""
        todo = [f for f in {self._files([f]) for f in single_files} if f not in self._cache]
        with ThreadPoolExecutor(max_workers=4) as pool:
            for files, manifests in zip(todo, pool.map(self._renderer, todo), strict=True):
                self._cache[files] = HubSetup(manifests, self._tmp)


@pytest.fixture(scope="session")
def hub_setup(renderer, tmp_path_factory):
    return HubSetups(renderer, tmp_path_factory)
