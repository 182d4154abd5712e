"""secret-sync against kubesim: acme.json goes from the Secret to the file and back."""

import asyncio
import base64
import json
import os
import signal
import sys
from pathlib import Path

import pytest
from k8s_helpers.secret_sync import parse_args, run
from kubernetes_asyncio.client import CoreV1Api
from kubernetes_asyncio.client.exceptions import ApiException

HUB_IMAGE_DIR = Path(__file__).resolve().parents[2] / "images" / "hub"
NAMESPACE = "default"
SECRET = "proxy-public-tls-acme"
ACME = json.dumps({"letsencrypt": {"Account": {"Email": "admin@example.org"}, "Certificates": []}})


@pytest.fixture
async def cluster(kubesim_factory):
    return await kubesim_factory(nodes=0)


@pytest.fixture
async def core(cluster):
    from kubesim.testing import api_client_for

    async with await api_client_for(cluster) as client:
        yield CoreV1Api(client)


def args_for(cluster, mode, path, *extra):
    return parse_args(
        [
            mode,
            SECRET,
            str(path),
            "--kubeconfig",
            str(cluster.kubeconfig_path),
            "--namespace",
            NAMESPACE,
            "--interval",
            "0.05",
            *extra,
        ]
    )


async def stored(core, key="acme.json"):
    try:
        secret = await core.read_namespaced_secret(SECRET, NAMESPACE)
    except ApiException as e:
        if e.status == 404:
            return None
        raise
    value = (secret.data or {}).get(key)
    return None if value is None else base64.b64decode(value).decode()


async def eventually(check, what, attempts=200):
    for _ in range(attempts):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def make_secret(core, data: dict[str, str]):
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    await core.create_namespaced_secret(
        NAMESPACE, {"metadata": {"name": SECRET}, "type": "Opaque", "data": encoded}
    )


async def test_load_writes_the_stored_file_readable_by_its_owner_only(cluster, core, tmp_path):
    await make_secret(core, {"acme.json": ACME})
    path = tmp_path / "acme" / "acme.json"
    assert await run(args_for(cluster, "load", path)) == 0
    assert path.read_text() == ACME
    assert path.stat().st_mode & 0o777 == 0o600


async def test_load_with_nothing_stored_leaves_the_file_alone(cluster, core, tmp_path):
    path = tmp_path / "acme.json"
    assert await run(args_for(cluster, "load", path)) == 0
    assert not path.exists()
    await make_secret(core, {"other": "x"})  # the Secret without our key
    assert await run(args_for(cluster, "load", path)) == 0
    assert not path.exists()


async def test_watch_creates_the_secret_and_saves_every_change(cluster, core, tmp_path):
    path = tmp_path / "acme.json"
    stop = asyncio.Event()
    args = args_for(cluster, "watch", path, "--label", "app.kubernetes.io/component=autohttps")
    watching = asyncio.create_task(run(args, stop))

    path.write_text(ACME)

    async def saved(expected):
        async def check():
            return await stored(core) == expected

        return check

    await eventually(await saved(ACME), "the first certificate is saved")
    secret = await core.read_namespaced_secret(SECRET, NAMESPACE)
    assert secret.metadata.labels == {"app.kubernetes.io/component": "autohttps"}

    renewed = ACME.replace("[]", '[{"domain": {"main": "hub.example.org"}}]')
    path.write_text(renewed)
    await eventually(await saved(renewed), "the renewed certificate is saved")
    stop.set()
    assert await asyncio.wait_for(watching, 30) == 0


async def test_watch_keeps_the_secrets_other_keys_and_skips_half_written_json(
    cluster, core, tmp_path
):
    await make_secret(core, {"acme.json": ACME, "keep-me": "untouched"})
    path = tmp_path / "acme.json"
    stop = asyncio.Event()
    watching = asyncio.create_task(run(args_for(cluster, "sync", path), stop))

    async def loaded():
        return path.exists() and path.read_text() == ACME

    await eventually(loaded, "sync loads the file first")
    updates_before = cluster.requests("update", "secrets")
    path.write_text(ACME[:20])  # traefik caught mid-write

    await asyncio.sleep(0.5)  # lets the watch (same event loop, 0.05 s interval) look ~10 times
    assert await stored(core) == ACME
    assert cluster.requests("update", "secrets") == updates_before

    complete = ACME.replace("admin@", "ops@")
    path.write_text(complete)

    async def saved():
        return await stored(core) == complete

    await eventually(saved, "the complete file is saved")
    assert await stored(core, "keep-me") == "untouched"
    stop.set()
    assert await asyncio.wait_for(watching, 30) == 0


async def test_missing_permission_is_named_and_exits_2(cluster, core, tmp_path, caplog):
    await make_secret(core, {"acme.json": ACME})
    cluster.faults.fail(verb="get", resource="secrets", status=403)
    args = [
        "load",
        SECRET,
        str(tmp_path / "acme.json"),
        "--kubeconfig",
        str(cluster.kubeconfig_path),
    ]
    assert await run(parse_args(args)) == 2
    assert "grant get, update and create on secrets" in caplog.text


def test_labels_must_be_key_value(capsys):
    with pytest.raises(SystemExit) as exited:
        parse_args(["watch", SECRET, "/tmp/acme.json", "--label", "novalue"])
    assert exited.value.code == 2
    assert "--label 'novalue': write it as KEY=VALUE" in capsys.readouterr().err


async def test_sigterm_saves_the_last_change_before_exiting(cluster, core, tmp_path):
    """Through a fresh interpreter, as the sidecar runs: the pod's stop sends SIGTERM."""
    path = tmp_path / "acme.json"
    path.write_text(ACME)
    command = [
        sys.executable,
        "-m",
        "k8s_helpers.secret_sync",
        "watch",
        SECRET,
        str(path),
        "--kubeconfig",
        str(cluster.kubeconfig_path),
        "--interval",
        "3600",  # only the start and the stop look at the file
    ]
    env = {**os.environ, "PYTHONPATH": str(HUB_IMAGE_DIR), "POD_NAMESPACE": NAMESPACE}
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stderr=asyncio.subprocess.PIPE
    )

    async def first_saved():
        return await stored(core) == ACME

    await eventually(first_saved, "the file is saved at start", attempts=1200)
    last = ACME.replace("admin@", "last@")
    path.write_text(last)
    process.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    assert await stored(core) == last
