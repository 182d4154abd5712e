"""The whole hub serving HTTP (JupyterHub's MockHub with a real
configurable-http-proxy): spawn with JSON options through the REST API,
follow the progress event stream, stop through the API."""

import asyncio
import json
import os
from pathlib import Path

import pytest

NS = "default"
ROOT = Path(__file__).resolve().parents[2]
PROFILES = [
    {"display_name": "Small", "slug": "small", "default": True},
    {"display_name": "Big", "slug": "big", "kubespawner_override": {"image": "big:1"}},
]


@pytest.fixture
async def serve_hub(hub_factory, monkeypatch):
    """serve_hub(**hub_config) -> a started Hub (HTTP API + proxy)."""
    monkeypatch.setenv("PATH", f"{ROOT / 'node_modules/.bin'}:{os.environ['PATH']}")
    started = []

    async def serve(**hub_config):
        hub = await hub_factory(profile_list=PROFILES, hub_config=hub_config)
        await hub.app.start()
        started.append(hub)
        return hub

    yield serve
    for hub in started:
        # JupyterHub.stop() would also cancel every other task on the loop
        # (pytest's included); stop serving and clean up without that
        hub.app.http_server.stop()
        for callback in hub.app._periodic_callbacks.values():
            callback.stop()
        await hub.app.cleanup()


def read_events(response):
    """The progress event stream until ready or failed (blocking: run in a thread)."""
    messages = []
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith("data:"):
            event = json.loads(line[5:])
            messages.append(event)
            if event.get("ready") or event.get("failed"):
                break
    response.close()
    return messages


async def api(hub, method, *path, **kwargs):
    from jupyterhub.tests.utils import api_request

    return await api_request(hub.app, *path, method=method, bypass_proxy=True, **kwargs)


async def test_rest_spawn_with_json_options_progress_and_stop(serve_hub, sim):
    # slow_spawn_timeout 0: the POST answers 202 at once, as for any slow spawn
    hub = await serve_hub(tornado_settings={"slow_spawn_timeout": 0})
    hub.user("rae")
    sim.nodes.set_delays(readiness=0.5)  # so the progress stream has events to show
    r = await api(hub, "post", "users", "rae", "server", data=json.dumps({"profile": "big"}))
    assert r.status_code == 202, r.text
    r = await api(hub, "get", "users", "rae", "server", "progress", stream=True)
    messages = await asyncio.to_thread(read_events, r)
    assert messages[-1].get("ready"), messages[-1]
    assert any("Successfully assigned" in m.get("message", "") for m in messages)
    assert sim.get("pods", "jupyter-rae", NS)["spec"]["containers"][0]["image"] == "big:1"

    r = await api(hub, "delete", "users", "rae", "server")
    assert r.status_code in (202, 204)
    for _ in range(500):
        if sim.get("pods", "jupyter-rae", NS) is None and not hub.user("rae").spawner.pending:
            break
        await asyncio.sleep(0.02)
    assert sim.get("pods", "jupyter-rae", NS) is None


async def test_rest_rejects_invalid_options(serve_hub, sim):
    hub = await serve_hub()
    hub.user("sid")
    r = await api(hub, "post", "users", "sid", "server", data=json.dumps({"profile": "nope"}))
    assert r.status_code == 400
    assert "nope" in r.json()["message"]
    assert sim.requests("create", "pods") == 0
