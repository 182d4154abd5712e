"""`python -m kubesim`: writes the kubeconfig when ready, logs requests, stops on signals."""

import asyncio
import signal
import sys

import yaml

from kubesim.testing import raw_request


class _Running:
    def __init__(self, url, token):
        self.url, self.token, self.ca_path = url, token, None


async def test_cli_serves_and_stops_on_sigterm(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kubesim",
        "--port",
        "0",
        "--write-kubeconfig",
        str(kubeconfig),
        "--nodes",
        "0",
        stderr=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while not kubeconfig.exists():
            assert process.returncode is None, "kubesim exited early"
            assert loop.time() < deadline, "no kubeconfig written"
            await asyncio.sleep(0.1)
        config = yaml.safe_load(kubeconfig.read_text())
        server = config["clusters"][0]["cluster"]["server"]
        token = config["users"][0]["user"]["token"]
        code, body = await raw_request(_Running(server, token), "GET", "/api/v1/namespaces")
        assert code == 200 and body["kind"] == "NamespaceList"
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 20)
        assert process.returncode == 0
        stderr = (await process.stderr.read()).decode()
        assert "GET /api/v1/namespaces 200" in stderr
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


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
