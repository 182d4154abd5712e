"""Discovery documents, HTTPS with a self-signed CA, and bearer-token auth."""

import ssl

import aiohttp
import pytest
from kubernetes_asyncio import client

from kubesim import KubeSim
from kubesim.testing import api_client_for, raw_request


async def test_version_and_discovery(sim):
    code, version = await raw_request(sim, "GET", "/version")
    assert code == 200 and (version["major"], version["minor"]) == ("1", "33")
    code, api = await raw_request(sim, "GET", "/api")
    assert api["versions"] == ["v1"]
    code, core = await raw_request(sim, "GET", "/api/v1")
    pods = next(r for r in core["resources"] if r["name"] == "pods")
    assert pods["namespaced"] and pods["kind"] == "Pod" and "watch" in pods["verbs"]
    assert pods["shortNames"] == ["po"]
    assert {"pods/log", "pods/status", "pods/binding", "pods/eviction"} <= {
        r["name"] for r in core["resources"]
    }
    code, groups = await raw_request(sim, "GET", "/apis")
    names = {g["name"] for g in groups["groups"]}
    assert {
        "apps",
        "batch",
        "networking.k8s.io",
        "policy",
        "rbac.authorization.k8s.io",
        "scheduling.k8s.io",
        "storage.k8s.io",
        "events.k8s.io",
    } <= names
    code, apps = await raw_request(sim, "GET", "/apis/apps/v1")
    assert apps["groupVersion"] == "apps/v1"
    deploy = next(r for r in apps["resources"] if r["name"] == "deployments")
    assert deploy["shortNames"] == ["deploy"] and deploy["namespaced"]
    code, _ = await raw_request(sim, "GET", "/apis/nothing.example.com/v1")
    assert code == 404


async def test_configurable_version(tmp_path):
    async with KubeSim(nodes=0, version="1.31", state_dir=tmp_path) as sim:
        code, version = await raw_request(sim, "GET", "/version")
        assert version["minor"] == "31"


async def test_https_with_token_auth(tmp_path):
    async with KubeSim(nodes=0, https=True, state_dir=tmp_path) as sim:
        assert sim.url.startswith("https://127.0.0.1:")
        async with await api_client_for(sim) as api:
            namespaces = await client.CoreV1Api(api).list_namespace()
        assert "default" in [n.metadata.name for n in namespaces.items]
        context = ssl.create_default_context(cafile=str(sim.ca_path))
        async with aiohttp.ClientSession() as session:
            async with session.get(sim.url + "/api/v1/pods", ssl=context) as response:
                assert response.status == 401
                body = await response.json()
                assert body["kind"] == "Status" and body["reason"] == "Unauthorized"
            async with session.get(
                sim.url + "/api/v1/pods", ssl=context, headers={"Authorization": "Bearer wrong"}
            ) as response:
                assert response.status == 401
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                async with session.get(sim.url + "/version"):
                    pass


async def test_unknown_paths_are_404_status(sim):
    code, body = await raw_request(sim, "GET", "/api/v1/namespaces/default/widgets")
    assert code == 404 and body["kind"] == "Status"
    code, body = await raw_request(sim, "GET", "/openapi/v2")
    assert code == 404


async def test_request_counters(core, sim):
    await core.list_namespaced_pod("default")
    await core.list_namespaced_pod("default")
    await core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    assert sim.requests("list", "pods") == 2
    assert sim.requests("create") == 1
    assert sim.counters[("create", "configmaps")] == 1
