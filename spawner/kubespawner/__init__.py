"""JupyterHub spawner that runs each user's server as a Kubernetes pod."""

from ._version import __version__
from .spawner import KubeSpawner

__all__ = ["KubeSpawner", "__version__"]
