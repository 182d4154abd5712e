"""kubesim's layers and public surface, checked on the import graph (see kubesim/README.md).

    model  <-  api  <-  node, control  <-  harness  <-  kubesim, kubesim.testing

A layer imports only the layers to its left (and itself); `node` and `control`
do not import each other. Code outside kubesim/ imports only the public
surface: `kubesim` and `kubesim.testing`.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "kubesim"
ROOT = PACKAGE.parents[1]
ALLOWED = {
    "model": set(),
    "api": {"model"},
    "node": {"model", "api"},
    "control": {"model", "api"},
    "harness": {"model", "api", "node", "control"},
}
PUBLIC = {"kubesim", "kubesim.testing"}
# top-level modules: the public surface and `python -m kubesim`
TOP_LEVEL = {"__init__.py", "__main__.py", "testing.py"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(path: Path) -> str:
    name = module_name(path)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def imported_modules(path: Path, package: str = "") -> list[tuple[int, str]]:
    """(line, dotted module) of every import in the file, relative ones resolved
    against `package`; `from kubesim.x import y` counts as kubesim.x and kubesim.x.y."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def is_module(dotted: str) -> bool:
    path = PACKAGE.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def layer_of(dotted: str) -> str | None:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else None


def kubesim_imports(path: Path, package: str = ""):
    for line, name in imported_modules(path, package):
        if (name == "kubesim" or name.startswith("kubesim.")) and is_module(name):
            yield line, name


def test_every_module_lives_in_a_layer():
    flat = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in TOP_LEVEL)
    assert flat == [], f"modules beside the layers: {flat}; move each into one of {sorted(ALLOWED)}"
    layers = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
    assert layers == sorted(ALLOWED)


def layer_violations(layer: str, paths) -> list[str]:
    wrong = []
    for path in paths:
        package = package_of(path) if path.is_relative_to(PACKAGE) else f"kubesim.{layer}"
        for line, name in kubesim_imports(path, package):
            target = layer_of(name)
            if target is None and name in PUBLIC:
                target = name  # the package itself or the public surface: never from a layer
            if target is None or target == layer:
                continue
            if target not in ALLOWED[layer]:
                wrong.append(f"{path.name}:{line} imports {name}")
    return wrong


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_a_layer_imports_only_the_layers_below_it(layer):
    wrong = layer_violations(layer, sorted((PACKAGE / layer).glob("*.py")))
    assert wrong == [], (
        f"{layer} may import only {sorted(ALLOWED[layer]) or 'nothing'}:\n" + "\n".join(wrong)
    )


def python_files_outside_kubesim():
    for top in ("tests", "spawner", "ci", "images"):
        for path in sorted((ROOT / top).rglob("*")):
            if not path.is_file() or any(p.startswith(".") for p in path.parts[len(ROOT.parts) :]):
                continue
            if "node_modules" in path.parts or "__pycache__" in path.parts:
                continue
            if path.suffix == ".py":
                yield path
            elif not path.suffix and path.read_bytes()[:40].startswith(b"#!/usr/bin/env python"):
                yield path


def surface_violations(paths) -> list[str]:
    return [
        f"{path}:{line} imports {name}"
        for path in paths
        for line, name in kubesim_imports(path)
        if name not in PUBLIC
    ]


def test_the_rest_of_the_repository_uses_the_public_surface():
    files = list(python_files_outside_kubesim())
    assert any(p.name == "kube-scheduler" for p in files)  # scripts without .py are read too
    wrong = surface_violations(files)
    assert wrong == [], (
        "outside kubesim/ import only `kubesim` or `kubesim.testing`:\n" + "\n".join(wrong)
    )


def test_the_checks_find_what_they_forbid(tmp_path):
    module = tmp_path / "sample.py"
    module.write_text(
        "from kubesim.model.errors import ApiError\n"
        "from kubesim.harness.simulator import KubeSim\n"
        "from ..node import kubelet\n"
        "import kubesim.testing\n"
    )
    assert layer_violations("api", [module]) == [
        "sample.py:2 imports kubesim.harness.simulator",
        "sample.py:3 imports kubesim.node",
        "sample.py:3 imports kubesim.node.kubelet",
        "sample.py:4 imports kubesim.testing",
    ]
    assert [v.split(" imports ")[1] for v in surface_violations([module])] == [
        "kubesim.model.errors",
        "kubesim.harness.simulator",
    ]
