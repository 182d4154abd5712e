"""JupyterHub spawner that runs each user's server as a Kubernetes pod."""
