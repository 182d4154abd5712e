"""State that survives a restart: `python -m kubesim --state-dir D` stopped (SIGTERM or
SIGKILL) and started again over the same folder, checked with kubectl, helm and
kubernetes_asyncio."""

import asyncio
import json
import signal
import types

import pytest
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException

from kubesim import KubeSim
from kubesim.testing import api_client_for

from .test_cli import cli_in_folder
from .test_helm import CHART, HELMS, helm
from .test_kubectl import KUBECTL, kubectl

pytestmark = pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl not installed (ci/setup)")


def cli_args(state):
    return ("--nodes", "1", "--state-dir", str(state), "--log-level", "WARNING")


def as_sim(tmp_path, running):
    """What the kubectl/helm helpers need of a simulator: its kubeconfig and a home."""
    return types.SimpleNamespace(
        kubeconfig_path=tmp_path / "kubeconfig",
        state_dir=tmp_path,
        url=running.url,
        token=running.token,
        ca_path=None,
    )


async def get_json(sim, *args):
    return json.loads(await kubectl(sim, "get", *args, "-o", "json"))


async def running_pod(sim, name):
    await kubectl(sim, "wait", "--for=condition=Ready", f"pod/{name}", "--timeout=60s")
    return await get_json(sim, "pod", name)


async def test_objects_come_back_after_sigterm_and_pods_restart(tmp_path):
    state = tmp_path / "state"
    chart = tmp_path / "chart"
    for path, text in CHART.items():
        (chart / path).parent.mkdir(parents=True, exist_ok=True)
        (chart / path).write_text(text)
    async with cli_in_folder(tmp_path, *cli_args(state)) as (process, running):
        sim = as_sim(tmp_path, running)
        await helm(HELMS["helm3"], sim, "upgrade", "--install", "spike", str(chart), "--wait")
        await kubectl(sim, "create", "configmap", "kept", "--from-literal=a=1")
        pod_name = (await get_json(sim, "pods", "-l", "app=spike"))["items"][0]["metadata"]["name"]
        before = await running_pod(sim, pod_name)
        kept = await get_json(sim, "configmap", "kept")
        releases = await get_json(sim, "secrets", "-l", "owner=helm")
        listed_rv = max(
            int(o["metadata"]["resourceVersion"]) for o in [before, kept, *releases["items"]]
        )
        token = running.token
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0

    async with cli_in_folder(tmp_path, *cli_args(state)) as (process, running):
        sim = as_sim(tmp_path, running)
        assert running.token == token  # the same credentials work again
        again = await get_json(sim, "configmap", "kept")
        assert again["metadata"] == kept["metadata"]  # uid, resourceVersion, creationTimestamp
        assert (await get_json(sim, "secrets", "-l", "owner=helm"))["items"] == releases["items"]
        assert "deployed" in await helm(HELMS["helm3"], sim, "status", "spike")
        # the global resourceVersion counter continues
        await kubectl(sim, "create", "configmap", "new", "--from-literal=b=2")
        new = await get_json(sim, "configmap", "new")
        assert int(new["metadata"]["resourceVersion"]) > listed_rv
        # the pod came back as after a node reboot: its container restarted
        after = await running_pod(sim, pod_name)
        assert after["metadata"]["uid"] == before["metadata"]["uid"]
        assert after["metadata"]["creationTimestamp"] == before["metadata"]["creationTimestamp"]
        status, old_status = (
            after["status"]["containerStatuses"][0],
            before["status"]["containerStatuses"][0],
        )
        assert status["restartCount"] == old_status["restartCount"] + 1
        assert status["lastState"]["terminated"]["reason"] == "Unknown"
        assert (
            status["state"]["running"]["startedAt"] >= old_status["state"]["running"]["startedAt"]
        )
        assert status["containerID"] != old_status["containerID"]
        # a watch resumed from before the last change before the restart: 410 Expired, as
        # after a compaction (one from the very last resourceVersion missed nothing)
        async with await api_client_for(sim) as api:
            core = client.CoreV1Api(api)
            with pytest.raises(ApiException) as expired:
                async for _event in watch.Watch().stream(
                    core.list_namespaced_config_map,
                    "default",
                    resource_version=before["metadata"]["resourceVersion"],
                    timeout_seconds=5,
                ):
                    pass
            assert expired.value.status == 410
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0


async def test_what_survives_sigkill(tmp_path):
    state = tmp_path / "state"
    async with cli_in_folder(tmp_path, *cli_args(state)) as (process, running):
        sim = as_sim(tmp_path, running)
        await kubectl(sim, "create", "configmap", "flushed", "--from-literal=a=1")
        uid = (await get_json(sim, "configmap", "flushed"))["metadata"]["uid"]
        journal = state / "objects" / "journal.jsonl"
        # the journal reaches the OS within the flush interval (0.2 s)
        for _ in range(100):
            if journal.exists() and uid.encode() in journal.read_bytes():
                break
            await asyncio.sleep(0.05)
        process.kill()
        await process.wait()
    async with cli_in_folder(tmp_path, *cli_args(state)) as (process, running):
        sim = as_sim(tmp_path, running)
        assert (await get_json(sim, "configmap", "flushed"))["metadata"]["uid"] == uid
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0


async def test_a_journal_line_cut_short_is_ignored(tmp_path):

    state = tmp_path / "state"
    async with KubeSim(nodes=0, state_dir=state) as sim:
        await sim.store.create("configmaps", {"metadata": {"name": "a"}}, "default")
    journal = state / "objects" / "journal.jsonl"
    journal.write_bytes(b'["put","configmaps",{"metadata":{"name":"b","nam')  # killed mid-write
    async with KubeSim(nodes=0, state_dir=state) as sim:
        assert sim.get("configmaps", "a", "default") is not None
        assert sim.get("configmaps", "b", "default") is None


async def test_the_restored_admin_token_is_accepted_over_https(tmp_path):
    """The kubeconfig token comes back from the state dir and logs in as the admin
    again (a restart that restored the token but not the authenticator's copy of it
    answered 401 to every request)."""
    state = tmp_path / "state"
    async with KubeSim(nodes=0, https=True, state_dir=state) as sim:
        token = sim.token
    async with KubeSim(nodes=0, https=True, state_dir=state) as sim:
        assert sim.token == token
        async with await api_client_for(sim) as api:
            namespaces = await client.CoreV1Api(api).list_namespace()
        assert "default" in {ns.metadata.name for ns in namespaces.items}
        wrong = sim.token + "x"
        async with await api_client_for(sim) as api:
            api.configuration.api_key = {"authorization": f"Bearer {wrong}"}
            with pytest.raises(ApiException) as refused:
                await client.CoreV1Api(api).list_namespace()
        assert refused.value.status == 401
