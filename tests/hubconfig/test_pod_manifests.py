"""From each values file to the pod and PVC our spawner would create.

The loaded hub config goes into the real `kubespawner.KubeSpawner`, whose
manifests must be valid Kubernetes objects (kubernetes-validate, strict)
carrying what the values asked for.
"""

import kubernetes_validate
import pytest

from testsupport.spawners import real_spawner

from .hubenv import REPO, VALUES

K8S_VERSION = "1.30.0"
FILES = [
    *sorted(VALUES.glob("*.yaml")),
    *sorted((REPO / "tests" / "chart" / "values").rglob("*.yaml")),
    REPO / "dev-config.yaml",
]


def valid(manifest):
    kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)
    return manifest


@pytest.mark.parametrize("values_file", FILES, ids=lambda p: str(p.relative_to(REPO)))
async def test_manifests_are_valid(hub_setup, values_file):
    hub_setup.prerender(*FILES)
    setup = hub_setup(values_file)
    spawner = real_spawner(setup.config)
    pod = valid(await spawner.build_pod_manifest())
    assert pod["metadata"]["namespace"] == setup.pod.env["POD_NAMESPACE"]
    labels = pod["metadata"]["labels"]
    assert labels["app.kubernetes.io/component"] == "singleuser-server"
    assert labels["app.kubernetes.io/instance"] == setup.pod.values["Release"]["Name"]
    if setup.config.KubeSpawner.get("storage_pvc_ensure"):
        valid(spawner.build_pvc_manifest())


async def test_maximal_singleuser_pod(hub_setup):
    setup = hub_setup("singleuser.yaml")
    spawner = real_spawner(setup.config)
    pod = await spawner.build_pod_manifest()
    spec = pod["spec"]
    notebook = spec["containers"][0]
    assert notebook["image"] == "registry.example.org/team/notebook:2024.1"
    assert notebook["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert [c["name"] for c in spec["initContainers"]] == ["block-cloud-metadata", "init-home"]
    # singleuser.networkTools.resources
    assert spec["initContainers"][0]["resources"] == {"limits": {"memory": "64Mi"}}
    assert spec["schedulerName"] == setup.config.KubeSpawner.scheduler_name
    assert spec["priorityClassName"].endswith("-default-priority")
    assert spec["serviceAccountName"] == "notebook-sa"
    assert {s["name"] for s in spec["imagePullSecrets"]} >= {"image-pull-secret", "tools-pull"}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["files"]["secret"]["secretName"] == "singleuser"
    assert "home-alice" in str(volumes)  # the per-user claim, templated
    env = {e["name"]: e for e in notebook["env"]}
    assert env["EDITOR"]["value"] == "vim"
    assert env["POD_IP"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    pvc = spawner.build_pvc_manifest()
    assert pvc["spec"]["storageClassName"] == "ssd"
    assert pvc["spec"]["resources"]["requests"]["storage"] == "2Gi"
    assert pvc["metadata"]["labels"]["backup"] == "daily"
