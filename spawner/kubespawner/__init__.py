"""JupyterHub spawner that runs each user's server as a Kubernetes pod."""

from .spawner import KubeSpawner

__all__ = ["KubeSpawner"]
