"""Checks on the repository itself: the tooling ci/setup installs is there."""

import ast
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_helm_3_and_4_are_installed():
    out3 = subprocess.run(
        [ROOT / ".bin/helm", "version", "--short"], capture_output=True, text=True
    )
    out4 = subprocess.run(
        [ROOT / ".bin/helm4/helm", "version", "--short"], capture_output=True, text=True
    )
    assert out3.stdout.startswith("v3."), out3
    assert out4.stdout.startswith("v4."), out4


def test_configurable_http_proxy_is_installed():
    chp = ROOT / "node_modules/.bin/configurable-http-proxy"
    out = subprocess.run([chp, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip().count(".") == 2


def test_packages_import_from_the_repository():
    import kubesim
    import kubespawner

    assert Path(kubesim.__file__).is_relative_to(ROOT / "kubesim")
    assert Path(kubespawner.__file__).is_relative_to(ROOT / "spawner")
    assert shutil.which("python", path=str(ROOT / ".venv/bin"))


def test_ci_and_test_support_packages_are_installed_from_the_repository():
    import bench
    import localdeploy
    import testsupport

    assert Path(localdeploy.__file__).is_relative_to(ROOT / "ci" / "localdeploy")
    assert Path(bench.__file__).is_relative_to(ROOT / "ci" / "bench")
    assert Path(testsupport.__file__).is_relative_to(ROOT / "tests" / "support")


# Every module is imported as an installed package (ci/setup) or relative to
# its own test package, never by editing sys.path. A file that really needs
# it (say, a worker run by another virtualenv's python) is listed here with
# the reason.
SYS_PATH_ALLOWED = {
    "tests/hubconfig/hubenv.py": "puts sys.path back after loading the hub's "
    "jupyterhub_config.py, which adds its own folder as it does in the hub pod",
    "tests/hubconfig/data/older-hub-image/jupyterhub_config.py": "test data: an older "
    "hub image's config file, kept as it was (test_hub_image_drift.py)",
}
SYS_PATH_EDITS = {"insert", "append", "extend"}


def sys_path_edits(source: str) -> list[int]:
    """Lines that change sys.path: sys.path.insert/append/extend(...),
    site.addsitedir(...), or an assignment to sys.path or a slice of it."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target, name = ast.unparse(node.func.value), node.func.attr
            if (target == "sys.path" and name in SYS_PATH_EDITS) or (
                target == "site" and name == "addsitedir"
            ):
                lines.append(node.lineno)
        elif isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if ast.unparse(t.value if isinstance(t, ast.Subscript) else t) == "sys.path":
                    lines.append(node.lineno)
    return sorted(lines)


def test_the_sys_path_check_finds_each_kind_of_edit():
    source = (
        "import sys, site\n"
        "sys.path.insert(0, 'a')\n"
        "sys.path.append('b')\n"
        "site.addsitedir('c')\n"
        "sys.path[:0] = ['d']\n"
        "sys.path += ['e']\n"
        "print(sys.path)\n"
    )
    assert sys_path_edits(source) == [2, 3, 4, 5, 6]


def python_sources():
    for top in ("tests", "spawner", "kubesim", "ci"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if not {"__pycache__", "node_modules"} & set(path.parts):
                yield path


def test_no_module_edits_sys_path():
    found = {}
    for path in python_sources():
        name = str(path.relative_to(ROOT))
        lines = sys_path_edits(path.read_text())
        if lines and name not in SYS_PATH_ALLOWED:
            found[name] = lines
    assert not found, (
        f"sys.path edited at {found}: install the package (ci/setup) or import it "
        "relative to its test package; a justified exception goes into SYS_PATH_ALLOWED"
    )
