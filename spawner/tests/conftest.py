"""Fixtures for the spawner suites: a kubesim cluster and clean shared state.

The spawner keeps one API client and one set of reflectors per event loop;
every test gets its own loop, so they are closed after each test here.
"""

import logging
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from kubespawner.clients import ApiSettings, close_shared_apis, shared_api
from kubespawner.reflector import stop_shared_reflectors


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "kubesim(**options): options for the `sim` fixture's KubeSim"
    )


@pytest.fixture
async def sim(kubesim_factory, monkeypatch, request):
    """A one-node kubesim (pause runtime unless @pytest.mark.kubesim says
    otherwise); the spawner finds it through $KUBECONFIG like any kubeconfig
    user."""
    options = {"nodes": 1, "runtime": "pause"}
    marker = request.node.get_closest_marker("kubesim")
    if marker:
        options.update(marker.kwargs)
    cluster = await kubesim_factory(**options)
    monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig_path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    yield cluster
    await stop_shared_reflectors()
    await close_shared_apis()


@pytest.fixture
async def api(sim):
    """The spawner's raw-JSON client for the kubesim cluster."""
    return await shared_api(ApiSettings(request_timeout=5))


# ---- a real JupyterHub around the spawner ----------------------------------


class Hub:
    """A JupyterHub app (JupyterHub's own MockHub: real database, users,
    tokens, OAuth clients), initialized but not serving HTTP, whose spawner
    is KubeSpawner talking to kubesim. Servers start and stop through
    `User.spawn` / `User.stop`, exactly as the hub's handlers call them.

    The pause runtime's pods serve no HTTP, so for them the hub's final
    "is the server answering" check (`User._wait_up`) is skipped; tests on
    the process runtime keep it (`wait_up=True`).
    """

    def __init__(self, app, wait_up: bool):
        self.app = app
        self.wait_up = wait_up

    @property
    def db(self):
        return self.app.db

    def user(self, name: str):
        from jupyterhub.tests.utils import add_user

        return add_user(self.app.db, self.app, name=name)

    def spawner(self, name: str, server_name: str = ""):
        return self.user(name).get_or_create_spawner(server_name, server_name)

    async def spawn(self, name: str, server_name: str = "", options=None):
        """User.spawn; returns the spawner."""
        user = self.user(name)
        await user.spawn(server_name, options=options)
        return user.spawners[server_name]

    async def stop(self, name: str, server_name: str = ""):
        await self.user(name).stop(server_name)


async def _no_http_check(self, spawner):
    """User._wait_up for pause-runtime pods, which serve no HTTP."""
    spawner._waiting_for_response = False
    spawner._start_pending = False
    return spawner


@pytest.fixture
def hub_db_url(tmp_path):
    """The hub database: a file, so a 'restarted' hub can open it again; on
    tmpfs when there is one, because every hub commit is an fsync."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        directory = Path(tempfile.mkdtemp(prefix="kubespawner-hub-", dir=shm))
    else:
        directory = tmp_path
    yield f"sqlite:///{directory / 'jupyterhub.sqlite'}"
    if directory != tmp_path:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
async def hub_factory(sim, hub_db_url, monkeypatch, tmp_path):
    """make_hub(**KubeSpawner_config) -> Hub; several calls on one database
    model a hub restart (the earlier app is simply dropped, like a killed
    process, without stopping its servers)."""
    from jupyterhub.tests.mocking import MockHub
    from jupyterhub.user import User
    from traitlets.config import Config

    from kubespawner import KubeSpawner

    monkeypatch.setenv("JUPYTERHUB_TEST_DB_URL", hub_db_url)
    monkeypatch.chdir(tmp_path)
    apps = []

    async def make_hub(wait_up=False, hub_config=None, **spawner_config):
        if not wait_up:
            monkeypatch.setattr(User, "_wait_up", _no_http_check)
        config = Config()
        config.JupyterHub.spawner_class = KubeSpawner
        config.JupyterHub.cleanup_servers = False
        for key, value in (hub_config or {}).items():
            setattr(config.JupyterHub, key, value)
        config.KubeSpawner.namespace = "default"
        config.KubeSpawner.image = "pause:3.9"
        config.KubeSpawner.start_timeout = 30
        config.KubeSpawner.events_enabled = True
        for key, value in spawner_config.items():
            setattr(config.KubeSpawner, key, value)
        app = MockHub(config=config, test_clean_db=not apps)
        await app.initialize([])
        apps.append(app)
        return Hub(app, wait_up)

    yield make_hub
    for app in apps:
        app.db.close()
        app.db_file.close()


@pytest.fixture
async def hub(hub_factory):
    return await hub_factory()


# ---- what a spawner logs ---------------------------------------------------


class Warnings(logging.Handler):
    """A spawner's warnings (its logger need not propagate to warnings)."""

    def __init__(self, spawner):
        super().__init__(logging.WARNING)
        self.messages = []
        self.logger = spawner.log
        self.logger.addHandler(self)

    def emit(self, record):
        self.messages.append(record.getMessage())

    @property
    def text(self):
        return "\n".join(self.messages)


@pytest.fixture
def warnings_of():
    """warnings_of(spawner) -> Warnings, detached after the test."""
    made = []
    yield lambda spawner: made.append(Warnings(spawner)) or made[-1]
    for handler in made:
        handler.logger.removeHandler(handler)
