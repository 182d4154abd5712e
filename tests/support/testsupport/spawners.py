"""A spawner built outside a running hub: the stub of JupyterHub's `User`
(only what a spawner reads), a config-only `KubeSpawner` for tests of the
traits and the pure builders, and the real `kubespawner.KubeSpawner`."""

from jupyterhub import orm
from jupyterhub.objects import Hub
from jupyterhub.spawner import Spawner
from traitlets.config import Config

import kubespawner
from kubespawner.config import KubeSpawnerConfig


class StubUser:
    """The parts of JupyterHub's User a spawner reads."""

    def __init__(self, name: str = "alice", id: int = 7):
        self.name, self.id, self.escaped_name = name, id, name
        self.url = f"/user/{name}/"
        self.groups = []
        self.spawners = {}


class KubeSpawner(KubeSpawnerConfig, Spawner):
    """The configuration mixin without the Kubernetes I/O, named like the real
    class so that `c.KubeSpawner` config applies to it."""

    async def start(self):
        raise NotImplementedError("a config-only spawner does not start servers")

    async def stop(self, now=False):
        raise NotImplementedError("a config-only spawner does not stop servers")

    async def poll(self):
        raise NotImplementedError("a config-only spawner has no server to poll")


ConfigOnlyKubeSpawner = KubeSpawner


def config_of(config: Config | None = None, **traits) -> Config:
    """`config` (or an empty one) with `traits` set under `c.KubeSpawner`."""
    config = config if config is not None else Config()
    for key, value in traits.items():
        config.KubeSpawner[key] = value
    return config


def _build(cls, config, server, user, traits):
    return cls(
        user=user if isinstance(user, StubUser) else StubUser(user),
        hub=Hub(),
        config=config_of(config, **traits),
        orm_spawner=orm.Spawner(name=server),
    )


def config_only_spawner(config=None, server: str = "", user="alice", **traits) -> KubeSpawner:
    """A config-only spawner of `user` (a name or a StubUser) for `server`."""
    return _build(KubeSpawner, config, server, user, traits)


def real_spawner(config=None, server: str = "", user="alice", **traits) -> kubespawner.KubeSpawner:
    """The real spawner (its reflectors start on first use, not here)."""
    return _build(kubespawner.KubeSpawner, config, server, user, traits)
