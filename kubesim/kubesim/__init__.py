"""kubesim: a Kubernetes API server and node simulator in one Python process."""
