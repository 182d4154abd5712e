"""fsGroupChangePolicy: OnRootMismatch by default (a large home is not
chowned file by file at every start), overridable the z2jh way."""

import pytest
from traitlets import TraitError

NS = "default"


async def _pod_security_context(hub_factory, sim, name, **config):
    hub = await hub_factory(fs_gid=100, **config)
    await hub.spawn(name)
    return sim.get("pods", f"jupyter-{name}", NS)["spec"].get("securityContext", {})


async def test_on_root_mismatch_by_default(hub_factory, sim):
    context = await _pod_security_context(hub_factory, sim, "ada")
    assert context == {"fsGroup": 100, "fsGroupChangePolicy": "OnRootMismatch"}


@pytest.mark.parametrize(
    "config",
    [
        # z2jh's singleuser.extraPodConfig reaches the spawner as extra_pod_config
        {"extra_pod_config": {"securityContext": {"fsGroupChangePolicy": "Always"}}},
        {"pod_security_context": {"fs_group_change_policy": "Always"}},
        {"fs_group_change_policy": "Always"},
    ],
)
async def test_overridden(hub_factory, sim, config):
    context = await _pod_security_context(hub_factory, sim, "bob", **config)
    assert context == {"fsGroup": 100, "fsGroupChangePolicy": "Always"}


async def test_none_leaves_it_to_kubernetes(hub_factory, sim):
    context = await _pod_security_context(hub_factory, sim, "cy", fs_group_change_policy=None)
    assert context == {"fsGroup": 100}


async def test_a_bad_value_names_the_trait_and_the_choices(hub):
    spawner = hub.spawner("dee")
    with pytest.raises(TraitError) as error:
        spawner.fs_group_change_policy = "Sometimes"
    assert "fs_group_change_policy" in str(error.value)
    assert "'OnRootMismatch', 'Always'" in str(error.value) and "Sometimes" in str(error.value)
