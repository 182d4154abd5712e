"""The public surface KubeSpawner 7.1.0 users' code meets (issue 18): the
module-level helpers, start() as a running task, profiles applied by start()."""

import asyncio
import logging

import pytest
from kubernetes_asyncio import client as k8s_client

import kubespawner
from kubespawner import clients, utils

NS = "default"
PROFILES = [
    {"display_name": "Small", "slug": "small", "default": True},
    {"display_name": "Big", "slug": "big", "kubespawner_override": {"image": "big:1"}},
]


def test_version():
    assert kubespawner.__version__ == "7.1.0"


def test_get_k8s_model_takes_api_or_python_field_names():
    toleration = utils.get_k8s_model(k8s_client.V1Toleration, {"key": "a", "tolerationSeconds": 5})
    assert isinstance(toleration, k8s_client.V1Toleration)
    assert toleration.toleration_seconds == 5
    same = utils.get_k8s_model(k8s_client.V1Toleration, toleration)
    assert same == toleration and same is not toleration
    with pytest.raises(ValueError, match="no field 'bogus'"):
        utils.get_k8s_model(k8s_client.V1Toleration, {"bogus": 1})


def test_update_k8s_model_sets_fields_and_logs_overrides(caplog):
    spec = k8s_client.V1PodSpec(containers=[], node_name="a")
    with caplog.at_level(logging.INFO):
        utils.update_k8s_model(
            spec,
            {"nodeName": "b", "hostname": "h"},
            logger=logging.getLogger("t"),
            target_name="pod.spec",
            changes_name="extra_pod_config",
        )
    assert (spec.node_name, spec.hostname) == ("b", "h")
    assert "'pod.spec.node_name' current value: 'a' is overridden with 'b'" in caplog.text
    # a model's unset fields change nothing
    utils.update_k8s_model(spec, k8s_client.V1PodSpec(containers=[], hostname="i"))
    assert (spec.node_name, spec.hostname) == ("b", "i")
    with pytest.raises(AttributeError, match="kubernetes model"):
        utils.update_k8s_model({}, {})


async def test_shared_client_talks_to_the_cluster(sim):
    clients.load_config()
    core = clients.shared_client("CoreV1Api")
    assert clients.shared_client("CoreV1Api") is core
    namespaces = await core.list_namespace()
    assert NS in [n.metadata.name for n in namespaces.items]
    with pytest.raises(ValueError, match="NoSuchApi"):
        clients.shared_client("NoSuchApi")
    await clients.close_shared_apis()


async def test_start_returns_a_running_task_and_progress_can_be_read_first(hub):
    spawner = hub.spawner("tina")
    task = spawner.start()
    assert isinstance(task, asyncio.Task)
    events = [event async for event in spawner.progress()]  # before awaiting start()
    url = await task
    assert url.startswith("http://")
    assert task.done() and isinstance(events, list)
    await spawner.stop()


async def test_start_applies_the_profile_without_jupyterhubs_hook(hub_factory, sim):
    # an admin's own apply_user_options does not disable profile_list
    hub = await hub_factory(profile_list=PROFILES, hub_config={})
    spawner = hub.spawner("uma")
    spawner.apply_user_options = lambda spawner, options: None
    spawner.user_options = {"profile": "big"}
    await spawner.start()
    assert sim.get("pods", "jupyter-uma", NS)["spec"]["containers"][0]["image"] == "big:1"
    await spawner.stop()


async def test_a_subclass_edits_the_v1pod_from_super(hub_factory, sim):
    from kubespawner import KubeSpawner

    class Custom(KubeSpawner):
        async def get_pod_manifest(self):
            pod = await super().get_pod_manifest()
            assert isinstance(pod, k8s_client.V1Pod)
            pod.spec.containers[0].working_dir = "/srv/custom"
            pod.metadata.labels["custom"] = "yes"
            return pod

        def get_pvc_manifest(self):
            pvc = super().get_pvc_manifest()
            assert isinstance(pvc, k8s_client.V1PersistentVolumeClaim)
            pvc.metadata.labels["custom"] = "yes"
            return pvc

    hub = await hub_factory(
        hub_config={"spawner_class": Custom}, storage_pvc_ensure=True, storage_capacity="1Gi"
    )
    spawner = await hub.spawn("vic")
    assert isinstance(spawner, Custom)
    pod = sim.get("pods", "jupyter-vic", NS)
    assert pod["spec"]["containers"][0]["workingDir"] == "/srv/custom"
    assert pod["metadata"]["labels"]["custom"] == "yes"
    assert (
        sim.get("persistentvolumeclaims", "claim-vic", NS)["metadata"]["labels"]["custom"] == "yes"
    )
    await hub.stop("vic")


async def test_a_pvc_without_a_size_fails_the_spawn_naming_the_setting(hub_factory, sim):
    hub = await hub_factory(storage_pvc_ensure=True)
    with pytest.raises(ValueError, match="c.KubeSpawner.storage_capacity"):
        await hub.spawn("wes")
    assert sim.get("pods", "jupyter-wes", NS) is None


def test_invalid_user_options_are_a_value_error_too(hub):
    spawner = hub.spawner("xia")
    with pytest.raises(ValueError, match="does not exist"):
        spawner._get_profile("nope", spawner._get_initialized_profile_list(PROFILES))
    assert (
        spawner._get_profile("", spawner._get_initialized_profile_list(PROFILES))["slug"] == "small"
    )
