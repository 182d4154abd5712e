"""The in-cluster path for a locally run pod: Kubernetes clients read the
service-account token and CA from a fixed path
(/var/run/secrets/kubernetes.io/serviceaccount) and find the API server
through KUBERNETES_SERVICE_HOST/PORT. We run the process in a private mount
namespace (`unshare --mount`, we are root) with the pod's own token folder
bind-mounted on that path, so no file on this machine's real path changes
and two deployments never see each other's token."""

import shutil
import subprocess
from pathlib import Path

from .volumes import SERVICE_ACCOUNT_DIR

_BIND_AND_EXEC = 'mkdir -p "$1" && mount --bind "$2" "$1" && shift 2 && exec "$@"'


def mount_namespaces_work() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True)
    return probe.returncode == 0


def in_cluster_argv(argv: list[str], token_dir: Path) -> list[str]:
    """`argv` run with `token_dir` mounted where in-cluster clients look.
    The mount point is created on the real filesystem if missing (an empty
    directory); the bind mount itself exists only inside the namespace."""
    return [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        _BIND_AND_EXEC,
        "in-cluster",
        SERVICE_ACCOUNT_DIR,
        str(token_dir),
        *argv,
    ]
