"""Creating the rendered chart in a real kubesim (HTTPS, token), again on a
second run, and users' claims carried from one kubesim to the next."""

import asyncio

from localdeploy import render
from localdeploy.apply import apply_all
from localdeploy.keep import restore_claims, save_claims
from localdeploy.kubeapi import KubeClient
from localdeploy.order import split_hooks
from localdeploy.paths import DEV_CONFIG


def rendered_dev_chart(tmp_path):
    generated = render.ensure_generated_values(tmp_path / "generated.yaml")
    return render.parse_manifests(render.render([generated, DEV_CONFIG]))


async def test_every_rendered_object_is_created_then_updated_on_a_second_run(
    kubesim_factory, tmp_path
):
    sim = await kubesim_factory(https=True)
    client = KubeClient.from_kubeconfig(sim.kubeconfig_path)
    objects = rendered_dev_chart(tmp_path)
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}

    first = await asyncio.to_thread(apply_all, client, [*objects, widget], "jhub")
    regular, hooks = split_hooks(objects)
    assert len(first.created) == len(regular) + 1  # + the namespace
    assert any(s.startswith("Widget w: kubesim does not serve") for s in first.skipped)
    assert len(first.skipped) == len(hooks) + 1
    services = await asyncio.to_thread(client.list, "v1", "Service", "jhub")
    assert {s["metadata"]["name"] for s in services} == {
        o["metadata"]["name"] for o in regular if o["kind"] == "Service"
    }

    second = await asyncio.to_thread(apply_all, client, objects, "jhub")
    assert not second.created
    assert "PersistentVolumeClaim jhub/hub-db-dir" in second.kept
    assert "Secret jhub/hub" in second.replaced


async def test_users_claims_survive_into_a_new_kubesim(kubesim_factory, tmp_path):
    old = KubeClient.from_kubeconfig((await kubesim_factory()).kubeconfig_path)
    new = KubeClient.from_kubeconfig((await kubesim_factory()).kubeconfig_path)
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": "claim-ada",
            "namespace": "jhub",
            "annotations": {"hub.jupyter.org/username": "ada"},
        },
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    kept = tmp_path / "claims.yaml"

    def scenario():
        for client in (old, new):
            apply_all(client, [], "jhub")
        old.create(claim)
        assert save_claims(old, "jhub", {"hub-db-dir"}, kept) == 1
        assert restore_claims(new, kept) == 1
        assert restore_claims(new, kept) == 0  # already there: left alone
        return new.get("v1", "PersistentVolumeClaim", "claim-ada", "jhub")

    restored = await asyncio.to_thread(scenario)
    assert restored["metadata"]["annotations"]["hub.jupyter.org/username"] == "ada"
    assert restored["spec"]["resources"] == claim["spec"]["resources"]
