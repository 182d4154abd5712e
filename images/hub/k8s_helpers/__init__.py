"""Small Kubernetes programs the jupyterhub chart runs from the hub image.

- `image_awaiter`: the pre-upgrade hook Job's program; waits until the
  hook-image-puller DaemonSet is ready on every node that can run it.
- `secret_sync`: the autohttps pod's sidecar; keeps traefik's ACME storage
  file in a Secret so certificates survive pod restarts.
"""
