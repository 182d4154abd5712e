"""JupyterHub spawner that runs each user's server as a Kubernetes pod."""

from . import lazy_kubernetes

# before anything imports kubernetes_asyncio: its generated classes load on use
lazy_kubernetes.install()

from ._version import __version__  # noqa: E402
from .spawner import KubeSpawner  # noqa: E402

__all__ = ["KubeSpawner", "__version__"]
