"""PVCs, user namespaces, Services, internal SSL and server URLs, against kubesim."""

import asyncio
import base64

import pytest
from cryptography import x509

NS = "default"
PVC_VOLUME = {
    "volumes": [{"name": "home", "persistentVolumeClaim": {"claimName": "{pvc_name}"}}],
    "volume_mounts": [{"name": "home", "mountPath": "/home/jovyan"}],
}


def CLAIM(user):
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": f"claim-{user}"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}},
    }


def storage(**extra):
    return dict(storage_pvc_ensure=True, storage_capacity="1Gi", **PVC_VOLUME, **extra)


async def test_pvc_is_created_once_and_reused(hub_factory, sim):
    hub = await hub_factory(**storage())
    spawner = await hub.spawn("alice")
    pvc = sim.get("persistentvolumeclaims", "claim-alice", NS)
    assert pvc["spec"]["resources"]["requests"]["storage"] == "1Gi"
    pod = sim.get("pods", "jupyter-alice", NS)
    assert pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == "claim-alice"
    assert spawner.orm_spawner.state["pvc_name"] == "claim-alice"
    await hub.stop("alice")
    sim.reset_counters()
    await hub.spawn("alice")
    await hub.stop("alice")
    assert sim.requests("create", "persistentvolumeclaims") == 0, "known PVC: no POST"
    assert sim.requests("get", "persistentvolumeclaims") == 0
    assert sim.get("persistentvolumeclaims", "claim-alice", NS) is not None


async def test_existing_pvc_409_is_fine(hub_factory, sim, api):
    hub = await hub_factory(**storage())
    await api.request("POST", f"/api/v1/namespaces/{NS}/persistentvolumeclaims", body=CLAIM("bob"))
    spawner = await hub.spawn("bob")
    assert await spawner.poll() is None
    assert (
        sim.get("persistentvolumeclaims", "claim-bob", NS)["spec"]["resources"]["requests"][
            "storage"
        ]
        == "2Gi"
    )


async def test_quota_403_on_an_existing_pvc_is_handled(hub_factory, sim, api):
    hub = await hub_factory(**storage())
    # the claim exists (made by an admin, or by an earlier hub); the namespace
    # quota is full, so Kubernetes refuses even a create that would 409
    await api.request("POST", f"/api/v1/namespaces/{NS}/persistentvolumeclaims", body=CLAIM("carl"))
    sim.reset_counters()
    sim.faults.fail(
        verb="create", resource="persistentvolumeclaims", status=403, message="exceeded quota"
    )
    spawner = await hub.spawn("carl")
    assert await spawner.poll() is None
    assert sim.requests("create", "persistentvolumeclaims") == 1


async def test_quota_403_without_the_pvc_fails_the_spawn(hub_factory, sim):
    hub = await hub_factory(**storage())
    sim.faults.fail(
        verb="create", resource="persistentvolumeclaims", status=403, message="exceeded quota"
    )
    with pytest.raises(Exception, match="403"):
        await hub.spawn("dora")
    assert sim.get("pods", "jupyter-dora", NS) is None


async def test_delete_forever_removes_the_pvc_but_not_a_shared_one(hub_factory, sim):
    hub = await hub_factory(
        hub_config={"allow_named_servers": True},
        **storage(pvc_name_template="claim-{username}"),
    )
    await hub.spawn("erik")
    await hub.spawn("erik", "second")
    await hub.stop("erik", "second")
    await hub.user("erik").spawners["second"].delete_forever()
    assert sim.get("persistentvolumeclaims", "claim-erik", NS) is not None, "shared claim kept"
    await hub.stop("erik")
    await hub.user("erik").spawners[""].delete_forever()
    assert sim.get("persistentvolumeclaims", "claim-erik", NS) is None


async def test_remembered_pvc_name_survives_a_template_change(hub_factory, sim):
    hub = await hub_factory(**storage())
    await hub.spawn("fay")
    await hub.stop("fay")
    hub2 = await hub_factory(**storage(pvc_name_template="home-{username}"))
    await hub2.spawn("fay")
    pod = sim.get("pods", "jupyter-fay", NS)
    assert pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == "claim-fay"
    assert sim.get("persistentvolumeclaims", "home-fay", NS) is None


async def test_state_keeps_the_pvc_name_without_remember_pvc_name(hub_factory, sim):
    hub = await hub_factory(remember_pvc_name=False, **storage())
    spawner = await hub.spawn("tess")
    assert spawner.orm_spawner.state["pvc_name"] == "claim-tess"
    await hub.stop("tess")
    # not remembered: a changed template applies to the next spawn
    hub2 = await hub_factory(
        remember_pvc_name=False, **storage(pvc_name_template="home-{username}")
    )
    await hub2.spawn("tess")
    pod = sim.get("pods", "jupyter-tess", NS)
    assert pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == "home-tess"
    assert hub2.user("tess").spawners[""].orm_spawner.state["pvc_name"] == "home-tess"


async def test_user_namespaces(hub_factory, sim):
    hub = await hub_factory(
        enable_user_namespaces=True, user_namespace_labels={"owner": "{username}"}
    )
    spawner = await hub.spawn("gus")
    ns = spawner.namespace
    assert ns == "user-gus"
    assert sim.get("namespaces", ns)["metadata"]["labels"]["owner"] == "gus"
    assert sim.get("pods", "jupyter-gus", ns) is not None
    await hub.spawn("hal")
    assert sim.get("pods", "jupyter-hal", "user-hal") is not None
    assert spawner.orm_spawner.state["namespace"] == ns
    await hub.stop("gus")
    assert sim.get("pods", "jupyter-gus", ns) is None
    await hub.spawn("gus")
    # one reflector across namespaces, one namespace POST per user per hub process
    assert sim.requests("list", "pods") == 1
    assert sim.requests("create", "namespaces") == 2


async def test_services_enabled_gives_an_owned_service_and_dns_url(hub_factory, sim):
    hub = await hub_factory(services_enabled=True)
    spawner = await hub.spawn("ivy")
    pod = sim.get("pods", "jupyter-ivy", NS)
    service = sim.get("services", "jupyter-ivy", NS)
    assert service["metadata"]["ownerReferences"][0]["uid"] == pod["metadata"]["uid"]
    assert spawner.server.ip == "jupyter-ivy.default.svc.cluster.local"
    await hub.stop("ivy")
    assert sim.get("pods", "jupyter-ivy", NS) is None


async def test_internal_ssl_secret_and_service_owned_by_the_pod(hub_factory, sim, tmp_path):
    hub = await hub_factory(
        hub_config={"internal_ssl": True, "internal_certs_location": str(tmp_path / "certs")}
    )
    spawner = await hub.spawn("jan")
    pod = sim.get("pods", "jupyter-jan", NS)
    uid = pod["metadata"]["uid"]
    secret = sim.get("secrets", spawner.secret_name, NS)
    assert set(secret["data"]) >= {"ssl.key", "ssl.crt", "notebooks-ca_trust.crt"}
    assert secret["metadata"]["ownerReferences"][0]["uid"] == uid
    assert sim.get("services", "jupyter-jan", NS)["metadata"]["ownerReferences"][0]["uid"] == uid
    assert spawner.server.proto == "https"
    assert spawner.server.ip == "jupyter-jan.default.svc.cluster.local"
    cert = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["ssl.crt"]))
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "jupyter-jan.default.svc.cluster.local" in names.get_values_for_type(x509.DNSName)
    mounts = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert any(
        v.get("secret", {}).get("secretName") == spawner.secret_name for v in mounts.values()
    )
    await hub.stop("jan")


async def test_pod_connect_ip_and_get_pod_url(hub_factory, sim):
    hub = await hub_factory(pod_connect_ip="{username}.pods.example")
    spawner = await hub.spawn("kim")
    assert spawner.server.ip == "kim.pods.example"
    hub2 = await hub_factory(
        get_pod_url=lambda spawner, pod: f"http://{pod['metadata']['name']}.x:9999"
    )
    spawner = await hub2.spawn("lou")
    assert (spawner.server.ip, spawner.server.port) == ("jupyter-lou.x", 9999)


async def test_ipv6_pod_ip_is_bracketed(hub):
    spawner = hub.spawner("max")
    assert spawner._url_for({"status": {"podIP": "fd00::7"}}) == "http://[fd00::7]:8888"


async def test_user_namespace_deleted_behind_our_back_is_recreated(hub_factory, sim, api):
    hub = await hub_factory(enable_user_namespaces=True)
    await hub.spawn("nell")
    await hub.stop("nell")
    await api.request("DELETE", "/api/v1/namespaces/user-nell")
    for _ in range(200):  # namespace deletion finishes asynchronously
        if sim.get("namespaces", "user-nell") is None:
            break
        await asyncio.sleep(0.02)
    spawner = await hub.spawn("nell")
    assert await spawner.poll() is None
    assert sim.get("pods", "jupyter-nell", "user-nell") is not None


@pytest.mark.parametrize("events_enabled", [True, False])
async def test_pvc_deleted_behind_our_back_is_recreated_on_the_next_spawn(
    hub_factory, sim, api, events_enabled
):
    # without events, the pod's PodScheduled condition carries the same message
    hub = await hub_factory(
        unschedulable_grace_period=0, events_enabled=events_enabled, **storage()
    )
    await hub.spawn("olga")
    await hub.stop("olga")
    await api.request("DELETE", f"/api/v1/namespaces/{NS}/persistentvolumeclaims/claim-olga")
    for _ in range(200):
        if sim.get("persistentvolumeclaims", "claim-olga", NS) is None:
            break
        await asyncio.sleep(0.02)
    # the saved state says the claim exists, so the spawn skips the PVC POST;
    # the scheduler's "persistentvolumeclaim ... not found" makes it create it
    sim.reset_counters()
    spawner = await hub.spawn("olga")
    assert await spawner.poll() is None
    assert sim.get("persistentvolumeclaims", "claim-olga", NS) is not None
    pod = sim.get("pods", "jupyter-olga", NS)
    assert pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == "claim-olga"
    assert sim.requests("create", "persistentvolumeclaims") == 1
    assert sim.requests("create", "pods") == 1, "the same pod, scheduled once the claim exists"


async def test_delete_namespace_on_stop(hub_factory, sim):
    hub = await hub_factory(enable_user_namespaces=True, delete_namespace_on_stop=True)
    await hub.spawn("pia")
    await hub.stop("pia")
    ns = sim.get("namespaces", "user-pia")
    assert ns is None or ns["metadata"].get("deletionTimestamp")
    spawner = await hub.spawn("pia")  # and it comes back on the next spawn
    assert await spawner.poll() is None
