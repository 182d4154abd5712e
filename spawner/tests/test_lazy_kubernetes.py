"""kubespawner.lazy_kubernetes: kubernetes_asyncio's generated classes load on
first use, and every name the packages export is still there and the same.

Each check runs in a fresh interpreter: in this one the packages are already
imported."""

import json
import subprocess
import sys
import textwrap

import pytest

from kubespawner.lazy_kubernetes import LAZY_PACKAGES, read_exports


def run_python(code: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


# what each package exports, as "module:qualname" of each object (or the
# module's name), for every name dir() lists
EXPORTS = (
    f"PACKAGES = {sorted(LAZY_PACKAGES)!r}\n"
    + """
import importlib, json
def describe(value):
    if hasattr(value, "__qualname__"):
        return f"{value.__module__}:{value.__qualname__}"
    return getattr(value, "__name__", repr(value))
packages = {}
for name in sorted(PACKAGES):
    package = importlib.import_module(name)
    packages[name] = {
        attr: describe(getattr(package, attr))
        for attr in dir(package)
        if not attr.startswith("_") and attr != "absolute_import"
    }
    packages[name]["__all__"] = sorted(package.__all__)
    packages[name]["__version__"] = getattr(package, "__version__", None)
print(json.dumps(packages))
"""
)


def test_importing_kubespawner_loads_no_generated_model_or_api_class():
    loaded = run_python(
        """
        import json, sys
        import kubespawner, kubespawner.objects
        from kubernetes_asyncio.client.exceptions import ApiException
        print(json.dumps(sorted(m for m in sys.modules if m.startswith("kubernetes_asyncio"))))
        """
    )
    generated = [
        m
        for m in loaded
        if m.startswith(("kubernetes_asyncio.client.models.", "kubernetes_asyncio.client.api."))
    ]
    # the few that kubespawner.objects and the manifests name, of 767 models
    assert 0 < len(generated) < 10, generated
    assert not [m for m in generated if ".api." in m], generated


def test_every_exported_name_is_the_same_object_as_with_the_eager_import():
    eager = run_python(EXPORTS)
    lazy = run_python("import kubespawner\n" + EXPORTS)
    for package in sorted(LAZY_PACKAGES):
        assert lazy[package] == eager[package], package
    assert len(lazy["kubernetes_asyncio.client.models"]) > 700  # the check saw them all


def test_star_import_and_the_api_clients_deserializer_find_the_models():
    found = run_python(
        """
        import json, kubespawner
        namespace = {}
        exec("from kubernetes_asyncio.client import *", namespace)
        from kubernetes_asyncio.client import ApiClient, V1Pod
        from kubespawner import models
        pod = models.to_upstream_model(
            {"metadata": {"name": "jupyter-alex"},
             "spec": {"containers": [{"name": "notebook", "image": "i",
                                      "resources": {"limits": {"cpu": "1"}}}]}},
            "V1Pod",
        )
        print(json.dumps({
            "star": "V1PersistentVolumeClaim" in namespace and "CoreV1Api" in namespace,
            "pod": type(pod) is V1Pod,
            "container": type(pod.spec.containers[0]).__name__,
            "limits": pod.spec.containers[0].resources.limits,
        }))
        """
    )
    assert found == {"star": True, "pod": True, "container": "V1Container", "limits": {"cpu": "1"}}


def test_a_missing_name_raises_attribute_error_naming_it():
    found = run_python(
        """
        import json, kubespawner, kubernetes_asyncio.client as client
        try:
            client.V1NoSuchThing
        except AttributeError as e:
            print(json.dumps(str(e)))
        """
    )
    assert found == "module 'kubernetes_asyncio.client' has no attribute 'V1NoSuchThing'"


def test_an_init_that_does_more_than_re_export_runs_as_written():
    assert read_exports("from a.b import C\n__all__ = ['C']\n") == (
        {"C": ("a.b", "C")},
        {"__all__": ["C"]},
    )
    assert read_exports("import a.b as b\n") == ({"b": ("a.b", None)}, {})
    for source in (
        "from a import C\nC.setup()\n",  # a call
        "from a import *\n",
        "import a.b\n",  # binds the top package
        "from . import c\n",  # relative
        "x = compute()\n",  # not a literal
        "def f():\n    pass\n",
    ):
        assert read_exports(source) is None, source


@pytest.mark.parametrize("package", sorted(LAZY_PACKAGES))
def test_the_installed_librarys_packages_are_pure_re_exports(package):
    """If a new kubernetes_asyncio grows code in one of these __init__s, the
    finder imports it eagerly (safe, but the memory is back): fail here so we
    notice."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    with open(spec.origin, encoding="utf-8") as f:
        assert read_exports(f.read()) is not None
