"""A grown storage_capacity reaches existing claims at their next start,
where the StorageClass allows expansion (kubesim's PersistentVolumeClaimResize
admission answers 403 where it does not, 422 to a shrink)."""

import asyncio

NS = "default"
VOLUME = {
    "volumes": [{"name": "home", "persistentVolumeClaim": {"claimName": "{pvc_name}"}}],
    "volume_mounts": [{"name": "home", "mountPath": "/home/jovyan"}],
}


def storage(capacity, storage_class):
    return dict(
        storage_pvc_ensure=True, storage_capacity=capacity, storage_class=storage_class, **VOLUME
    )


async def make_class(api, name, expandable):
    body = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name},
        "provisioner": "kubesim.io/hostpath",
        "allowVolumeExpansion": expandable,
    }
    await api.request("POST", "/apis/storage.k8s.io/v1/storageclasses", body=body)


def requested(sim, claim):
    return sim.get("persistentvolumeclaims", claim, NS)["spec"]["resources"]["requests"]["storage"]


async def spawn_and_stop(hub, name):
    await hub.spawn(name)
    await hub.stop(name)


async def wait_bound(sim, claim):
    for _ in range(500):
        if (sim.get("persistentvolumeclaims", claim, NS).get("status") or {}).get(
            "phase"
        ) == "Bound":
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{claim} never bound")


async def test_a_grown_capacity_grows_the_claim_and_never_shrinks_it(hub_factory, sim, api):
    await make_class(api, "elastic", True)
    hub = await hub_factory(**storage("1Gi", "elastic"))
    await spawn_and_stop(hub, "gro")
    await wait_bound(sim, "claim-gro")
    assert requested(sim, "claim-gro") == "1Gi"

    sim.reset_counters()
    hub = await hub_factory(**storage("2Gi", "elastic"))  # helm upgrade: a new hub
    await spawn_and_stop(hub, "gro")
    assert requested(sim, "claim-gro") == "2Gi"
    assert sim.requests("patch", "persistentvolumeclaims") == 1
    assert sim.requests("get", "persistentvolumeclaims") == 1

    sim.reset_counters()
    await spawn_and_stop(hub, "gro")  # the same capacity again: no read, no write
    assert sim.requests(resource="persistentvolumeclaims") == 0

    hub = await hub_factory(**storage("1536Mi", "elastic"))  # smaller: never shrink
    await spawn_and_stop(hub, "gro")
    assert requested(sim, "claim-gro") == "2Gi"
    assert sim.requests("patch", "persistentvolumeclaims") == 0


async def test_a_class_that_cannot_expand_is_logged_once(hub_factory, sim, api, warnings_of):
    await make_class(api, "fixed", False)
    hub = await hub_factory(**storage("1Gi", "fixed"))
    await spawn_and_stop(hub, "fix")
    await wait_bound(sim, "claim-fix")

    hub = await hub_factory(**storage("5Gi", "fixed"))
    logged = warnings_of(hub.spawner("fix"))
    await spawn_and_stop(hub, "fix")  # the spawn goes on with the claim as it is
    await spawn_and_stop(hub, "fix")
    warnings = [m for m in logged.messages if "stays at" in m]
    assert warnings == [
        "PVC default/claim-fix stays at 1Gi, not the 5Gi storage_capacity asks for: "
        'HTTP 403: persistentvolumeclaims "claim-fix" is forbidden: only dynamically '
        "provisioned pvc can be resized and the storageclass that provisions the pvc must "
        "support resize (its StorageClass needs allowVolumeExpansion: true)"
    ]
    assert requested(sim, "claim-fix") == "1Gi"
    assert sim.requests("patch", "persistentvolumeclaims") == 1


async def test_a_claim_made_by_someone_else_grows_too(hub_factory, sim, api):
    # no capacity in state (a claim an admin made, or state from before this)
    await make_class(api, "elastic", True)
    hub = await hub_factory(**storage("1Gi", "elastic"))
    await spawn_and_stop(hub, "adm")
    await wait_bound(sim, "claim-adm")
    spawner = hub.spawner("adm")
    state = dict(spawner.orm_spawner.state)
    state.pop("pvc_capacity")
    spawner.orm_spawner.state = state
    hub.db.commit()
    hub = await hub_factory(**storage("1Gi", "elastic"))
    sim.reset_counters()
    await spawn_and_stop(hub, "adm")
    assert sim.requests("get", "persistentvolumeclaims") == 1, "one read to learn its size"
    assert sim.requests("patch", "persistentvolumeclaims") == 0
    hub = await hub_factory(**storage("3Gi", "elastic"))
    await spawn_and_stop(hub, "adm")
    assert requested(sim, "claim-adm") == "3Gi"
