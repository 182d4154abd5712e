"""`python -m kubesim`: writes the kubeconfig when ready, logs requests, stops on signals."""

import asyncio
import signal
import socket
import subprocess
import sys

import pytest

from kubesim.node import dns_wire as wire
from kubesim.testing import CliFailed, raw_request, running_cli, start_cli


def cli_in_folder(folder, *args):
    """`python -m kubesim --port 0 ... *args` writing `folder/kubeconfig`, output piped:
    `async with` it gives (process, endpoint) once the kubeconfig exists."""
    pipes = {"stdout": asyncio.subprocess.PIPE, "stderr": asyncio.subprocess.PIPE}
    return running_cli(folder / "kubeconfig", *args, timeout=30, **pipes)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_cli_serves_and_stops_on_signal(tmp_path, signum):
    async with cli_in_folder(tmp_path, "--nodes", "0") as (process, sim):
        code, body = await raw_request(sim, "GET", "/api/v1/namespaces")
        assert code == 200 and body["kind"] == "NamespaceList"
        process.send_signal(signum)
        await asyncio.wait_for(process.wait(), 20)
        assert process.returncode == 0
        stderr = (await process.stderr.read()).decode()
        assert "GET /api/v1/namespaces 200" in stderr
        assert "kubesim: stopping" in stderr
        assert "Traceback" not in stderr


async def test_cli_node_labels_taints_and_delays(tmp_path):
    async with cli_in_folder(
        tmp_path,
        "--nodes",
        "1",
        "--node-label",
        "topology.kubernetes.io/zone=zone-a",
        "--node-label",
        "team=",
        "--node-taint",
        "dedicated=gpu:NoSchedule",
        "--node-taint",
        "spot:PreferNoSchedule",
        "--delay",
        "pulling=1.5",
    ) as (_, sim):
        code, node = await raw_request(sim, "GET", "/api/v1/nodes/node-1")
        assert code == 200
        assert node["metadata"]["labels"]["topology.kubernetes.io/zone"] == "zone-a"
        assert node["metadata"]["labels"]["team"] == ""
        assert node["metadata"]["labels"]["kubernetes.io/hostname"] == "node-1"
        assert node["spec"]["taints"] == [
            {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
            {"key": "spot", "effect": "PreferNoSchedule"},
        ]

        def pod(name, **spec):
            containers = [{"name": "main", "image": "busybox:1.36"}]
            return {"metadata": {"name": name}, "spec": {"containers": containers, **spec}}

        path = "/api/v1/namespaces/default/pods"
        await raw_request(sim, "POST", path, pod("untolerated"))
        toleration = {
            "key": "dedicated",
            "operator": "Equal",
            "value": "gpu",
            "effect": "NoSchedule",
        }
        loop = asyncio.get_running_loop()
        started = loop.time()
        await raw_request(sim, "POST", path, pod("tolerated", tolerations=[toleration]))
        async with asyncio.timeout(20):
            while True:
                _, tolerated = await raw_request(sim, "GET", f"{path}/tolerated")
                if (tolerated.get("status") or {}).get("phase") == "Running":
                    break
                await asyncio.sleep(0.05)
        assert loop.time() - started >= 1.5  # the image pull took --delay pulling=1.5
        _, untolerated = await raw_request(sim, "GET", f"{path}/untolerated")
        (scheduled,) = untolerated["status"]["conditions"]
        assert scheduled["message"] == (
            "0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}."
        )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--node-label", "zone"], "argument --node-label: 'zone': use key=value"),
        (
            ["--node-label", "bad key=a"],
            "argument --node-label: 'bad key=a': Invalid value: \"bad key\"",
        ),
        (["--node-label", "zone=a b"], "argument --node-label: 'zone=a b': Invalid value: \"a b\""),
        (["--node-taint", "gpu=true"], "argument --node-taint: 'gpu=true': use key=value:Effect"),
        (
            ["--node-taint", "gpu=true:NoSchedul"],
            "argument --node-taint: 'gpu=true:NoSchedul': effect 'NoSchedul' is not one of "
            "NoSchedule, PreferNoSchedule, NoExecute",
        ),
        (
            ["--node-taint", "gpu:NoSchedule", "--node-taint", "gpu=x:NoSchedule"],
            "argument --node-taint: gpu with effect NoSchedule is given twice",
        ),
        (["--delay", "pulling"], "argument --delay: 'pulling': use step=seconds"),
        (
            ["--delay", "pull=1"],
            "argument --delay: 'pull=1': unknown delay 'pull'; known delays: crashloop_backoff,",
        ),
        (["--delay", "pulling=soon"], "argument --delay: 'pulling=soon': 'soon' is not a number"),
        (["--delay", "pulling=-1"], "argument --delay: 'pulling=-1': delay pulling=-1.0 must be"),
    ],
)
async def test_cli_rejects_bad_node_flags(tmp_path, args, message):
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kubesim",
        "--write-kubeconfig",
        str(tmp_path / "k"),
        *args,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert message in err.decode()
    assert not (tmp_path / "k").exists()


async def test_cli_rejects_bad_runtime(tmp_path):
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kubesim",
        "--write-kubeconfig",
        str(tmp_path / "k"),
        "--runtime",
        "docker",
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2 and b"invalid choice: 'docker'" in err


async def test_cli_prints_where_cluster_dns_listens(tmp_path):
    async with cli_in_folder(tmp_path, "--nodes", "1", "--runtime", "process") as (process, sim):
        body = {"metadata": {"name": "hub"}, "spec": {"ports": [{"port": 8081}]}}
        code, hub = await raw_request(sim, "POST", "/api/v1/namespaces/default/services", body)
        assert code == 201, hub
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        while "cluster DNS" not in line:
            assert line, "kubesim printed no cluster DNS line"
            line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        address = line.split(" on ", 1)[1].split(" ", 1)[0]
        host, port = address.rsplit(":", 1)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(5)
        try:
            sock.sendto(wire.encode_query(9, "hub.default.svc.cluster.local"), (host, int(port)))
            ident, rcode, addresses = wire.parse_response(sock.recv(512))
        finally:
            sock.close()
        assert (ident, rcode, addresses) == (9, wire.NOERROR, [hub["spec"]["clusterIP"]])


async def test_start_cli_over_https_gives_an_endpoint_clients_use(tmp_path):
    """The launcher of kubesim.testing (ci/conformance, ci/localdeploy): the CA of
    the kubeconfig is written beside it, so a client verifies the server with it."""
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    process, cli = await asyncio.to_thread(
        start_cli, tmp_path / "kubeconfig", "--nodes", "0", "--https", **quiet
    )
    try:
        assert cli.url.startswith("https://127.0.0.1:") and cli.ca_path.exists()
        code, body = await raw_request(cli, "GET", "/api/v1/namespaces")
        assert code == 200 and body["kind"] == "NamespaceList"
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 20)
    assert process.returncode == 0


async def test_start_cli_names_the_exit_code_of_a_cli_that_stops(tmp_path):
    stale = tmp_path / "kubeconfig"
    stale.write_text("from an earlier run")
    with pytest.raises(CliFailed, match="kubesim exited with code 2 before writing"):
        await asyncio.to_thread(start_cli, stale, "--runtime", "docker", stderr=subprocess.DEVNULL)
    assert not stale.exists()
