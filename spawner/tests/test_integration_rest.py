"""The whole hub serving HTTP (JupyterHub's MockHub with a real
configurable-http-proxy): spawn with JSON options through the REST API,
follow the progress event stream, stop through the API. And the hub
learning of a stopped server from the pod watch, not from polling: with
KubeSpawner's default poll_interval of 300 s, a pod deleted or a container
exited behind the hub's back shows as a stopped server in `GET /users/NAME`
within seconds."""

import asyncio
import json
import os
from pathlib import Path

import pytest
from jupyterhub.handlers.base import BaseHandler

from kubespawner import KubeSpawner

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


# ---- stop notices from the watch ------------------------------------------


@pytest.fixture
def stop_callbacks(monkeypatch):
    """Names of the users whose stop callback the hub ran (BaseHandler.user_stopped)."""
    called = []
    original = BaseHandler.user_stopped

    async def counting(self, user, server_name):
        called.append(user.name)
        return await original(self, user, server_name)

    monkeypatch.setattr(BaseHandler, "user_stopped", counting)
    return called


async def servers_of(hub, name):
    r = await api(hub, "get", "users", name)
    assert r.status_code == 200, r.text
    return r.json()["servers"]


async def start_server(hub, name):
    hub.user(name)
    r = await api(hub, "post", "users", name, "server")
    assert r.status_code in (201, 202), r.text
    for _ in range(500):
        servers = await servers_of(hub, name)
        if servers.get("", {}).get("ready"):
            spawner = hub.user(name).spawner
            assert spawner.poll_interval == 300
            return spawner
        await asyncio.sleep(0.02)
    raise AssertionError(f"{name}'s server never became ready")


async def wait_until_stopped(hub, name, seconds=5.0):
    """The hub API shows no server for `name` within `seconds` (far below
    the 300 s poll_interval, so it was the watch that said so)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if not await servers_of(hub, name):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the hub still lists {name}'s server {seconds} s after it stopped")


async def delete_pod(api, name):
    await api.request("DELETE", f"/api/v1/namespaces/{NS}/pods/{name}")


async def test_pod_deleted_behind_the_hubs_back_stops_the_server(serve_hub, api, stop_callbacks):
    hub = await serve_hub()
    await start_server(hub, "ann")
    await delete_pod(api, "jupyter-ann")
    await wait_until_stopped(hub, "ann")
    await asyncio.sleep(0.5)  # the DELETED event after the terminating one: no second notice
    assert stop_callbacks == ["ann"]


async def test_exited_container_stops_the_server(serve_hub, sim, stop_callbacks):
    hub = await serve_hub()
    hub.app.config.KubeSpawner.image = "exits:1"  # for spawners made from now on
    sim.nodes.add_image_rule({"image": "exits:*", "exit_code": 3, "run_seconds": 2})
    await start_server(hub, "bob")
    await wait_until_stopped(hub, "bob", seconds=8)
    assert stop_callbacks == ["bob"]


async def test_hub_initiated_stop_is_not_notified(serve_hub, sim, monkeypatch, stop_callbacks):
    # (the hub's DELETE handler calls poll_and_notify itself: count the
    # spawner's own notices)
    notices = []
    original = KubeSpawner._notify_hub_of_stop

    async def counting(self):
        notices.append(self.user.name)
        return await original(self)

    monkeypatch.setattr(KubeSpawner, "_notify_hub_of_stop", counting)
    hub = await serve_hub()
    await start_server(hub, "cat")
    r = await api(hub, "delete", "users", "cat", "server")
    assert r.status_code in (202, 204), r.text
    for _ in range(500):
        if sim.get("pods", "jupyter-cat", NS) is None and not hub.user("cat").spawner.pending:
            break
        await asyncio.sleep(0.02)
    assert sim.get("pods", "jupyter-cat", NS) is None
    await asyncio.sleep(0.5)
    assert not await servers_of(hub, "cat")
    assert notices == [] and stop_callbacks == []


async def test_a_relisting_reflector_still_notifies(serve_hub, sim, api, stop_callbacks):
    hub = await serve_hub()
    spawner = await start_server(hub, "dan")
    pods = spawner.pod_reflector
    lists = pods.list_count
    # the watch is cut and cannot resume (410): the deletion reaches the
    # cache through a fresh LIST, or the watch after it
    sim.expire_next_watches(1)
    sim.cut_watches("pods")
    await delete_pod(api, "jupyter-dan")
    await wait_until_stopped(hub, "dan")
    assert pods.list_count > lists
    assert stop_callbacks == ["dan"]


async def test_an_explicit_poll_interval_wins(hub_factory):
    hub = await hub_factory()
    assert hub.spawner("eve").poll_interval == 300
    hub.app.config.Spawner.poll_interval = 45
    assert hub.spawner("fay").poll_interval == 45
    hub = await hub_factory(poll_interval=60)  # c.KubeSpawner over c.Spawner
    hub.app.config.Spawner.poll_interval = 45
    assert hub.spawner("gus").poll_interval == 60
