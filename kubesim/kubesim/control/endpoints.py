"""The endpoints and endpointslice controllers: Endpoints and EndpointSlices for every
Service with a selector.

Like the real controller it lists the pods the selector matches that have a
pod IP and are not being deleted: ready ones under `addresses`, the others
under `notReadyAddresses` (or `addresses` when the Service sets
publishNotReadyAddresses), each with nodeName and a targetRef, and the
Service's ports with named targetPorts resolved per pod (pods that resolve a
port differently land in separate subsets). Services without a selector keep
whatever Endpoints their owner writes.

EndpointSlices (discovery.k8s.io/v1) are what the endpointslice controller
writes: one slice per distinct set of resolved ports, named `<service>-xxxxx`,
owned by the Service, labelled `kubernetes.io/service-name` and
`endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io`;
unlike Endpoints they keep terminating pods, with conditions ready (ready and
not terminating, or publishNotReadyAddresses), serving (ready) and terminating.
"""

from __future__ import annotations

import logging

from kubesim.api.store_workers import KeyedWorker
from kubesim.model.ownership import owner_reference
from kubesim.model.service_ports import target_port

log = logging.getLogger(__name__)


def _ready(pod: dict) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def _matches(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _target_ref(pod: dict) -> dict:
    meta = pod["metadata"]
    return {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"]}


def endpoint_subsets(service: dict, pods: list[dict]) -> list[dict]:
    """The `subsets` of the Service's Endpoints (pure)."""
    spec = service.get("spec") or {}
    publish_all = bool(spec.get("publishNotReadyAddresses"))
    groups: dict[tuple, dict] = {}
    for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
        status = pod.get("status") or {}
        if not status.get("podIP") or pod["metadata"].get("deletionTimestamp"):
            continue
        if status.get("phase") in ("Succeeded", "Failed"):
            continue
        # Endpoints leave an unnamed port's name out; slices spell it ""
        ports = [{k: v for k, v in p.items() if k != "name" or v} for p in _ports_of(service, pod)]
        key = tuple((p.get("name", ""), p["port"], p["protocol"]) for p in ports)
        subset = groups.setdefault(key, {"addresses": [], "notReadyAddresses": [], "ports": ports})
        address = {
            "ip": status["podIP"],
            "nodeName": (pod.get("spec") or {}).get("nodeName"),
            "targetRef": _target_ref(pod),
        }
        ready = publish_all or _ready(pod)
        subset["addresses" if ready else "notReadyAddresses"].append(address)
    subsets = []
    for subset in groups.values():
        cleaned = {k: v for k, v in subset.items() if v}
        if cleaned.get("addresses") or cleaned.get("notReadyAddresses"):
            subsets.append(cleaned)
    return subsets


SLICE_MANAGER = "endpointslice-controller.k8s.io"
SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"


def _ports_of(service: dict, pod: dict) -> list[dict]:
    ports = []
    for port in (service.get("spec") or {}).get("ports") or []:
        number = target_port(pod, port)
        if number is None:
            continue
        item = {
            "name": port.get("name", ""),
            "port": number,
            "protocol": port.get("protocol") or "TCP",
        }
        ports.append(item)
    return ports


def slice_groups(service: dict, pods: list[dict]) -> list[tuple[list[dict], list[dict]]]:
    """(ports, endpoints) of each EndpointSlice the Service needs (pure)."""
    publish_all = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    groups: dict[tuple, tuple[list[dict], list[dict]]] = {}
    for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
        status = pod.get("status") or {}
        if not status.get("podIP") or status.get("phase") in ("Succeeded", "Failed"):
            continue
        ports = _ports_of(service, pod)
        key = tuple((p["name"], p["port"], p["protocol"]) for p in ports)
        terminating = bool(pod["metadata"].get("deletionTimestamp"))
        serving = _ready(pod)
        endpoint = {
            "addresses": [status["podIP"]],
            "conditions": {
                "ready": publish_all or (serving and not terminating),
                "serving": publish_all or serving,
                "terminating": terminating,
            },
            "targetRef": _target_ref(pod),
        }
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            endpoint["nodeName"] = node
        groups.setdefault(key, (ports, []))[1].append(endpoint)
    return list(groups.values())


class EndpointsController(KeyedWorker):
    """Fed by the node simulator's Service and Pod informers (which survive
    watch faults), keyed by (namespace, Service name)."""

    def __init__(self, store):
        super().__init__()
        self.store = store

    def on_service(self, event_type: str, service: dict) -> None:
        meta = service["metadata"]
        self.enqueue((meta["namespace"], meta["name"]))

    def on_pod(self, event_type: str, pod: dict, old: dict | None) -> None:
        namespace = pod["metadata"]["namespace"]
        labels = [pod["metadata"].get("labels") or {}]
        if old is not None:
            labels.append(old["metadata"].get("labels") or {})
        for service in self.store.list("services", namespace)[0]:
            selector = (service.get("spec") or {}).get("selector")
            if selector and any(_matches(selector, item) for item in labels):
                self.enqueue((namespace, service["metadata"]["name"]))

    async def sync(self, key: tuple[str, str]) -> None:
        await self._sync(*key)

    def failed(self, key: tuple[str, str], error) -> None:
        log.debug("endpoints %s/%s not written: %s", *key, error)

    async def _sync(self, namespace: str, name: str) -> None:
        store = self.store
        service = store.peek("services", name, namespace)
        current = store.peek("endpoints", name, namespace)
        if service is None:
            if current is not None and _ours(current):
                await store.delete("endpoints", name, namespace)
            return
        selector = (service.get("spec") or {}).get("selector")
        if not selector:
            return
        label_selector = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
        pods = store.list("pods", namespace, label_selector=label_selector)[0]
        subsets = endpoint_subsets(service, pods)
        labels = dict(service["metadata"].get("labels") or {})
        labels["endpoints.kubernetes.io/managed-by"] = "endpoint-controller"
        body = {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
        }
        if subsets:
            body["subsets"] = subsets
        if current is None:
            await store.create("endpoints", body, namespace)
        elif current.get("subsets") != body.get("subsets") or (
            current["metadata"].get("labels") != labels
        ):
            await store.replace("endpoints", name, body, namespace)
        await self._sync_slices(service, pods)

    async def _sync_slices(self, service: dict, pods: list[dict]) -> None:
        store = self.store
        meta = service["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        existing = [
            s
            for s in store.list(
                "endpointslices.discovery.k8s.io",
                namespace,
                label_selector=f"{SERVICE_NAME}={name},{MANAGED_BY}={SLICE_MANAGER}",
            )[0]
        ]
        labels = {**(meta.get("labels") or {}), SERVICE_NAME: name, MANAGED_BY: SLICE_MANAGER}
        # a Service without pods still gets one slice, with no endpoints
        wanted = slice_groups(service, pods) or [([], [])]
        for ports, endpoints in wanted:
            match = next((s for s in existing if (s.get("ports") or []) == ports), None)
            if match is None and existing and len(wanted) == 1:
                match = existing[0]
            body = {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "labels": labels,
                    "ownerReferences": [owner_reference(service, "Service", "v1")],
                },
                "addressType": "IPv4",
                "endpoints": endpoints,
                "ports": ports,
            }
            if match is None:
                body["metadata"]["generateName"] = f"{name}-"
                await store.create("endpointslices.discovery.k8s.io", body, namespace)
                continue
            existing.remove(match)
            if (
                (match.get("endpoints") or []) != endpoints
                or (match.get("ports") or []) != ports
                or (match["metadata"].get("labels") != labels)
            ):
                body["metadata"]["name"] = match["metadata"]["name"]
                await store.replace(
                    "endpointslices.discovery.k8s.io", match["metadata"]["name"], body, namespace
                )
        for stale in existing:
            await store.delete(
                "endpointslices.discovery.k8s.io", stale["metadata"]["name"], namespace
            )


def _ours(endpoints: dict) -> bool:
    labels = endpoints["metadata"].get("labels") or {}
    return labels.get("endpoints.kubernetes.io/managed-by") == "endpoint-controller"
