"""kubesim's image rules for this deployment: `images.yaml` with the paths
of this machine filled in: ${REPO}, ${HUB_VENV} (our hub image's
virtualenv), ${Z2JH_HUB_VENV} (z2jh's hub image's: a release upgraded from
z2jh to ours runs both images, one after the other), ${POD_VENV} (.venv, for
the other images); all as pods can run them (podvenv.py)."""

from pathlib import Path
from string import Template

import yaml

from .paths import IMAGE_RULES, REPO, VENV


def image_rules_text(
    template: str,
    repo: Path = REPO,
    hub_venv: Path = VENV,
    pod_venv: Path = VENV,
    z2jh_hub_venv: Path | None = None,
) -> str:
    return Template(template).substitute(
        REPO=str(repo),
        HUB_VENV=str(hub_venv),
        Z2JH_HUB_VENV=str(z2jh_hub_venv or hub_venv),
        POD_VENV=str(pod_venv),
    )


def write_image_rules(
    dest: Path,
    hub_venv: Path = VENV,
    pod_venv: Path = VENV,
    template: Path = IMAGE_RULES,
    paused: tuple[str, ...] = (),
    z2jh_hub_venv: Path | None = None,
) -> Path:
    """The rules file; images in `paused` run without a process (kubesim's
    `pause` rule: users' pods in benchmarks)."""
    for flag, venv in (("--hub-venv", hub_venv), ("--z2jh-hub-venv", z2jh_hub_venv)):
        if venv is not None and not (Path(venv) / "bin" / "jupyterhub").exists():
            raise ValueError(
                f"{flag} {venv}: there is no bin/jupyterhub in it; give a virtualenv "
                "with the hub's requirements installed"
            )
    dest.parent.mkdir(parents=True, exist_ok=True)
    text = image_rules_text(
        template.read_text(), hub_venv=hub_venv, pod_venv=pod_venv, z2jh_hub_venv=z2jh_hub_venv
    )
    pauses = [{"image": image, "pause": True} for image in paused]
    dest.write_text((yaml.safe_dump(pauses) if pauses else "") + text)
    return dest
