"""A server that really answers HTTP (kubesim's process runtime): the hub's
own "is it up" check passes against the URL start() returned."""

import sys
import textwrap

import pytest

SERVER = textwrap.dedent(
    """
    import http.server, os, urllib.parse
    # where to listen comes, as for jupyterhub-singleuser, from the hub's
    # JUPYTERHUB_SERVICE_URL (its 0.0.0.0 rewritten to the pod IP by kubesim)
    url = urllib.parse.urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = os.environ.get("JUPYTERHUB_USER", "?").encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    http.server.ThreadingHTTPServer((url.hostname, url.port), Handler).serve_forever()
    """
)


@pytest.mark.kubesim(runtime="process")
async def test_hub_reaches_the_started_server(hub_factory, sim, tmp_path):
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    hub = await hub_factory(wait_up=True, image="local:1", cmd=[sys.executable, str(script)])
    spawner = await hub.spawn("nina")  # includes User._wait_up's HTTP check
    assert spawner.server.ip.startswith("127.")
    log = await sim.read_log("default", "jupyter-nina", "notebook")
    assert "GET /" in log, "the hub's check reached the server"
    assert await spawner.poll() is None
    await hub.stop("nina")
    assert sim.get("pods", "jupyter-nina", "default") is None
