"""How users name the spawner: the entry point and the import paths."""

from importlib.metadata import entry_points

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
