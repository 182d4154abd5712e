"""The default ClusterRoles and ClusterRoleBindings every cluster starts with.

The rules are those of kube-apiserver's bootstrap policy
(plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go), kept to the
groups and resources clients of this repository meet; `admin`, `edit` and
`view` are aggregated from the `system:aggregate-to-*` roles, as there. Like
kube-apiserver's RBAC post-start hook, missing ones are created at start and
existing ones are left alone.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

READ = ["get", "list", "watch"]
WRITE = ["create", "delete", "deletecollection", "patch", "update"]
AGGREGATE = "rbac.authorization.k8s.io/aggregate-to-"


def rule(verbs, groups, resources, names=None) -> Obj:
    out: Obj = {"verbs": list(verbs), "apiGroups": list(groups), "resources": list(resources)}
    if names:
        out["resourceNames"] = list(names)
    return out


def url_rule(verbs, urls) -> Obj:
    return {"verbs": list(verbs), "nonResourceURLs": list(urls)}


_VIEW = [
    rule(
        READ,
        [""],
        [
            "configmaps",
            "endpoints",
            "persistentvolumeclaims",
            "persistentvolumeclaims/status",
            "pods",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "serviceaccounts",
            "services",
            "services/status",
        ],
    ),
    rule(
        READ,
        [""],
        [
            "bindings",
            "events",
            "limitranges",
            "namespaces/status",
            "pods/log",
            "pods/status",
            "replicationcontrollers/status",
            "resourcequotas",
            "resourcequotas/status",
        ],
    ),
    rule(READ, [""], ["namespaces"]),
    rule(READ, ["discovery.k8s.io"], ["endpointslices"]),
    rule(
        READ,
        ["apps"],
        [
            "controllerrevisions",
            "daemonsets",
            "daemonsets/status",
            "deployments",
            "deployments/scale",
            "deployments/status",
            "replicasets",
            "replicasets/scale",
            "replicasets/status",
            "statefulsets",
            "statefulsets/scale",
            "statefulsets/status",
        ],
    ),
    rule(READ, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
    rule(READ, ["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"]),
    rule(READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
    rule(READ, ["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"]),
]
_EDIT = [
    rule(["impersonate"], [""], ["serviceaccounts"]),
    rule([*WRITE], [""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"]),
    rule(["create"], [""], ["pods/eviction"]),
    rule(
        [*WRITE],
        [""],
        [
            "configmaps",
            "events",
            "persistentvolumeclaims",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "secrets",
            "serviceaccounts",
            "services",
            "services/proxy",
        ],
    ),
    rule(["create"], [""], ["serviceaccounts/token"]),
    rule(
        [*WRITE],
        ["apps"],
        [
            "daemonsets",
            "deployments",
            "deployments/rollback",
            "deployments/scale",
            "replicasets",
            "replicasets/scale",
            "statefulsets",
            "statefulsets/scale",
        ],
    ),
    rule([*WRITE], ["autoscaling"], ["horizontalpodautoscalers"]),
    rule([*WRITE], ["batch"], ["cronjobs", "jobs"]),
    rule([*WRITE], ["networking.k8s.io"], ["ingresses", "networkpolicies"]),
    rule([*WRITE], ["policy"], ["poddisruptionbudgets"]),
    rule(
        READ,
        [""],
        ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"],
    ),
]
_ADMIN = [
    rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
    rule([*READ, *WRITE], ["rbac.authorization.k8s.io"], ["rolebindings", "roles"]),
]
_EVENTS = rule(["create", "patch", "update"], ["", "events.k8s.io"], ["events"])

CLUSTER_ROLES: dict[str, list[Obj]] = {
    "cluster-admin": [rule(["*"], ["*"], ["*"]), url_rule(["*"], ["*"])],
    "system:discovery": [
        url_rule(
            ["get"],
            [
                "/api",
                "/api/*",
                "/apis",
                "/apis/*",
                "/healthz",
                "/livez",
                "/openapi",
                "/openapi/*",
                "/readyz",
                "/version",
                "/version/",
            ],
        )
    ],
    "system:public-info-viewer": [
        url_rule(["get"], ["/healthz", "/livez", "/readyz", "/version", "/version/"])
    ],
    "system:basic-user": [
        rule(
            ["create"],
            ["authorization.k8s.io"],
            ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
        ),
        rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"]),
    ],
    "system:aggregate-to-view": _VIEW,
    "system:aggregate-to-edit": _EDIT,
    "system:aggregate-to-admin": _ADMIN,
    "system:kube-scheduler": [
        _EVENTS,
        rule(["create"], ["coordination.k8s.io"], ["leases"]),
        rule(["get", "update"], ["coordination.k8s.io"], ["leases"], ["kube-scheduler"]),
        rule(READ, [""], ["nodes"]),
        rule(["delete", "get", "list", "watch"], [""], ["pods"]),
        rule(["create"], [""], ["bindings", "pods/binding"]),
        rule(["patch", "update"], [""], ["pods/status"]),
        rule(READ, [""], ["replicationcontrollers", "services"]),
        rule(READ, ["apps", "extensions"], ["replicasets"]),
        rule(READ, ["apps"], ["statefulsets"]),
        rule(READ, ["policy"], ["poddisruptionbudgets"]),
        rule(READ, [""], ["persistentvolumeclaims", "persistentvolumes"]),
        rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
        rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"]),
        rule(READ, ["storage.k8s.io"], ["csinodes"]),
        rule(READ, [""], ["namespaces"]),
        rule(READ, ["storage.k8s.io"], ["csidrivers"]),
        rule(READ, ["storage.k8s.io"], ["csistoragecapacities"]),
    ],
    "system:volume-scheduler": [
        rule([*READ, "update"], [""], ["persistentvolumes"]),
        rule(READ, ["storage.k8s.io"], ["storageclasses"]),
        rule([*READ, "patch", "update"], [""], ["persistentvolumeclaims"]),
    ],
}
# The user-facing roles, aggregated from the roles labelled for them; edit is
# labelled into admin and view into edit, so each includes the next.
AGGREGATED = {"admin": None, "edit": "admin", "view": "edit"}
CLUSTER_ROLE_BINDINGS: dict[str, tuple[str, list[str]]] = {
    "cluster-admin": ("cluster-admin", ["system:masters"]),
    "system:discovery": ("system:discovery", ["system:authenticated"]),
    "system:basic-user": ("system:basic-user", ["system:authenticated"]),
    "system:public-info-viewer": (
        "system:public-info-viewer",
        ["system:authenticated", "system:unauthenticated"],
    ),
}

_META = {
    "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
    "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
}


def _meta(name: str, labels: dict | None = None) -> Obj:
    return {
        "name": name,
        "labels": {**_META["labels"], **(labels or {})},
        "annotations": dict(_META["annotations"]),
    }


def cluster_roles() -> list[Obj]:
    roles = []
    for name, rules in CLUSTER_ROLES.items():
        labels = {}
        if name.startswith("system:aggregate-to-"):
            labels[AGGREGATE + name.removeprefix("system:aggregate-to-")] = "true"
        roles.append({"metadata": _meta(name, labels), "rules": rules})
    for name, into in AGGREGATED.items():
        labels = {AGGREGATE + into: "true"} if into else {}
        selector = {"matchLabels": {AGGREGATE + name: "true"}}
        roles.append(
            {
                "metadata": _meta(name, labels),
                "aggregationRule": {"clusterRoleSelectors": [selector]},
                "rules": [],
            }
        )
    return [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", **r} for r in roles
    ]


def cluster_role_bindings() -> list[Obj]:
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": _meta(name),
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": role,
            },
            "subjects": [
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}
                for group in groups
            ],
        }
        for name, (role, groups) in CLUSTER_ROLE_BINDINGS.items()
    ]


def ensure_bootstrap_policy(store) -> None:
    """Create the default roles and bindings that are missing."""
    for plural, objects in (
        ("clusterroles.rbac.authorization.k8s.io", cluster_roles()),
        ("clusterrolebindings.rbac.authorization.k8s.io", cluster_role_bindings()),
    ):
        rt = store.resource(plural)
        for obj in objects:
            if store.peek(rt, obj["metadata"]["name"]) is None:
                store._put_new(rt, obj)
