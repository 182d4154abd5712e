"""What every Dockerfile promises, read from the files (ci/build-images proves they build).

Base image as an ARG with an upstream default, a source label, a numeric
non-root USER, pinned Python packages that agree with the test environment.
"""

import fnmatch
import re
import subprocess
import sys
from pathlib import Path

import pytest

from localdeploy.paths import HUB_CONFIG_DIR

ROOT = Path(__file__).resolve().parents[2]

IMAGES = {
    "hub": "docker.io/library/python:3.11-slim-bookworm",
    "singleuser-sample": "docker.io/library/python:3.11-slim-bookworm",
    "network-tools": "docker.io/library/debian:bookworm-slim",
}


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def in_package(file: Path, top: Path) -> bool:
    """Inside a Python package (a folder with __init__.py) under `top`, not a cache."""
    if "__pycache__" in file.parts:
        return False
    folder = file.parent
    while folder != top.parent:
        if (folder / "__init__.py").exists():
            return True
        folder = folder.parent
    return False


def final_stage(pairs):
    last_from = max(i for i, (word, _) in enumerate(pairs) if word == "FROM")
    return pairs[last_from:]


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"{path}: {line!r} is not pinned with =="
            found[re.sub(r"[-_.]+", "-", name).lower()] = version
    return found


@pytest.mark.parametrize(("image", "upstream"), IMAGES.items())
def test_base_image_is_a_build_arg_with_an_upstream_default(image, upstream):
    pairs = instructions(ROOT / "images" / image / "Dockerfile")
    assert pairs[0] == ("ARG", f"BASE_IMAGE={upstream}")
    assert all(rest.split()[0] == "${BASE_IMAGE}" for word, rest in pairs if word == "FROM")


@pytest.mark.parametrize("image", IMAGES)
def test_final_stage_is_labelled_and_runs_as_a_numeric_non_root_user(image):
    stage = final_stage(instructions(ROOT / "images" / image / "Dockerfile"))
    labels = " ".join(rest for word, rest in stage if word == "LABEL")
    assert "org.opencontainers.image.source=" in labels
    users = [rest for word, rest in stage if word == "USER"]
    assert users, f"{image}: no USER in the final stage"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and uid != "0", f"{image}: USER {users[-1]}"


def test_hub_image_layout():
    stage = final_stage(instructions(ROOT / "images" / "hub" / "Dockerfile"))
    assert ("USER", "1000") in stage
    assert ("WORKDIR", "/srv/jupyterhub") in stage
    assert ("EXPOSE", "8081") in stage
    assert ("ENTRYPOINT", '["tini", "--"]') in stage
    copies = [rest for word, rest in stage if word == "COPY"]
    # the chart's hub configuration, whole (the local deployment copies the same folder)
    folder = HUB_CONFIG_DIR.relative_to(ROOT)
    assert f"{folder}/ /usr/local/etc/jupyterhub/" in copies


def test_singleuser_image_layout():
    stage = final_stage(instructions(ROOT / "images" / "singleuser-sample" / "Dockerfile"))
    assert ("USER", "1000:100") in stage
    assert ("WORKDIR", "/home/jovyan") in stage
    assert ("EXPOSE", "8888") in stage
    assert ("CMD", '["jupyterhub-singleuser"]') in stage


def test_hub_build_context_holds_what_the_dockerfile_copies():
    """The hub builds from the repository root through Dockerfile.dockerignore."""
    rules = [
        line.strip()
        for line in (ROOT / "images/hub/Dockerfile.dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def sent(path: str) -> bool:
        included = True
        for rule in rules:
            negated = rule.startswith("!")
            pattern = rule.lstrip("!").replace("**", "*").rstrip("/")
            if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(path, pattern + "/*"):
                included = negated
        return included

    pairs = instructions(ROOT / "images" / "hub" / "Dockerfile")
    sources = []
    for word, rest in pairs:
        if word == "COPY" and not rest.startswith("--from"):
            sources += rest.split()[:-1]
    assert sources
    for source in sources:
        path = ROOT / source
        assert path.exists(), f"COPY {source}: missing"
        if path.is_file():
            files = [path]
        else:  # a Python project or package: what pip install needs from it
            tracked = subprocess.run(
                ["git", "ls-files", "--", source],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            files = [ROOT / f for f in tracked if in_package(ROOT / f, path)]
            files += [p for p in [path / "pyproject.toml"] if p.exists()]
        for file in files:
            relative = str(file.relative_to(ROOT))
            assert sent(relative), f"{relative} is copied but Dockerfile.dockerignore leaves it out"
    assert not sent("spawner/tests/test_x.py") and not sent(".venv/bin/python")


# Older than the test environment's, because Debian bookworm's python3 (the
# local base ci/build-images makes) is 3.11.2 and newer releases need more.
OLDER_FOR_PYTHON_3_11_2 = {"soupsieve": "3.0.1"}  # 3.0.2+ need Python >= 3.11.5


@pytest.mark.parametrize("image", ["hub", "singleuser-sample"])
def test_python_packages_are_pinned_as_in_the_test_environment(image):
    mine = pins(ROOT / "images" / image / "requirements.txt")
    tested = {**pins(ROOT / "ci" / "constraints.txt"), **OLDER_FOR_PYTHON_3_11_2}
    differing = {
        name: (version, tested[name])
        for name, version in mine.items()
        if name in tested and tested[name] != version
    }
    assert not differing, f"{image}: versions differ from ci/constraints.txt: {differing}"


def test_hub_requirements_cover_its_direct_needs_and_one_jupyterhub():
    pinned = pins(ROOT / "images/hub/requirements.txt")
    for line in (ROOT / "images/hub/requirements.in").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name = re.split(r"[=<>~!\[ ]", line, maxsplit=1)[0]
            assert re.sub(r"[-_.]+", "-", name).lower() in pinned, f"{name} is not pinned"
    user = pins(ROOT / "images/singleuser-sample/requirements.txt")
    assert pinned["jupyterhub"].split(".")[0] == user["jupyterhub"].split(".")[0]
    for package in ("jupyterlab", "nbgitpuller"):
        assert package in user


def left_out() -> list[str]:
    path = ROOT / "images/hub/requirements-left-out.txt"
    return [
        line.strip() for line in path.read_text().splitlines() if line.strip()[:1] not in ("", "#")
    ]


def test_hub_image_and_local_hub_leave_out_the_same_packages():
    """requirements-left-out.txt: neither pinned for the image, nor pulled in
    by pip there (--no-deps), nor in .venv, which the local deployment's hub
    runs from; JupyterHub imports without them."""
    from importlib.metadata import PackageNotFoundError, distribution

    names = left_out()
    assert "rfc3987-syntax" in names
    pinned = pins(ROOT / "images/hub/requirements.txt")
    installs = [
        args
        for word, args in instructions(ROOT / "images/hub/Dockerfile")
        if word == "RUN" and "-r /tmp/requirements.txt" in args
    ]
    assert installs and all("--no-deps" in args for args in installs)
    for name in names:
        assert name not in pinned, f"images/hub/requirements.txt pins {name}, which it leaves out"
        with pytest.raises(PackageNotFoundError):
            distribution(name)  # ci/setup uninstalls it from .venv
    subprocess.run([sys.executable, "-c", "import jupyterhub.app"], check=True)
