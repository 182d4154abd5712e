"""The resource types kubesim serves, as discovery describes them.

One `ResourceType` per REST resource. The registry answers lookups by plural,
kind, short name, "plural.group" and (group, version, plural), which is what
URL routing, kubectl-style names and the store all need.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    # subresource name -> verbs, e.g. {"status": ("get", "patch", "update")}
    subresources: dict[str, tuple[str, ...]] = field(default_factory=dict)
    categories: tuple[str, ...] = ()
    # extra field selectors this type supports besides metadata.name/namespace
    field_labels: tuple[str, ...] = ()
    # objects of this kind carry metadata.generation (they have a spec)
    has_generation: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def key(self) -> str:
        """Storage key: the plural qualified by its group ("deployments.apps")."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    def __hash__(self) -> int:
        return hash(self.key)


_STATUS = {"status": ("get", "patch", "update")}
_STATUS_SCALE = {**_STATUS, "scale": ("get", "patch", "update")}

_POD_FIELDS = (
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
)
_EVENT_FIELDS = (
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
)
_EVENTS_K8S_FIELDS = (
    "regarding.kind",
    "regarding.namespace",
    "regarding.name",
    "regarding.uid",
    "regarding.apiVersion",
    "regarding.resourceVersion",
    "regarding.fieldPath",
    "reason",
    "reportingController",
    "type",
)

RESOURCE_TYPES: tuple[ResourceType, ...] = (
    ResourceType(
        "",
        "v1",
        "Namespace",
        "namespaces",
        False,
        ("ns",),
        ("create", "delete", "get", "list", "patch", "update", "watch"),
        {**_STATUS, "finalize": ("update",)},
        field_labels=("status.phase",),
        has_generation=False,
    ),
    ResourceType(
        "",
        "v1",
        "Pod",
        "pods",
        True,
        ("po",),
        subresources={
            **_STATUS,
            "log": ("get",),
            "binding": ("create",),
            "eviction": ("create",),
            # connect subresources: GET and POST both upgrade (verbs get / create)
            "exec": ("get", "create"),
            "attach": ("get", "create"),
        },
        categories=("all",),
        field_labels=_POD_FIELDS,
    ),
    ResourceType("", "v1", "Binding", "bindings", True, verbs=("create",), has_generation=False),
    ResourceType(
        "",
        "v1",
        "Service",
        "services",
        True,
        ("svc",),
        ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"),
        _STATUS,
        categories=("all",),
        field_labels=("spec.clusterIP", "spec.type"),
    ),
    ResourceType("", "v1", "Endpoints", "endpoints", True, ("ep",), has_generation=False),
    ResourceType("", "v1", "Secret", "secrets", True, field_labels=("type",), has_generation=False),
    ResourceType("", "v1", "ConfigMap", "configmaps", True, ("cm",), has_generation=False),
    ResourceType(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        True,
        ("pvc",),
        subresources=_STATUS,
    ),
    ResourceType(
        "", "v1", "PersistentVolume", "persistentvolumes", False, ("pv",), subresources=_STATUS
    ),
    ResourceType(
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        True,
        ("sa",),
        subresources={"token": ("create",)},
        has_generation=False,
    ),
    ResourceType(
        "", "v1", "Event", "events", True, ("ev",), field_labels=_EVENT_FIELDS, has_generation=False
    ),
    ResourceType(
        "",
        "v1",
        "Node",
        "nodes",
        False,
        ("no",),
        subresources=_STATUS,
        field_labels=("spec.unschedulable",),
        has_generation=False,
    ),
    ResourceType(
        "events.k8s.io",
        "v1",
        "Event",
        "events",
        True,
        ("ev",),
        field_labels=_EVENTS_K8S_FIELDS,
        has_generation=False,
    ),
    ResourceType(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        True,
        ("deploy",),
        subresources=_STATUS_SCALE,
        categories=("all",),
    ),
    ResourceType(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        True,
        ("sts",),
        subresources=_STATUS_SCALE,
        categories=("all",),
    ),
    ResourceType(
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        True,
        ("ds",),
        subresources=_STATUS,
        categories=("all",),
    ),
    ResourceType(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        True,
        ("rs",),
        subresources=_STATUS_SCALE,
        categories=("all",),
        field_labels=("status.replicas",),
    ),
    ResourceType(
        "apps", "v1", "ControllerRevision", "controllerrevisions", True, has_generation=False
    ),
    ResourceType(
        "batch",
        "v1",
        "Job",
        "jobs",
        True,
        subresources=_STATUS,
        categories=("all",),
        field_labels=("status.successful",),
    ),
    ResourceType(
        "discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", True, has_generation=False
    ),
    # leader election (kube-scheduler's lock); stored only
    ResourceType("coordination.k8s.io", "v1", "Lease", "leases", True, has_generation=False),
    ResourceType("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True, ("netpol",)),
    ResourceType(
        "networking.k8s.io", "v1", "Ingress", "ingresses", True, ("ing",), subresources=_STATUS
    ),
    ResourceType(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        True,
        ("pdb",),
        subresources=_STATUS,
    ),
    ResourceType("rbac.authorization.k8s.io", "v1", "Role", "roles", True, has_generation=False),
    ResourceType(
        "rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True, has_generation=False
    ),
    ResourceType(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        False,
        has_generation=False,
    ),
    ResourceType(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        False,
        has_generation=False,
    ),
    # Reviews: create-only, nothing stored (answered by kubesim.api.reviews).
    *(
        ResourceType(group, "v1", kind, plural, namespaced, verbs=("create",), has_generation=False)
        for group, kind, plural, namespaced in (
            ("authentication.k8s.io", "TokenReview", "tokenreviews", False),
            ("authentication.k8s.io", "SelfSubjectReview", "selfsubjectreviews", False),
            ("authorization.k8s.io", "SelfSubjectAccessReview", "selfsubjectaccessreviews", False),
            ("authorization.k8s.io", "SelfSubjectRulesReview", "selfsubjectrulesreviews", False),
            ("authorization.k8s.io", "SubjectAccessReview", "subjectaccessreviews", False),
            ("authorization.k8s.io", "LocalSubjectAccessReview", "localsubjectaccessreviews", True),
        )
    ),
    ResourceType(
        "scheduling.k8s.io",
        "v1",
        "PriorityClass",
        "priorityclasses",
        False,
        ("pc",),
        has_generation=False,
    ),
    ResourceType(
        "storage.k8s.io",
        "v1",
        "StorageClass",
        "storageclasses",
        False,
        ("sc",),
        has_generation=False,
    ),
)

# Types that exist only as subresource bodies (no storage of their own).
REVIEW_GROUPS = ("authentication.k8s.io", "authorization.k8s.io")
SUBRESOURCE_ONLY = {"bindings"}


class Registry:
    """Look resource types up the ways clients name them."""

    def __init__(self, types: tuple[ResourceType, ...] = RESOURCE_TYPES):
        self.types = types
        self._by_gvr = {(t.group, t.version, t.plural): t for t in types}
        self._by_name: dict[str, ResourceType] = {}
        # Core types win over same-named group types ("events" is core/v1).
        for t in reversed(types):
            for name in (t.plural, t.singular, t.kind, *t.short_names):
                self._by_name[name] = t
        for t in types:
            if not t.group:
                for name in (t.plural, t.singular, t.kind, *t.short_names):
                    self._by_name[name] = t
            self._by_name[t.key] = t
            self._by_name[f"{t.kind}.{t.group}" if t.group else t.kind] = t

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_gvr.get((group, version, plural))

    def resolve(self, name: str | ResourceType) -> ResourceType:
        """A type from "pods", "Pod", "po", "deployments.apps" or a ResourceType."""
        if isinstance(name, ResourceType):
            return name
        rt = self._by_name.get(name)
        if rt is None:
            raise KeyError(f"unknown resource {name!r}; known: {sorted(self.plurals())}")
        return rt

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        for t in self.types:
            if t.group == group and t.version == version and t.kind == kind:
                return t
        return None

    def plurals(self) -> set[str]:
        return {t.key for t in self.types}

    def groups(self) -> dict[str, list[str]]:
        """group -> versions, core group excluded, in registry order."""
        out: dict[str, list[str]] = {}
        for t in self.types:
            if t.group and t.version not in out.setdefault(t.group, []):
                out[t.group].append(t.version)
        return out


REGISTRY = Registry()
