"""chartpress.yaml is valid, and the chart's image references are the ones it manages."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHARTPRESS = ROOT / ".venv-tools" / "bin" / "chartpress"
CONFIG = yaml.safe_load((ROOT / "chartpress.yaml").read_text())
CHART = CONFIG["charts"][0]
IMAGES = CHART["images"]


def values_at(values: dict, dotted: str):
    node = values
    for part in dotted.split("."):
        assert isinstance(node, dict) and part in node, f"{dotted}: no key {part!r}"
        node = node[part]
    return node


def values_paths(image: dict) -> list[str]:
    paths = image["valuesPath"]
    return [paths] if isinstance(paths, str) else paths


def chartpress(*args, cwd=ROOT):
    return subprocess.run(
        [str(CHARTPRESS), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_the_chart_and_its_three_images():
    assert CHART["name"] == "jupyterhub"
    assert CHART["chartPath"] == "chart"
    assert set(IMAGES) == {"hub", "singleuser-sample", "network-tools"}
    assert values_paths(IMAGES["singleuser-sample"]) == ["singleuser.image"]
    assert values_paths(IMAGES["network-tools"]) == ["singleuser.networkTools.image"]
    assert "hub.image" in values_paths(IMAGES["hub"])
    for image in IMAGES.values():
        context = ROOT / image.get("contextPath", ".")
        dockerfile = ROOT / image.get("dockerfilePath", Path(image["contextPath"]) / "Dockerfile")
        assert context.is_dir() and dockerfile.is_file()


def test_values_yaml_names_the_images_chartpress_builds():
    values = yaml.safe_load((ROOT / "chart" / "values.yaml").read_text())
    for name, image in IMAGES.items():
        for path in values_paths(image):
            reference = values_at(values, path)
            assert reference["name"] == CHART["imagePrefix"] + name, path
            assert reference.get("tag"), f"{path}.tag is empty"


def test_list_images_gives_every_image_with_a_development_tag():
    result = chartpress("--list-images")
    assert result.returncode == 0, result.stderr
    listed = result.stdout.split()
    assert sorted(ref.rsplit(":", 1)[0] for ref in listed) == sorted(
        CHART["imagePrefix"] + name for name in IMAGES
    )
    base = CHART["baseVersion"]
    assert all(ref.rsplit(":", 1)[1].startswith(f"{base}.git.") for ref in listed), listed


@pytest.fixture
def repo_copy(tmp_path):
    """What chartpress reads, committed in a scratch repository (it rewrites files)."""
    copy = tmp_path / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "tests")
    for path in ("chart", "images", "spawner"):
        shutil.copytree(ROOT / path, copy / path, ignore=ignore)
    shutil.copy(ROOT / "chartpress.yaml", copy)
    git = [
        "git",
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.org",
        "-c",
        "commit.gpgsign=false",
    ]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=copy, check=True)
    subprocess.run([*git, "add", "."], cwd=copy, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "copy"], cwd=copy, check=True)
    return copy


def test_skip_build_writes_every_images_tag_into_values_yaml(repo_copy):
    listed = chartpress("--list-images", cwd=repo_copy)
    assert listed.returncode == 0, listed.stderr
    tags = dict(ref.rsplit(":", 1) for ref in listed.stdout.split())

    result = chartpress("--skip-build", cwd=repo_copy)
    assert result.returncode == 0, result.stderr

    values = yaml.safe_load((repo_copy / "chart" / "values.yaml").read_text())
    for name, image in IMAGES.items():
        repository = CHART["imagePrefix"] + name
        for path in values_paths(image):
            reference = values_at(values, path)
            assert (reference["name"], reference["tag"]) == (repository, tags[repository]), path
    chart = yaml.safe_load((repo_copy / "chart" / "Chart.yaml").read_text())
    assert chart["version"].startswith(CHART["baseVersion"] + ".git.")
