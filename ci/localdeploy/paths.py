"""Where things live: the repository and the state folder of one deployment."""

import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"
HELM = REPO / ".bin" / "helm"
CHART = REPO / "chart"
DEV_CONFIG = REPO / "dev-config.yaml"
HUB_IMAGE_DIR = REPO / "images" / "hub"
# The files of HUB_IMAGE_DIR the hub image has in its config root (its Dockerfile copies them).
HUB_CONFIG_FILES = (
    "jupyterhub_config.py",
    "z2jh.py",
    "profile_check.py",
    "kubespawner_traits.json",
)
CHP = REPO / "node_modules" / ".bin" / "configurable-http-proxy"
DEFAULT_STATE = REPO / ".state" / "dev"


def tool_path() -> str:
    """PATH for every process we start: our tools first, then the system's."""
    ours = [str(VENV_BIN), str(REPO / "node_modules" / ".bin"), str(REPO / ".bin")]
    return os.pathsep.join(ours + [os.environ.get("PATH", "/usr/bin:/bin")])


@dataclass(frozen=True)
class StateLayout:
    """The state folder. Everything that must survive `ci/dev up` twice (the
    hub database, kubesim's objects and users' PVC data, generated secrets)
    lives here; `ci/dev down --purge` removes it."""

    root: Path

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def kubesim_state(self) -> Path:
        return self.root / "kubesim"

    @property
    def generated_values(self) -> Path:
        return self.root / "generated-values.yaml"

    @property
    def kept_claims(self) -> Path:
        return self.root / "users-claims.yaml"

    @property
    def rendered(self) -> Path:
        return self.root / "rendered.yaml"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def pids(self) -> Path:
        return self.root / "pids"

    @property
    def up_pid(self) -> Path:
        return self.root / "up.pid"

    def pod_dir(self, pod: str) -> Path:
        """A locally run pod's filesystem view: mounts, working dir, token."""
        return self.root / "pods" / pod

    def claim_dir(self, claim: str) -> Path:
        """Data of a PersistentVolumeClaim mounted by a locally run pod."""
        return self.root / "volumes" / claim

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"
