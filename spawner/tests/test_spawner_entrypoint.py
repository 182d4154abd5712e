"""How users name the spawner: the entry point and the import paths."""

import ast
import re
import sys
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

from jupyterhub.app import JupyterHub


def test_entry_point_is_registered():
    (ep,) = [ep for ep in entry_points(group="jupyterhub.spawners") if ep.name == "kubernetes"]
    from kubespawner import KubeSpawner

    assert ep.load() is KubeSpawner


def test_jupyterhub_resolves_the_short_name():
    from kubespawner.spawner import KubeSpawner

    assert JupyterHub(spawner_class="kubernetes").spawner_class is KubeSpawner


def test_import_paths_from_the_documentation():
    import kubespawner
    import kubespawner.spawner
    from kubespawner.reflector import PodReflector  # noqa: F401

    assert kubespawner.KubeSpawner is kubespawner.spawner.KubeSpawner
    assert (
        JupyterHub(spawner_class="kubespawner.KubeSpawner").spawner_class is kubespawner.KubeSpawner
    )


PACKAGE = Path(__file__).resolve().parents[1]


def _requirement_name(requirement: str) -> str:
    name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)
    return name.lower().replace("-", "_")


def test_declared_dependencies_are_exactly_the_imported_ones():
    """pip installs what the package imports, and nothing it does not."""
    project = tomllib.loads((PACKAGE / "pyproject.toml").read_text())["project"]
    declared = {_requirement_name(r) for r in project["dependencies"]}
    imported = set()
    for source in (PACKAGE / "kubespawner").glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level:
                imported.add(node.module.split(".")[0])
    third_party = {name for name in imported if name not in sys.stdlib_module_names}
    assert third_party == declared


def test_jupyterhub_floor_has_apply_user_options():
    """Profiles are applied by Spawner.apply_user_options, new in JupyterHub 5.3."""
    project = tomllib.loads((PACKAGE / "pyproject.toml").read_text())["project"]
    (jupyterhub,) = [r for r in project["dependencies"] if _requirement_name(r) == "jupyterhub"]
    floor = re.search(r">=\s*([0-9.]+)", jupyterhub).group(1)
    assert tuple(int(p) for p in floor.split(".")) >= (5, 3)
