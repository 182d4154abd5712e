"""Where the spawner's API client gets its address and credentials:
kubeconfig, in-cluster service account, and the k8s_api_* overrides,
against an HTTPS kubesim with token auth."""

import shutil

import aiohttp
import pytest
import yaml
from kubernetes_asyncio.client.exceptions import ApiException

from kubespawner import clients
from kubespawner.clients import ApiSettings, close_shared_apis, in_cluster_namespace, shared_api
from kubespawner.retry import call_with_retries
from testsupport.spawners import StubUser, real_spawner


@pytest.fixture
async def tls_sim(kubesim_factory, monkeypatch, tmp_path):
    sim = await kubesim_factory(nodes=0, https=True)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.setattr(clients, "SERVICE_ACCOUNT_DIR", str(tmp_path / "no-service-account"))
    yield sim
    await close_shared_apis()


def write_kubeconfig(path, sim, token=True, ca=True):
    config = yaml.safe_load(sim.kubeconfig_path.read_text())
    if not token:
        config["users"][0]["user"] = {}
    if not ca:
        config["clusters"][0]["cluster"].pop("certificate-authority-data")
    path.write_text(yaml.safe_dump(config))
    return path


async def list_namespaces(settings=ApiSettings()):
    api = await shared_api(settings)
    return await api.request("GET", "/api/v1/namespaces")


async def test_kubeconfig_over_https_with_token(tls_sim, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tls_sim.kubeconfig_path))
    assert tls_sim.url.startswith("https://")
    names = {ns["metadata"]["name"] for ns in (await list_namespaces())["items"]}
    assert "default" in names


async def test_missing_token_is_a_401_and_not_retried(tls_sim, monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "kc", tls_sim, token=False)))
    api = await shared_api(ApiSettings())
    calls = 0

    async def call():
        nonlocal calls
        calls += 1
        return await api.request("GET", "/api/v1/namespaces")

    with pytest.raises(ApiException) as info:
        await call_with_retries(call, retry_timeout=5, description="list namespaces")
    assert info.value.status == 401 and calls == 1


async def test_ca_cert_and_verify_overrides(tls_sim, monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "kc", tls_sim, ca=False)))
    with pytest.raises(aiohttp.ClientConnectorCertificateError):
        await list_namespaces()
    await close_shared_apis()
    assert await list_namespaces(ApiSettings(ssl_ca_cert=str(tls_sim.ca_path)))
    assert await list_namespaces(ApiSettings(verify_ssl=False))


async def test_api_host_override(tls_sim, monkeypatch, tmp_path):
    config = yaml.safe_load(tls_sim.kubeconfig_path.read_text())
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"  # nothing there
    (tmp_path / "kc").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kc"))
    assert await list_namespaces(ApiSettings(host=tls_sim.url + "/"))


async def test_in_cluster_service_account(tls_sim, monkeypatch, tmp_path):
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(tls_sim.token)
    (account / "namespace").write_text("hub-ns\n")
    shutil.copy(tls_sim.ca_path, account / "ca.crt")
    monkeypatch.setattr(clients, "SERVICE_ACCOUNT_DIR", str(account))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(tls_sim.port))
    assert in_cluster_namespace() == "hub-ns"
    assert await list_namespaces()


async def test_nothing_configured_says_what_to_set(tls_sim):
    with pytest.raises(RuntimeError, match="k8s_api_host"):
        await list_namespaces()


async def test_request_timeout(tls_sim, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tls_sim.kubeconfig_path))
    tls_sim.faults.delay(2, verb="list", resource="namespaces", count=1)
    with pytest.raises(TimeoutError):
        await list_namespaces(ApiSettings(request_timeout=0.5))


async def test_one_client_per_settings_and_loop(tls_sim, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tls_sim.kubeconfig_path))
    a = await shared_api(ApiSettings(request_timeout=3))
    b = await shared_api(ApiSettings(request_timeout=3))
    c = await shared_api(ApiSettings(request_timeout=4))
    assert a is b and a is not c


def kubespawner(**traits):
    return real_spawner(user=StubUser("a", 1), **traits)


async def test_k8s_api_traits_reach_the_client_the_spawner_builds(tls_sim, monkeypatch, tmp_path):
    # the kubeconfig (token only) names neither the right server nor its CA
    config = yaml.safe_load(write_kubeconfig(tmp_path / "kc", tls_sim, ca=False).read_text())
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    (tmp_path / "kc").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kc"))
    spawner = kubespawner(
        k8s_api_host=tls_sim.url,
        k8s_api_ssl_ca_cert=str(tls_sim.ca_path),
        k8s_api_verify_ssl=True,
        k8s_api_request_timeout=7,
    )
    api = await spawner._api()
    assert api.host == tls_sim.url
    assert api.configuration.ssl_ca_cert == str(tls_sim.ca_path)
    assert api.configuration.verify_ssl is True
    assert api.request_timeout == 7
    assert await api.request("GET", "/api/v1/namespaces")  # that host, trusting that CA

    unverified = await kubespawner(k8s_api_host=tls_sim.url, k8s_api_verify_ssl=False)._api()
    assert unverified is not api and unverified.configuration.verify_ssl is False
    assert await unverified.request("GET", "/api/v1/namespaces")
