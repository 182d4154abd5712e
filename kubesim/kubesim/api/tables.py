"""Server-side printing: the `Table` kubectl asks for (Accept: ...;as=Table).

The columns and cell formats follow kube-apiserver's printers for the types
people look at (pods, nodes, services, events, ...); everything else gets
Name and Age, like a resource without a printer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]


def human_duration(seconds: float) -> str:
    """kube's duration.HumanDuration, as kubectl shows ages."""
    if seconds < -1:
        return "<invalid>"
    s = int(max(seconds, 0))
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if hours < 24 * 365 * 2:
        return f"{days}d"
    years = days // 365
    if hours < 24 * 365 * 8:
        return f"{years}y{days % 365}d" if days % 365 else f"{years}y"
    return f"{years}y"


def age(timestamp: str | None) -> str:
    if not timestamp:
        return "<unknown>"
    then = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return human_duration((datetime.now(UTC) - then).total_seconds())


def _col(
    name: str, type_: str = "string", priority: int = 0, fmt: str = "", description: str = ""
) -> dict[str, Any]:
    return {
        "name": name,
        "type": type_,
        "format": fmt,
        "description": description or name,
        "priority": priority,
    }


NAME = _col("Name", fmt="name", description="Name must be unique within a namespace.")
AGE = _col(
    "Age",
    description="CreationTimestamp is a timestamp representing the server time "
    "when this object was created.",
)


def pod_status(pod: Obj) -> tuple[str, int, int, int]:
    """(STATUS text, ready containers, total containers, restarts) as kubectl prints."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Pending"
    total = len(spec.get("containers") or [])
    ready, restarts = 0, 0
    init_specs = spec.get("initContainers") or []
    initializing = False
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        restarts += cs.get("restartCount", 0)
        state = cs.get("state") or {}
        term, waiting = state.get("terminated"), state.get("waiting")
        if term and term.get("exitCode", 0) == 0:
            continue
        if term:
            reason = "Init:" + (
                term.get("reason")
                or (
                    f"Signal:{term['signal']}"
                    if term.get("signal")
                    else f"ExitCode:{term.get('exitCode')}"
                )
            )
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break
    if not initializing:
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += cs.get("restartCount", 0)
            state = cs.get("state") or {}
            waiting, term = state.get("waiting"), state.get("terminated")
            if waiting and waiting.get("reason"):
                reason = waiting["reason"]
            elif term and term.get("reason"):
                reason = term["reason"]
            elif term:
                reason = (
                    f"Signal:{term['signal']}"
                    if term.get("signal")
                    else f"ExitCode:{term.get('exitCode')}"
                )
            elif cs.get("ready") and "running" in state:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            ready_cond = next(
                (c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None
            )
            reason = (
                "Running" if ready_cond and ready_cond.get("status") == "True" else ("NotReady")
            )
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    return reason, ready, total, restarts


def _pod_row(pod: Obj) -> list[Any]:
    status = pod.get("status") or {}
    reason, ready, total, restarts = pod_status(pod)
    gates = (pod.get("spec") or {}).get("readinessGates") or []
    return [
        pod["metadata"]["name"],
        f"{ready}/{total}",
        reason,
        restarts,
        age(pod["metadata"].get("creationTimestamp")),
        status.get("podIP") or "<none>",
        (pod.get("spec") or {}).get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        f"0/{len(gates)}" if gates else "<none>",
    ]


def _node_row(node: Obj) -> list[Any]:
    conditions = (node.get("status") or {}).get("conditions") or []
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    state = "Unknown"
    if ready:
        state = "Ready" if ready.get("status") == "True" else "NotReady"
    if (node.get("spec") or {}).get("unschedulable"):
        state += ",SchedulingDisabled"
    labels = node["metadata"].get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
    info = (node.get("status") or {}).get("nodeInfo") or {}
    addresses = (node.get("status") or {}).get("addresses") or []
    internal = next((a["address"] for a in addresses if a.get("type") == "InternalIP"), "<none>")
    return [
        node["metadata"]["name"],
        state,
        ",".join(roles) or "<none>",
        age(node["metadata"].get("creationTimestamp")),
        info.get("kubeletVersion", ""),
        internal,
        "<none>",
        info.get("osImage", "<unknown>"),
        info.get("kernelVersion", "<unknown>"),
        info.get("containerRuntimeVersion", ""),
    ]


def _service_row(svc: Obj) -> list[Any]:
    spec = svc.get("spec") or {}
    ports = (
        ",".join(
            f"{p.get('port')}{':' + str(p['nodePort']) if p.get('nodePort') else ''}"
            f"/{p.get('protocol', 'TCP')}"
            for p in spec.get("ports") or []
        )
        or "<none>"
    )
    # kubectl's getServiceExternalIP: a LoadBalancer's status ingress addresses
    # first, then spec.externalIPs; "<pending>" while a LoadBalancer has neither
    addresses = list(spec.get("externalIPs") or [])
    if spec.get("type") == "LoadBalancer":
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        found = [i.get("ip") or i.get("hostname") for i in ingress]
        addresses = [a for a in found if a] + addresses
    external = ",".join(addresses) or (
        "<pending>" if spec.get("type") == "LoadBalancer" else "<none>"
    )
    selector = ",".join(f"{k}={v}" for k, v in (spec.get("selector") or {}).items())
    return [
        svc["metadata"]["name"],
        spec.get("type", "ClusterIP"),
        spec.get("clusterIP") or "<none>",
        external,
        ports,
        age(svc["metadata"].get("creationTimestamp")),
        selector or "<none>",
    ]


def _event_row(ev: Obj) -> list[Any]:
    obj = ev.get("involvedObject") or {}
    last = ev.get("lastTimestamp") or ev.get("eventTime") or ev["metadata"].get("creationTimestamp")
    if last and "." in last:
        last = last.split(".")[0] + "Z"
    source = (ev.get("source") or {}).get("component", "")
    return [
        age(last),
        ev.get("type", ""),
        ev.get("reason", ""),
        f"{(obj.get('kind') or '').lower()}/{obj.get('name', '')}",
        obj.get("fieldPath", ""),
        source,
        ev.get("message", ""),
        age(ev.get("firstTimestamp") or last),
        ev.get("count", 1),
        ev["metadata"]["name"],
    ]


def _deployment_row(d: Obj) -> list[Any]:
    spec, status = d.get("spec") or {}, d.get("status") or {}
    return [
        d["metadata"]["name"],
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
        status.get("updatedReplicas", 0),
        status.get("availableReplicas", 0),
        age(d["metadata"].get("creationTimestamp")),
    ]


def _pvc_row(pvc: Obj) -> list[Any]:
    spec, status = pvc.get("spec") or {}, pvc.get("status") or {}
    capacity = (status.get("capacity") or {}).get("storage", "")
    modes = ",".join(
        {
            "ReadWriteOnce": "RWO",
            "ReadOnlyMany": "ROX",
            "ReadWriteMany": "RWX",
            "ReadWriteOncePod": "RWOP",
        }.get(m, m)
        for m in status.get("accessModes") or []
    )
    return [
        pvc["metadata"]["name"],
        status.get("phase", "Pending"),
        spec.get("volumeName", ""),
        capacity,
        modes,
        spec.get("storageClassName") or "<unset>",
        "<unset>",
        age(pvc["metadata"].get("creationTimestamp")),
    ]


def _pv_row(pv: Obj) -> list[Any]:
    spec, status = pv.get("spec") or {}, pv.get("status") or {}
    claim = spec.get("claimRef") or {}
    modes = ",".join(
        {
            "ReadWriteOnce": "RWO",
            "ReadOnlyMany": "ROX",
            "ReadWriteMany": "RWX",
            "ReadWriteOncePod": "RWOP",
        }.get(m, m)
        for m in spec.get("accessModes") or []
    )
    return [
        pv["metadata"]["name"],
        (spec.get("capacity") or {}).get("storage", ""),
        modes,
        spec.get("persistentVolumeReclaimPolicy", ""),
        status.get("phase", ""),
        f"{claim.get('namespace')}/{claim.get('name')}" if claim else "",
        spec.get("storageClassName", ""),
        "<unset>",
        status.get("reason", ""),
        age(pv["metadata"].get("creationTimestamp")),
    ]


_PRINTERS: dict[str, tuple[list[dict[str, Any]], Callable[[Obj], list[Any]]]] = {
    "pods": (
        [
            NAME,
            _col("Ready"),
            _col("Status"),
            _col("Restarts", "integer"),
            AGE,
            _col("IP", priority=1),
            _col("Node", priority=1),
            _col("Nominated Node", priority=1),
            _col("Readiness Gates", priority=1),
        ],
        _pod_row,
    ),
    "nodes": (
        [
            NAME,
            _col("Status"),
            _col("Roles"),
            AGE,
            _col("Version"),
            _col("Internal-IP", priority=1),
            _col("External-IP", priority=1),
            _col("OS-Image", priority=1),
            _col("Kernel-Version", priority=1),
            _col("Container-Runtime", priority=1),
        ],
        _node_row,
    ),
    "services": (
        [
            NAME,
            _col("Type"),
            _col("Cluster-IP"),
            _col("External-IP"),
            _col("Port(s)"),
            AGE,
            _col("Selector", priority=1),
        ],
        _service_row,
    ),
    "events": (
        [
            _col("Last Seen"),
            _col("Type"),
            _col("Reason"),
            _col("Object"),
            _col("Subobject", priority=1),
            _col("Source", priority=1),
            _col("Message"),
            _col("First Seen", priority=1),
            _col("Count", "integer", 1),
            _col("Name", priority=1),
        ],
        _event_row,
    ),
    "deployments.apps": (
        [NAME, _col("Ready"), _col("Up-to-date", "integer"), _col("Available", "integer"), AGE],
        _deployment_row,
    ),
    "persistentvolumeclaims": (
        [
            NAME,
            _col("Status"),
            _col("Volume"),
            _col("Capacity"),
            _col("Access Modes"),
            _col("StorageClass"),
            _col("VolumeAttributesClass"),
            AGE,
        ],
        _pvc_row,
    ),
    "persistentvolumes": (
        [
            NAME,
            _col("Capacity"),
            _col("Access Modes"),
            _col("Reclaim Policy"),
            _col("Status"),
            _col("Claim"),
            _col("StorageClass"),
            _col("VolumeAttributesClass"),
            _col("Reason"),
            AGE,
        ],
        _pv_row,
    ),
    "namespaces": (
        [NAME, _col("Status"), AGE],
        lambda o: [
            o["metadata"]["name"],
            (o.get("status") or {}).get("phase", "Active"),
            age(o["metadata"].get("creationTimestamp")),
        ],
    ),
    "configmaps": (
        [NAME, _col("Data", "integer"), AGE],
        lambda o: [
            o["metadata"]["name"],
            len(o.get("data") or {}) + len(o.get("binaryData") or {}),
            age(o["metadata"].get("creationTimestamp")),
        ],
    ),
    "secrets": (
        [NAME, _col("Type"), _col("Data", "integer"), AGE],
        lambda o: [
            o["metadata"]["name"],
            o.get("type", "Opaque"),
            len(o.get("data") or {}),
            age(o["metadata"].get("creationTimestamp")),
        ],
    ),
    "serviceaccounts": (
        [NAME, _col("Secrets", "integer"), AGE],
        lambda o: [
            o["metadata"]["name"],
            len(o.get("secrets") or []),
            age(o["metadata"].get("creationTimestamp")),
        ],
    ),
}


def _replicaset_row(rs: Obj) -> list[Any]:
    spec, status = rs.get("spec") or {}, rs.get("status") or {}
    return [
        rs["metadata"]["name"],
        spec.get("replicas", 0),
        status.get("replicas", 0),
        status.get("readyReplicas", 0),
        age(rs["metadata"].get("creationTimestamp")),
    ]


def _statefulset_row(sts: Obj) -> list[Any]:
    spec, status = sts.get("spec") or {}, sts.get("status") or {}
    return [
        sts["metadata"]["name"],
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
        age(sts["metadata"].get("creationTimestamp")),
    ]


def _job_row(job: Obj) -> list[Any]:
    spec, status = job.get("spec") or {}, job.get("status") or {}
    conditions = {
        c.get("type") for c in status.get("conditions") or [] if c.get("status") == "True"
    }
    state = (
        "Complete"
        if "Complete" in conditions
        else ("Failed" if "Failed" in conditions else "Running")
    )
    duration = ""
    if status.get("startTime"):
        end = status.get("completionTime")
        start = datetime.strptime(status["startTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        stop = (
            datetime.strptime(end, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            if end
            else datetime.now(UTC)
        )
        duration = human_duration((stop - start).total_seconds())
    return [
        job["metadata"]["name"],
        state,
        f"{status.get('succeeded', 0)}/{spec.get('completions', 1)}",
        duration,
        age(job["metadata"].get("creationTimestamp")),
    ]


def _daemonset_row(ds: Obj) -> list[Any]:
    status = ds.get("status") or {}
    selector = ((ds.get("spec") or {}).get("template") or {}).get("spec", {}).get("nodeSelector")
    return [
        ds["metadata"]["name"],
        status.get("desiredNumberScheduled", 0),
        status.get("currentNumberScheduled", 0),
        status.get("numberReady", 0),
        status.get("updatedNumberScheduled", 0),
        status.get("numberAvailable", 0),
        ",".join(f"{k}={v}" for k, v in sorted((selector or {}).items())) or "<none>",
        age(ds["metadata"].get("creationTimestamp")),
    ]


_PRINTERS.update(
    {
        "replicasets.apps": (
            [
                NAME,
                _col("Desired", "integer"),
                _col("Current", "integer"),
                _col("Ready", "integer"),
                AGE,
            ],
            _replicaset_row,
        ),
        "statefulsets.apps": ([NAME, _col("Ready"), AGE], _statefulset_row),
        "daemonsets.apps": (
            [
                NAME,
                _col("Desired", "integer"),
                _col("Current", "integer"),
                _col("Ready", "integer"),
                _col("Up-to-date", "integer"),
                _col("Available", "integer"),
                _col("Node Selector"),
                AGE,
            ],
            _daemonset_row,
        ),
        "jobs.batch": (
            [NAME, _col("Status"), _col("Completions"), _col("Duration"), AGE],
            _job_row,
        ),
    }
)


def _default_printer() -> tuple[list[dict[str, Any]], Callable[[Obj], list[Any]]]:
    return [NAME, AGE], lambda o: [
        o["metadata"]["name"],
        age(o["metadata"].get("creationTimestamp")),
    ]


def wants_table(accept: str) -> bool:
    return "as=Table" in accept


def _row(obj: Obj, cells: list[Any], include: str) -> dict[str, Any]:
    if include == "None":
        row_obj = None
    elif include == "Object":
        row_obj = obj
    else:
        row_obj = {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj["metadata"],
        }
    row: dict[str, Any] = {"cells": cells}
    if row_obj is not None:
        row["object"] = row_obj
    return row


def table(
    rt_key: str,
    objects: list[Obj],
    resource_version: str,
    include: str = "Metadata",
    headers: bool = True,
    continue_token: str | None = None,
    remaining: int | None = None,
) -> dict[str, Any]:
    columns, printer = _PRINTERS.get(rt_key) or _default_printer()
    meta: dict[str, Any] = {"resourceVersion": resource_version}
    if continue_token:
        meta["continue"] = continue_token
    if remaining is not None:
        meta["remainingItemCount"] = remaining
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": columns if headers else [],
        "rows": [_row(o, printer(o), include) for o in objects],
    }
