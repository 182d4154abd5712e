"""Which rendered objects to create in kubesim, and in what order."""

# Helm's own install order, so objects exist before the ones that refer to
# them (PriorityClass is unknown to helm; pods refer to it, so it goes early).
INSTALL_ORDER = [
    "Namespace",
    "PriorityClass",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
]
_RANK = {kind: i for i, kind in enumerate(INSTALL_ORDER)}


def install_order(objects: list[dict]) -> list[dict]:
    """Sorted by kind as helm installs them; unknown kinds last, by kind.
    The sort is stable, so objects of one kind keep the rendered order."""
    return sorted(objects, key=lambda o: (_RANK.get(o["kind"], len(_RANK)), o["kind"]))


def is_hook(obj: dict) -> bool:
    return "helm.sh/hook" in (obj.get("metadata", {}).get("annotations") or {})


def split_hooks(objects: list[dict]) -> tuple[list[dict], list[dict]]:
    """(regular objects, hooks). Hooks are jobs helm itself runs around an
    install and then deletes; there is no helm install here, so they are
    reported and left out."""
    regular = [o for o in objects if not is_hook(o)]
    hooks = [o for o in objects if is_hook(o)]
    return regular, hooks


def describe(obj: dict) -> str:
    meta = obj.get("metadata", {})
    ns = meta.get("namespace")
    return f"{obj['kind']} {ns + '/' if ns else ''}{meta.get('name')}"


def find(objects: list[dict], kind: str, name: str) -> dict | None:
    for obj in objects:
        if obj.get("kind") == kind and obj.get("metadata", {}).get("name") == name:
            return obj
    return None
