"""kube-root-ca.crt in every namespace, and the pvc-/pv-protection finalizers, over HTTP."""

import json

import pytest
import yaml

from .test_endpointslices import until
from .test_kubectl import KUBECTL, kubectl

pytestmark = pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl not installed (ci/setup)")


async def get_json(sim, *args):
    code, out, _err = await kubectl(sim, "get", *args, "-o", "json", check=False)
    return json.loads(out) if code == 0 else None


async def apply(sim, tmp_path, *manifests):
    path = tmp_path / "objects.yaml"
    path.write_text(yaml.safe_dump_all(manifests))
    await kubectl(sim, "apply", "-f", str(path))


async def test_every_namespace_gets_the_root_ca_and_keeps_it(kubesim_factory, tmp_path):
    sim = await kubesim_factory(nodes=0, https=True)
    ca = sim.ca_path.read_text()
    await apply(
        sim, tmp_path, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}
    )
    await until(sim, lambda: sim.get("configmaps", "kube-root-ca.crt", "team") is not None)
    published = await get_json(sim, "configmap", "kube-root-ca.crt", "-n", "team")
    assert published["data"] == {"ca.crt": ca}
    assert (
        "kubernetes.default.svc"
        in published["metadata"]["annotations"]["kubernetes.io/description"]
    )
    assert (await get_json(sim, "configmap", "kube-root-ca.crt", "-n", "kube-system"))["data"] == {
        "ca.crt": ca
    }
    # deleted or edited, it is put back
    await kubectl(sim, "delete", "configmap", "kube-root-ca.crt", "-n", "team")
    await until(
        sim,
        lambda: (
            (sim.get("configmaps", "kube-root-ca.crt", "team") or {}).get("metadata", {}).get("uid")
            not in (None, published["metadata"]["uid"])
        ),
    )
    await kubectl(
        sim, "patch", "configmap", "kube-root-ca.crt", "-n", "team", "-p", '{"data":{"ca.crt":"x"}}'
    )
    await until(
        sim, lambda: sim.get("configmaps", "kube-root-ca.crt", "team")["data"] == {"ca.crt": ca}
    )


CLAIM = {
    "apiVersion": "v1",
    "kind": "PersistentVolumeClaim",
    "metadata": {"name": "home"},
    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
}
POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "user"},
    "spec": {
        "terminationGracePeriodSeconds": 1,
        "containers": [{"name": "c", "image": "busybox:1.36"}],
        "volumes": [{"name": "home", "persistentVolumeClaim": {"claimName": "home"}}],
    },
}


async def test_a_claim_in_use_waits_for_its_pod(kubesim_factory, tmp_path):
    sim = await kubesim_factory(nodes=1)
    await apply(sim, tmp_path, CLAIM, POD)
    await kubectl(sim, "wait", "--for=condition=Ready", "pod/user", "--timeout=60s")
    claim = await get_json(sim, "pvc", "home")
    assert claim["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    volume_name = claim["spec"]["volumeName"]
    volume = await get_json(sim, "pv", volume_name)
    assert "kubernetes.io/pv-protection" in volume["metadata"]["finalizers"]
    await kubectl(sim, "delete", "pvc", "home", "--wait=false")
    terminating = await get_json(sim, "pvc", "home")
    assert terminating["metadata"]["deletionTimestamp"]
    # still there while the pod runs; the pod keeps its data
    assert (await get_json(sim, "pod", "user"))["status"]["phase"] == "Running"
    assert sim.get("persistentvolumeclaims", "home", "default") is not None
    await kubectl(sim, "delete", "pod", "user")
    await kubectl(sim, "wait", "--for=delete", "pvc/home", "--timeout=60s")
    await kubectl(sim, "wait", "--for=delete", f"pv/{volume_name}", "--timeout=60s")


async def test_a_bound_volume_waits_for_its_claim(kubesim_factory, tmp_path):
    sim = await kubesim_factory(nodes=1)
    volume = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": "static"},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "",
            "hostPath": {"path": str(tmp_path / "static")},
        },
    }
    claim = {**CLAIM, "spec": {**CLAIM["spec"], "storageClassName": "", "volumeName": "static"}}
    await apply(sim, tmp_path, volume, claim)
    await until(
        sim,
        lambda: (
            (sim.get("persistentvolumes", "static").get("status") or {}).get("phase") == "Bound"
        ),
    )
    assert sim.get("persistentvolumes", "static")["metadata"]["finalizers"] == [
        "kubernetes.io/pv-protection"
    ]
    await kubectl(sim, "delete", "pv", "static", "--wait=false")
    assert (await get_json(sim, "pv", "static"))["metadata"]["deletionTimestamp"]
    await kubectl(sim, "delete", "pvc", "home")  # no pod uses it: goes at once
    await kubectl(sim, "wait", "--for=delete", "pv/static", "--timeout=60s")
