"""kubesim's image rules for this deployment: `images.yaml` with the paths
of this machine filled in: ${REPO}, ${HUB_VENV} (the hub images'
virtualenv), ${POD_VENV} (.venv, for the other images); both as pods can
run them (podvenv.py)."""

from pathlib import Path
from string import Template

from .paths import IMAGE_RULES, REPO, VENV


def image_rules_text(
    template: str, repo: Path = REPO, hub_venv: Path = VENV, pod_venv: Path = VENV
) -> str:
    return Template(template).substitute(
        REPO=str(repo), HUB_VENV=str(hub_venv), POD_VENV=str(pod_venv)
    )


def write_image_rules(
    dest: Path, hub_venv: Path = VENV, pod_venv: Path = VENV, template: Path = IMAGE_RULES
) -> Path:
    if not (Path(hub_venv) / "bin" / "jupyterhub").exists():
        raise ValueError(
            f"--hub-venv {hub_venv}: there is no bin/jupyterhub in it; give a virtualenv "
            "with the hub's requirements installed"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    text = image_rules_text(template.read_text(), hub_venv=hub_venv, pod_venv=pod_venv)
    dest.write_text(text)
    return dest
