"""A user from KubeSpawner 6 / z2jh 3 finds their claim (handle_legacy_names),
against kubesim over HTTP with a real JupyterHub."""

NS = "default"
HOME = {
    "volumes": [{"name": "home", "persistentVolumeClaim": {"claimName": "{pvc_name}"}}],
    "volume_mounts": [{"name": "home", "mountPath": "/home/jovyan"}],
}


def storage(**extra):
    return dict(storage_pvc_ensure=True, storage_capacity="1Gi", **HOME, **extra)


def legacy_claim(name, username, servername=""):
    # what KubeSpawner 6 made: annotated with the raw user and server names
    annotations = {"hub.jupyter.org/username": username}
    if servername:
        annotations["hub.jupyter.org/servername"] = servername
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}},
    }


# a z2jh 3 server's state: KubeSpawner 6 saved no claim name
def z2jh3_state(pod_name):
    return {"pod_name": pod_name, "namespace": NS, "dns_name": f"{pod_name}.{NS}.svc"}


async def make_legacy(hub, api, username, claim, servername="", annotated_as=None):
    await api.request(
        "POST",
        f"/api/v1/namespaces/{NS}/persistentvolumeclaims",
        body=legacy_claim(claim, *(annotated_as or (username, servername))),
    )
    spawner = hub.spawner(username, servername)
    spawner.orm_spawner.state = z2jh3_state("jupyter-old")
    hub.db.commit()
    # as the hub does with a spawner's saved state when it starts
    spawner.load_state(spawner.orm_spawner.state)


def claim_of(sim, user):
    pod = sim.get("pods", user, NS)
    return pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"]


async def test_escape_scheme_claim_is_found_used_and_kept(hub_factory, sim, api, warnings_of):
    hub = await hub_factory(**storage())
    user = "user@example.com"
    await make_legacy(hub, api, user, "claim-user-40example-2ecom")
    warnings = warnings_of(hub.spawner(user))
    sim.reset_counters()
    spawner = await hub.spawn(user)
    assert claim_of(sim, spawner.pod_name) == "claim-user-40example-2ecom"
    assert spawner.orm_spawner.state["pvc_name"] == "claim-user-40example-2ecom"
    assert sim.requests("create", "persistentvolumeclaims") == 0, "no new, empty claim"
    assert sim.get("persistentvolumeclaims", "claim-user-example-com---b4c9a289", NS) is None
    assert warnings.text.count("Using legacy PVC") == 1
    # later spawns: the name comes from state, no lookup, no read
    await hub.stop(user)
    sim.reset_counters()
    warnings.messages.clear()
    spawner = await hub.spawn(user)
    assert claim_of(sim, spawner.pod_name) == "claim-user-40example-2ecom"
    assert sim.requests("get", "persistentvolumeclaims") == 0
    assert "legacy" not in warnings.text


async def test_a_server_running_at_the_upgrade_stopped_by_our_hub_keeps_its_legacy_claim(
    hub_factory, sim, api
):
    # z2jh 3 -> ours while the server runs: our hub stops it (JupyterHub
    # clears and saves the spawner's state), restarts, and the user starts
    # again. The claim name saved on the way must not be today's unused one.
    hub = await hub_factory(**storage())
    user = "user@example.com"
    await make_legacy(hub, api, user, "claim-user-40example-2ecom")
    spawner = hub.spawner(user)
    spawner.clear_state()
    spawner.orm_spawner.state = spawner.get_state()
    hub.db.commit()
    assert "pvc_name" not in spawner.orm_spawner.state
    spawner.load_state(spawner.orm_spawner.state)
    spawner = await hub.spawn(user)
    assert claim_of(sim, spawner.pod_name) == "claim-user-40example-2ecom"
    assert sim.get("persistentvolumeclaims", "claim-user-example-com---b4c9a289", NS) is None


async def test_z2jh3_named_server_claim_is_found(hub_factory, sim, api):
    hub = await hub_factory(hub_config={"allow_named_servers": True}, **storage())
    # z2jh 3: pvcNameTemplate claim-{username}{servername}
    await make_legacy(hub, api, "a_b", "claim-a-5fbgpu", servername="gpu")
    spawner = await hub.spawn("a_b", "gpu")
    assert spawner.pvc_name == "claim-a-5fbgpu"
    assert claim_of(sim, spawner.pod_name) == "claim-a-5fbgpu"


async def test_kubespawner6_default_template_claim_is_found(hub_factory, sim, api):
    hub = await hub_factory(hub_config={"allow_named_servers": True}, **storage())
    # KubeSpawner 6's own default: claim-{username}--{servername}
    await make_legacy(hub, api, "Émile.O'Brien", "claim--c3-89mile-2e-4f-27-42rien--lab", "lab")
    spawner = await hub.spawn("Émile.O'Brien", "lab")
    assert spawner.pvc_name == "claim--c3-89mile-2e-4f-27-42rien--lab"


async def test_another_users_claim_under_a_legacy_name_is_not_taken(
    hub_factory, sim, api, warnings_of
):
    hub = await hub_factory(hub_config={"allow_named_servers": True}, **storage())
    # z2jh 3 named alex's server "foo" and user "alexfoo" alike: claim-alexfoo
    await make_legacy(hub, api, "alex", "claim-alexfoo", "foo", annotated_as=("alexfoo", ""))
    warnings = warnings_of(hub.spawner("alex", "foo"))
    spawner = await hub.spawn("alex", "foo")
    assert spawner.pvc_name == "claim-alex--foo"
    assert sim.get("persistentvolumeclaims", "claim-alex--foo", NS) is not None
    assert "its annotations name another user or server" in warnings.text


async def test_an_existing_claim_under_todays_name_wins(hub_factory, sim, api):
    hub = await hub_factory(**storage())
    await make_legacy(hub, api, "Bob", "claim--42ob")
    await api.request(
        "POST",
        f"/api/v1/namespaces/{NS}/persistentvolumeclaims",
        body=legacy_claim("claim-bob---cd9fb1e1", "Bob"),
    )
    spawner = await hub.spawn("Bob")
    assert spawner.pvc_name == "claim-bob---cd9fb1e1"


async def test_handle_legacy_names_off_makes_a_new_claim(hub_factory, sim, api):
    hub = await hub_factory(handle_legacy_names=False, **storage())
    await make_legacy(hub, api, "user@example.com", "claim-user-40example-2ecom")
    sim.reset_counters()
    spawner = await hub.spawn("user@example.com")
    assert spawner.pvc_name == "claim-user-example-com---b4c9a289"
    assert sim.requests("get", "persistentvolumeclaims") == 0


async def test_new_users_cost_no_reads(hub_factory, sim):
    hub = await hub_factory(**storage())
    sim.reset_counters()
    await hub.spawn("user@example.com")
    assert sim.requests("get", "persistentvolumeclaims") == 0
