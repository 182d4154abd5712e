"""Server-side defaults: what kube-apiserver fills in on create (and keeps on update).

Pure functions over the object being written; `apply_defaults` takes the
`Admission` only for the allocations and lookups that need cluster state
(service cluster IPs, the default StorageClass).
"""

from __future__ import annotations

import base64
import ipaddress
from typing import Any


def _default_container(c: dict) -> None:
    image = c.get("image") or ""
    tag = image.rsplit("/", 1)[-1]
    if "imagePullPolicy" not in c:
        latest = "@" not in tag and (":" not in tag or tag.endswith(":latest"))
        c["imagePullPolicy"] = "Always" if latest else "IfNotPresent"
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("resources", {})
    for port in c.get("ports") or []:
        port.setdefault("protocol", "TCP")
    for env in c.get("env") or []:
        ref = (env.get("valueFrom") or {}).get("fieldRef")
        if ref is not None:
            ref.setdefault("apiVersion", "v1")
    res = c.get("resources") or {}
    if res.get("limits") and not res.get("requests"):
        res["requests"] = dict(res["limits"])


def default_pod_spec(spec: dict) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("enableServiceLinks", True)
    if spec.get("serviceAccount") and not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = spec["serviceAccount"]
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        _default_container(c)
    for v in spec.get("volumes") or []:
        for source, mode_key in (("secret", "defaultMode"), ("configMap", "defaultMode")):
            if source in v and isinstance(v[source], dict):
                v[source].setdefault(mode_key, 420)


def default_tolerations(spec: dict) -> None:
    """The DefaultTolerationSeconds admission plugin: pods (not templates) tolerate a
    not-ready or unreachable node for 300 s."""
    tolerations = spec.setdefault("tolerations", [])
    for taint in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not any(t.get("key") == taint for t in tolerations):
            tolerations.append(
                {
                    "key": taint,
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 300,
                }
            )


def _qos_class(spec: dict) -> str:
    containers = (spec.get("initContainers") or []) + (spec.get("containers") or [])
    any_set, guaranteed = False, True
    for c in containers:
        res = c.get("resources") or {}
        requests, limits = res.get("requests") or {}, res.get("limits") or {}
        if requests or limits:
            any_set = True
        for r in ("cpu", "memory"):
            if r not in limits or requests.get(r, limits.get(r)) != limits.get(r):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


_INITIAL_STATUS = {
    "daemonsets.apps": dict.fromkeys(
        ("currentNumberScheduled", "desiredNumberScheduled", "numberMisscheduled", "numberReady"),
        0,
    ),
    "statefulsets.apps": {"replicas": 0},
    "replicasets.apps": {"replicas": 0},
}


def _add_finalizer(obj: dict, finalizer: str) -> None:
    """StorageObjectInUseProtection admission, on where kubesim.control.storage_protection runs (KubeSim
    sets `admission.storage_protection`): it removes the finalizer once nothing uses them."""
    finalizers = obj["metadata"].setdefault("finalizers", [])
    if finalizer not in finalizers:
        finalizers.append(finalizer)


WORKLOADS = (
    "deployments.apps",
    "statefulsets.apps",
    "replicasets.apps",
    "daemonsets.apps",
    "jobs.batch",
)


def default_workload_spec(key: str, spec: dict) -> None:
    if key != "daemonsets.apps" and key != "jobs.batch":
        spec.setdefault("replicas", 1)
    if key == "deployments.apps":
        spec.setdefault(
            "strategy",
            {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
            },
        )
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
    if key == "daemonsets.apps":
        # the apps/v1 defaults (SetDefaults_DaemonSet)
        spec.setdefault(
            "updateStrategy",
            {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
        )
        spec.setdefault("revisionHistoryLimit", 10)
    template_spec = (spec.get("template") or {}).get("spec")
    if isinstance(template_spec, dict):
        default_pod_spec(template_spec)


def apply_defaults(rt, obj: dict, admission: Any) -> None:
    key = rt.key
    if key == "pods":
        spec = obj.setdefault("spec", {})
        default_pod_spec(spec)
        default_tolerations(spec)
        obj["status"] = {"phase": "Pending", "qosClass": _qos_class(spec)}
    elif key in WORKLOADS:
        default_workload_spec(key, obj.setdefault("spec", {}))
        # the status fields the schema requires start at zero, as a new object's do
        obj["status"] = _INITIAL_STATUS.get(key, {}).copy()
    elif key == "services":
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if spec["type"] != "ExternalName" and not spec.get("clusterIP"):
            spec["clusterIP"] = next(admission._cluster_ips)
        if spec.get("clusterIP") and spec["clusterIP"] != "None":
            try:
                ipaddress.ip_address(spec["clusterIP"])
            except ValueError:
                pass
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
        obj["status"] = {"loadBalancer": {}}
    elif key == "secrets":
        obj.setdefault("type", "Opaque")
    elif key == "persistentvolumeclaims":
        spec = obj.setdefault("spec", {})
        spec.setdefault("volumeMode", "Filesystem")
        if "storageClassName" not in spec:  # the DefaultStorageClass admission plugin
            default_class = admission.default_storage_class()
            if default_class:
                spec["storageClassName"] = default_class
        obj["status"] = {"phase": "Pending"}
        if getattr(admission, "storage_protection", False):
            _add_finalizer(obj, "kubernetes.io/pvc-protection")
    elif key == "persistentvolumes":
        if getattr(admission, "storage_protection", False):
            _add_finalizer(obj, "kubernetes.io/pv-protection")
        spec = obj.setdefault("spec", {})
        spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
        spec.setdefault("volumeMode", "Filesystem")
        obj["status"] = {"phase": "Pending"}
    elif key == "namespaces":
        name = obj["metadata"].get("name", "")
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name
        obj["spec"] = {"finalizers": ["kubernetes"]}
        obj["status"] = {"phase": "Active"}
    elif key == "storageclasses.storage.k8s.io":
        obj.setdefault("reclaimPolicy", "Delete")
        obj.setdefault("volumeBindingMode", "Immediate")
    elif key == "nodes":
        obj.setdefault("spec", {})


def fold_string_data(secret: dict) -> None:
    """stringData is write-only: the server merges it into data (base64) and drops it."""
    string_data = secret.pop("stringData", None)
    if string_data:
        data = secret.setdefault("data", {}) or {}
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        secret["data"] = data


def carry_server_defaults(rt, obj: dict, old: dict) -> None:
    """A replace without server-defaulted fields keeps them (clusterIP, pod defaults)."""
    if rt.key == "services":
        spec, old_spec = obj.setdefault("spec", {}), old.get("spec") or {}
        for key in (
            "clusterIP",
            "clusterIPs",
            "type",
            "sessionAffinity",
            "ipFamilies",
            "ipFamilyPolicy",
            "internalTrafficPolicy",
        ):
            if key not in spec and key in old_spec:
                spec[key] = old_spec[key]
    elif rt.key in WORKLOADS and isinstance(obj.get("spec"), dict):
        # kube-apiserver defaults every write it decodes, not only creates: an
        # updated template must equal the ReplicaSet made from it (helm --wait
        # finds a Deployment's new ReplicaSet by comparing the two)
        default_workload_spec(rt.key, obj["spec"])
    elif rt.key == "pods" and isinstance(obj.get("spec"), dict):
        default_pod_spec(obj["spec"])
        default_tolerations(obj["spec"])
        old_spec = old.get("spec") or {}
        for key in ("nodeName",):
            if key in old_spec and key not in obj["spec"]:
                obj["spec"][key] = old_spec[key]
