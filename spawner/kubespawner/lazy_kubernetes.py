"""kubernetes_asyncio's generated classes, imported when first used.

``import kubernetes_asyncio`` (or any of its submodules) runs the package's
``__init__``, which imports all of its 767 generated models and 65 API
classes: about 34 MiB of the hub's memory and a second of its start-up. Our
spawner talks to the API in JSON through one ``ApiClient``; the models are
needed only by users' code (``modify_pod_hook``, subclasses calling
``get_pod_manifest``) and ``kubespawner.objects``.

``install()`` puts a finder in front of the import system for the four
packages whose ``__init__`` only re-exports (``kubernetes_asyncio``,
``.client``, ``.client.models``, ``.client.api``). Each is created with its
real path, spec and ``__all__``, but a name is imported from its module on
first access (PEP 562 ``__getattr__``), so ``from kubernetes_asyncio.client
import V1Pod``, ``kubernetes_asyncio.client.models.V1Pod``, the
``ApiClient``'s deserializer, ``dir()`` and ``import *`` all give the same
objects as before. A package whose ``__init__`` does anything but imports
and literal assignments (another version of the library) is imported as
usual: the finder reads the file before deciding.
"""

from __future__ import annotations

import ast
import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType

LAZY_PACKAGES = frozenset(
    {
        "kubernetes_asyncio",
        "kubernetes_asyncio.client",
        "kubernetes_asyncio.client.models",
        "kubernetes_asyncio.client.api",
    }
)


def read_exports(source: str) -> tuple[dict[str, tuple[str, str | None]], dict] | None:
    """What a package ``__init__`` binds: ``{name: (module, attribute)}``
    (attribute None for ``import a.b as name``) and its literal assignments;
    None when it does anything else, so it must run as written."""
    exports: dict[str, tuple[str, str | None]] = {}
    constants: dict = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            if node.module == "__future__":
                continue
            for alias in node.names:
                if alias.name == "*":
                    return None
                exports[alias.asname or alias.name] = (node.module, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname is None:  # binds the top package: keep it simple
                    return None
                exports[alias.asname] = (alias.name, None)
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            try:
                constants[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                return None
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        else:
            return None
    return exports, constants


def _resolve(module_name: str, attribute: str | None):
    module = importlib.import_module(module_name)
    if attribute is None:
        return module
    try:
        return getattr(module, attribute)
    except AttributeError:
        # ``from package import submodule`` of a submodule not imported yet
        return importlib.import_module(f"{module_name}.{attribute}")


class _LazyPackageLoader(importlib.abc.Loader):
    def __init__(self, exports: dict, constants: dict):
        self.exports = exports
        self.constants = constants

    def create_module(self, spec):
        return None  # the default module object

    def exec_module(self, module: ModuleType) -> None:
        exports = dict(self.exports)
        # the eager import also binds each submodule it imports from
        # (``client.models``, ``client.rest``): so does this, on access
        prefix = module.__name__ + "."
        for module_name, _ in self.exports.values():
            if module_name.startswith(prefix):
                child = module_name[len(prefix) :].split(".")[0]
                exports.setdefault(child, (prefix + child, None))
        namespace = module.__dict__
        namespace.update(self.constants)

        def __getattr__(name: str):
            try:
                module_name, attribute = exports[name]
            except KeyError:
                raise AttributeError(
                    f"module {module.__name__!r} has no attribute {name!r}"
                ) from None
            value = _resolve(module_name, attribute)
            namespace[name] = value  # later lookups skip __getattr__
            return value

        def __dir__():
            return sorted(set(namespace) | set(exports))

        namespace["__getattr__"] = __getattr__
        namespace["__dir__"] = __dir__


class _LazyPackageFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname not in LAZY_PACKAGES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not spec.origin or spec.submodule_search_locations is None:
            return None
        try:
            with open(spec.origin, encoding="utf-8") as f:
                found = read_exports(f.read())
        except (OSError, SyntaxError, UnicodeDecodeError):
            return None
        if found is None:
            return None  # not a pure re-export: the normal import runs it
        spec.loader = _LazyPackageLoader(*found)
        return spec


_FINDER = _LazyPackageFinder()


def install() -> None:
    """Make the next import of the packages lazy (idempotent; packages
    already imported stay as they are)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
