"""Where things live: the repository and the state folder of one deployment."""

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv"
VENV_BIN = VENV / "bin"
HELM = REPO / ".bin" / "helm"
KUBECTL = REPO / ".bin" / "kubectl"
CHART = REPO / "chart"
DEV_CONFIG = REPO / "dev-config.yaml"
IMAGE_RULES = Path(__file__).with_name("images.yaml")
HUB_IMAGE_DIR = REPO / "images" / "hub"
# The hub configuration, shipped with the chart (its ConfigMap hub mounts it
# over the hub image's config root); the hub image's Dockerfile copies the
# same folder there, and images.yaml gives kubesim the same.
HUB_CONFIG_DIR = CHART / "files" / "hub"


def hub_config_files() -> list[str]:
    """The files of HUB_CONFIG_DIR, relative to it (no byte-code caches)."""
    return sorted(
        str(p.relative_to(HUB_CONFIG_DIR))
        for p in HUB_CONFIG_DIR.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )


def load_shipped_module(relative, name=None):
    """A module of the shipped hub configuration (e.g. "hubconf/profiles.py"),
    loaded fresh from its file under a private name, outside sys.modules."""
    path = HUB_CONFIG_DIR / relative
    spec = importlib.util.spec_from_file_location(name or f"shipped_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DEFAULT_STATE = REPO / ".state" / "dev"
POD_VENVS = REPO / ".state" / "pod-venvs"  # see podvenv.py; shared by all deployments


def tool_path() -> str:
    """PATH for every process we start: our tools first, then the system's."""
    ours = [str(VENV_BIN), str(REPO / "node_modules" / ".bin"), str(REPO / ".bin")]
    return os.pathsep.join(ours + [os.environ.get("PATH", "/usr/bin:/bin")])


@dataclass(frozen=True)
class StateLayout:
    """The state folder. Everything that must survive `ci/dev up` twice lives
    here: kubesim's state (every API object, helm's release Secrets and users'
    claims included, and PV data such as the hub database and users' files);
    `ci/dev down --purge` removes it."""

    root: Path

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def kubesim_state(self) -> Path:
        return self.root / "kubesim"

    @property
    def image_rules(self) -> Path:
        return self.root / "image-rules.yaml"

    @property
    def helm_home(self) -> Path:
        """Helm's cache/config/data folders (not the user's ~/.cache/helm)."""
        return self.root / "helm"

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

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"
