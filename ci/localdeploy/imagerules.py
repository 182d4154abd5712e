"""kubesim's image rules for this deployment: `images.yaml` with the paths
of this machine filled in: ${REPO}, ${HUB_VENV} (the hub images'
virtualenv), ${POD_VENV} (.venv, for the other images); both as pods can
run them (podvenv.py)."""

from pathlib import Path
from string import Template

import yaml

from .paths import IMAGE_RULES, REPO, VENV


def image_rules_text(
    template: str, repo: Path = REPO, hub_venv: Path = VENV, pod_venv: Path = VENV
) -> str:
    return Template(template).substitute(
        REPO=str(repo), HUB_VENV=str(hub_venv), POD_VENV=str(pod_venv)
    )


def write_image_rules(
    dest: Path,
    hub_venv: Path = VENV,
    pod_venv: Path = VENV,
    template: Path = IMAGE_RULES,
    paused: tuple[str, ...] = (),
) -> Path:
    """The rules file; images in `paused` run without a process (kubesim's
    `pause` rule: users' pods in benchmarks)."""
    if not (Path(hub_venv) / "bin" / "jupyterhub").exists():
        raise ValueError(
            f"--hub-venv {hub_venv}: there is no bin/jupyterhub in it; give a virtualenv "
            "with the hub's requirements installed"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    text = image_rules_text(template.read_text(), hub_venv=hub_venv, pod_venv=pod_venv)
    pauses = [{"image": image, "pause": True} for image in paused]
    dest.write_text((yaml.safe_dump(pauses) if pauses else "") + text)
    return dest
