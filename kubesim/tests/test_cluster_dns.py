"""Cluster DNS: Service names resolve for process-runtime pods, over the DNS wire and by glibc."""

import asyncio
import struct
import sys

import pytest
from kubernetes_asyncio import client

from kubesim import KubeSim
from kubesim.node import dns_wire as wire
from kubesim.node.pod_dns_files import ResolvConf, hosts_file, parse_resolv_conf, resolv_conf
from kubesim.node.process_runtime import namespaces_available
from kubesim.testing import api_client_for, wait_for

PY = sys.executable
needs_namespaces = pytest.mark.skipif(
    not namespaces_available(),
    reason="a per-pod resolv.conf needs mount namespaces (root with unshare)",
)


@pytest.fixture
async def cluster(tmp_path):
    async with KubeSim(nodes=1, runtime="process", state_dir=tmp_path / "kubesim") as sim:
        async with await api_client_for(sim) as api_client:
            yield sim, client.CoreV1Api(api_client)


def service(name, selector=None, cluster_ip=None):
    spec = {"ports": [{"port": 8081, "targetPort": 8081}]}
    if selector:
        spec["selector"] = selector
    if cluster_ip:
        spec["clusterIP"] = cluster_ip
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def python_pod(name, code, labels=None, **spec):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": "python:3.11", "command": [PY, "-c", code]}],
            **spec,
        },
    }


async def make_namespace(core, name):
    await core.create_namespace({"metadata": {"name": name}})


async def run_to_completion(sim, namespace, name) -> str:
    done = await wait_for(
        sim.store,
        "pods",
        name,
        namespace,
        lambda p: p is not None and p["status"].get("phase") in ("Succeeded", "Failed"),
        timeout=60,
    )
    log = await sim.read_log(namespace, name)
    assert done["status"]["phase"] == "Succeeded", log
    return log


async def udp_query(dns, name, qtype=wire.TYPE_A):
    message = await udp_exchange(dns, name, qtype)
    ident, rcode, addresses = wire.parse_response(message)
    assert ident == 4242 and not wire.is_truncated(message)
    return rcode, addresses


async def udp_exchange(dns, name, qtype=wire.TYPE_A) -> bytes:
    loop = asyncio.get_running_loop()
    received = loop.create_future()

    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, data, addr):
            received.set_result(data)

    transport, _ = await loop.create_datagram_endpoint(Client, remote_addr=(dns.host, dns.port))
    try:
        transport.sendto(wire.encode_query(4242, name, qtype))
        return await asyncio.wait_for(received, 5)
    finally:
        transport.close()


async def tcp_query(dns, name):
    reader, writer = await asyncio.open_connection(dns.host, dns.port)
    try:
        message = wire.encode_query(7, name)
        writer.write(struct.pack("!H", len(message)) + message)
        (length,) = struct.unpack("!H", await reader.readexactly(2))
        return wire.parse_response(await reader.readexactly(length))[1:]
    finally:
        writer.close()


async def test_dns_answers_services_pods_and_refuses_the_rest(cluster):
    sim, core = cluster
    dns = sim.nodes.cluster_dns
    await make_namespace(core, "jhub")
    hub = await core.create_namespaced_service("jhub", service("hub", {"app": "hub"}))
    ip = hub.spec.cluster_ip
    for name in ("hub.jhub.svc.cluster.local", "HUB.jhub.svc.cluster.local."):
        assert await udp_query(dns, name) == (wire.NOERROR, [ip])
    assert await tcp_query(dns, "hub.jhub.svc.cluster.local") == (wire.NOERROR, [ip])
    assert await udp_query(dns, "hub.jhub.svc.cluster.local", wire.TYPE_AAAA) == (wire.NOERROR, [])
    assert await udp_query(dns, "jhub.svc.cluster.local") == (wire.NOERROR, [])
    assert await udp_query(dns, "nope.jhub.svc.cluster.local") == (wire.NXDOMAIN, [])
    assert await udp_query(dns, "hub.default.svc.cluster.local") == (wire.NXDOMAIN, [])
    assert await udp_query(dns, "hub.jhub.svc.cluster.local.jhub.svc.cluster.local") == (
        wire.NXDOMAIN,
        [],
    )
    assert await udp_query(dns, "10-1-2-3.jhub.pod.cluster.local") == (wire.NOERROR, ["10.1.2.3"])
    assert await udp_query(dns, "pypi.org") == (wire.REFUSED, [])
    assert await tcp_query(dns, "pypi.org") == (wire.REFUSED, [])
    await core.delete_namespaced_service("hub", "jhub")
    assert await udp_query(dns, "hub.jhub.svc.cluster.local") == (wire.NXDOMAIN, [])


async def test_headless_service_answers_its_ready_pod_ips(cluster):
    sim, core = cluster
    await core.create_namespaced_service("default", service("db", {"app": "db"}, "None"))
    for name in ("db-0", "db-1"):
        await core.create_namespaced_pod(
            "default", python_pod(name, "import time; time.sleep(600)", {"app": "db"})
        )
    ips = set()
    for name in ("db-0", "db-1"):
        running = await wait_for(
            sim.store,
            "pods",
            name,
            "default",
            lambda p: (
                p["status"].get("podIP")
                and any(
                    c["type"] == "Ready" and c["status"] == "True"
                    for c in p["status"].get("conditions") or []
                )
            ),
        )
        ips.add(running["status"]["podIP"])
    await wait_for(
        sim.store,
        "endpoints",
        "db",
        "default",
        lambda e: (
            e is not None
            and {a["ip"] for s in e.get("subsets") or [] for a in s.get("addresses") or []} == ips
        ),
    )
    rcode, addresses = await udp_query(sim.nodes.cluster_dns, "db.default.svc.cluster.local")
    assert (rcode, set(addresses)) == (wire.NOERROR, ips)


async def test_answers_too_big_for_udp_are_truncated_and_whole_over_tcp(cluster):
    sim, core = cluster
    await core.create_namespaced_service("default", service("many", cluster_ip="None"))
    ips = [f"127.244.9.{i}" for i in range(1, 61)]
    subsets = [{"addresses": [{"ip": ip} for ip in ips], "ports": [{"port": 8081}]}]
    endpoints = {"metadata": {"name": "many"}, "subsets": subsets}
    await core.create_namespaced_endpoints("default", endpoints)
    message = await udp_exchange(sim.nodes.cluster_dns, "many.default.svc.cluster.local")
    assert wire.is_truncated(message) and len(message) <= wire.UDP_LIMIT
    assert 0 < len(wire.parse_response(message)[2]) < len(ips)
    rcode, addresses = await tcp_query(sim.nodes.cluster_dns, "many.default.svc.cluster.local")
    assert (rcode, sorted(addresses)) == (wire.NOERROR, sorted(ips))


@needs_namespaces
async def test_pods_resolve_service_names_through_their_resolv_conf(cluster):
    sim, core = cluster
    await make_namespace(core, "jhub")
    hub = await core.create_namespaced_service("jhub", service("hub", {"component": "hub"}))
    lookup = "import socket, sys\nfor n in sys.argv[1:]: print(n, socket.gethostbyname(n))\n"

    def resolver_pod(name, *names):
        body = python_pod(name, lookup)
        body["spec"]["containers"][0]["args"] = list(names)
        return body

    short = ("hub", "hub.jhub", "hub.jhub.svc", "hub.jhub.svc.cluster.local")
    await core.create_namespaced_pod("jhub", resolver_pod("same-ns", *short))
    await core.create_namespaced_pod("default", resolver_pod("other-ns", *short[1:]))
    ip = hub.spec.cluster_ip
    log = await run_to_completion(sim, "jhub", "same-ns")
    assert log.splitlines() == [f"{n} {ip}" for n in short]
    log = await run_to_completion(sim, "default", "other-ns")
    assert log.splitlines() == [f"{n} {ip}" for n in short[1:]]

    # the short name is only searched in the pod's own namespace
    code = "import socket\ntry: socket.gethostbyname('hub')\nexcept OSError as e: print('no', e)\n"
    await core.create_namespaced_pod("default", python_pod("short-elsewhere", code))
    assert "no " in await run_to_completion(sim, "default", "short-elsewhere")


@needs_namespaces
async def test_resolv_conf_and_hosts_follow_the_pod_spec(cluster):
    sim, core = cluster
    show = (
        "import socket; print('uname', socket.gethostname());"
        "print(open('/etc/resolv.conf').read()); print(open('/etc/hosts').read())"
    )
    await core.create_namespaced_pod("default", python_pod("first", show))
    await core.create_namespaced_pod(
        "default",
        python_pod(
            "custom",
            show,
            dnsPolicy="None",
            dnsConfig={
                "nameservers": ["127.0.0.9"],
                "searches": ["example.test"],
                "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}],
            },
            hostname="web",
            subdomain="db",
            hostAliases=[{"ip": "127.0.0.7", "hostnames": ["alias.test"]}],
        ),
    )
    log = await run_to_completion(sim, "default", "first")
    dns = sim.nodes.cluster_dns
    assert "search default.svc.cluster.local svc.cluster.local cluster.local" in log
    assert f"nameserver {dns.host}\n" in log and "options ndots:5" in log
    first = sim.store.peek("pods", "first", "default")
    assert f"{first['status']['podIP']}\tfirst\n" in log and "uname first\n" in log
    log = await run_to_completion(sim, "default", "custom")
    assert "search example.test\nnameserver 127.0.0.9\noptions ndots:2 edns0\n" in log
    custom = sim.store.peek("pods", "custom", "default")
    assert f"{custom['status']['podIP']}\tweb.db.default.svc.cluster.local\tweb\n" in log
    assert "# Entries added by HostAliases.\n127.0.0.7\talias.test\n" in log
    assert "uname web\n" in log


def test_dns_policy_default_and_host_network_keep_the_host_resolver():
    host = parse_resolv_conf("nameserver 10.0.0.2\nsearch corp.test\noptions timeout:1\n")
    pod = {"metadata": {"name": "p", "namespace": "ns"}, "spec": {"dnsPolicy": "Default"}}
    expected = "search corp.test\nnameserver 10.0.0.2\noptions timeout:1\n"
    assert resolv_conf(pod, "127.53.0.1", host) == expected
    pod["spec"] = {"hostNetwork": True}  # ClusterFirst falls back to Default on hostNetwork
    assert resolv_conf(pod, "127.53.0.1", host) == expected
    pod["spec"] = {"hostNetwork": True, "dnsPolicy": "ClusterFirstWithHostNet"}
    assert resolv_conf(pod, "127.53.0.1", host) == (
        "search ns.svc.cluster.local svc.cluster.local cluster.local corp.test\n"
        "nameserver 127.53.0.1\noptions ndots:5\n"
    )
    pod["spec"] = {}  # no cluster nameserver known: the kubelet falls back to Default
    assert resolv_conf(pod, None, host) == expected
    assert resolv_conf(pod, None, ResolvConf()) == ""
    assert hosts_file(pod, "127.244.0.3").endswith("127.244.0.3\tp\n")
