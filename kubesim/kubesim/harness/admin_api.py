"""The small admin HTTP API under /kubesim/ (same token as the Kubernetes API).

GET    /kubesim/faults                 active request-fault rules
POST   /kubesim/faults                 add one: {"verb": "create", "resource": "pods",
                                       "status": 429, "count": 2, "retryAfter": 1}
                                       or {"latency": 0.5, "resource": "pods"}
DELETE /kubesim/faults[/<id>]          remove all / one
POST   /kubesim/watches/cut            cut open watches now: {"resource": "pods"}
                                       or every N s: {"every": 5}; {"every": 0} stops
POST   /kubesim/watches/expire-next    {"count": 1}: the next watches start with 410
POST   /kubesim/history/stop|resume    keep no watch history (resumes expire)
POST   /kubesim/kubelet/pause|resume   kubelets stop / restart reporting
GET    /kubesim/counters               requests per verb and resource
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from kubesim.model.errors import ApiError, bad_request

if TYPE_CHECKING:
    from kubesim.harness.simulator import KubeSim


def _json(obj: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(obj), status=status, content_type="application/json")


class AdminApi:
    def __init__(self, sim: KubeSim):
        self.sim = sim

    async def _body(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise bad_request("admin request body must be JSON") from None
        if not isinstance(body, dict):
            raise bad_request("admin request body must be a JSON object")
        return body

    async def handle(self, request: web.Request, parts: list[str]) -> web.Response:
        method, sim = request.method, self.sim
        route = "/".join(parts)
        if route == "faults" and method == "GET":
            return _json([r.to_dict() for r in sim.faults.rules])
        if route == "faults" and method == "POST":
            try:
                rule = sim.faults.add(await self._body(request))
            except (TypeError, ValueError) as exc:
                raise bad_request(f"invalid fault rule: {exc}") from None
            return _json(rule.to_dict(), 201)
        if route == "faults" and method == "DELETE":
            sim.faults.clear()
            return _json({"cleared": True})
        if len(parts) == 2 and parts[0] == "faults" and method == "DELETE":
            sim.faults.remove(int(parts[1]))
            return _json({"removed": int(parts[1])})
        if route == "watches/cut" and method == "POST":
            body = await self._body(request)
            if "every" in body:
                sim.cut_watches_every(float(body["every"]) or None, body.get("resource"))
                return _json({"every": body["every"]})
            return _json({"cut": sim.cut_watches(body.get("resource"))})
        if route == "watches/expire-next" and method == "POST":
            body = await self._body(request)
            sim.expire_next_watches(int(body.get("count", 1)))
            return _json({"expireNext": sim.store.expire_next_watches})
        if route == "history/stop" and method == "POST":
            sim.stop_watch_history()
            return _json({"history": "stopped"})
        if route == "history/resume" and method == "POST":
            sim.resume_watch_history()
            return _json({"history": "kept"})
        if route == "kubelet/pause" and method == "POST":
            sim.pause_kubelet()
            return _json({"kubelet": "paused"})
        if route == "kubelet/resume" and method == "POST":
            sim.resume_kubelet()
            return _json({"kubelet": "running"})
        if route == "counters" and method == "GET":
            return _json(
                [
                    {"verb": v, "resource": r, "count": n}
                    for (v, r), n in sorted(sim.counters.items())
                ]
            )
        raise ApiError(404, "NotFound", f"no kubesim admin endpoint {method} /kubesim/{route}")
