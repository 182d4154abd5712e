"""The chart's RBAC objects in kubesim, whole or with one grant taken away,
and each component's ServiceAccount token.

`components()` says which rendered ServiceAccount each component runs as;
`grants()` lists every (verb, resource) of every rendered Role and ClusterRole
(the unit the mutation test takes away one at a time).
"""

from __future__ import annotations

from dataclasses import dataclass

from kubesim.testing import raw_request, service_account_token
from testsupport.helm import NAMESPACE, render

RBAC_KINDS = ("ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
# autohttps (and its secret-sync Role) only render with automatic HTTPS
LETSENCRYPT = (
    'proxy.https={"enabled":true,"type":"letsencrypt","hosts":["hub.example.org"],'
    '"letsencrypt":{"contactEmail":"admin@example.org"}}',
)
# component -> the ServiceAccount its pod runs as (a fact of the rendered chart)
COMPONENT_POD = {
    "hub": ("Deployment", "hub"),
    "user-scheduler": ("Deployment", "user-scheduler"),
    "image-awaiter": ("Job", "hook-image-awaiter"),
    "secret-sync": ("Deployment", "autohttps"),
}


def rendered():
    return render(set_json=LETSENCRYPT)


def service_account_of(component: str) -> str:
    kind, name = COMPONENT_POD[component]
    return rendered().find(kind, name)["spec"]["template"]["spec"]["serviceAccountName"]


@dataclass(frozen=True)
class Grant:
    """One verb on one resource, granted by one rule of one rendered role."""

    kind: str
    role: str
    rule: int
    verb: str
    group: str
    resource: str

    @property
    def id(self) -> str:
        resource = f"{self.resource}.{self.group}" if self.group else self.resource
        return f"{self.kind}/{self.role}:{self.verb}:{resource}"


def grants() -> list[Grant]:
    out = []
    for kind in ("Role", "ClusterRole"):
        for role in rendered().all(kind):
            for index, rule in enumerate(role["rules"]):
                for group in rule["apiGroups"]:
                    for resource in rule["resources"]:
                        for verb in rule["verbs"]:
                            out.append(
                                Grant(kind, role["metadata"]["name"], index, verb, group, resource)
                            )
    return out


def without(rule: dict, grant: Grant) -> list[dict]:
    """`rule` minus one verb on one resource (what is left, as rules)."""
    rest = []
    verbs = [v for v in rule["verbs"] if v != grant.verb]
    if verbs:
        rest.append({**rule, "verbs": verbs})
    resources = [r for r in rule["resources"] if r != grant.resource]
    if resources:
        rest.append({**rule, "verbs": [grant.verb], "resources": resources})
    return rest


def objects(taken_away: Grant | None = None) -> list[dict]:
    docs = [d for d in rendered().docs if d["kind"] in RBAC_KINDS]
    if taken_away is None:
        return docs
    out = []
    for doc in docs:
        if (doc["kind"], doc["metadata"]["name"]) == (taken_away.kind, taken_away.role):
            rules = []
            for index, rule in enumerate(doc["rules"]):
                rules += without(rule, taken_away) if index == taken_away.rule else [rule]
            doc = {**doc, "rules": rules}
        out.append(doc)
    return out


def _collection(sim, doc: dict) -> str:
    rt = sim.store.registry.by_kind(doc["apiVersion"], doc["kind"])
    prefix = f"/apis/{rt.api_version}" if rt.group else "/api/v1"
    scope = f"/namespaces/{NAMESPACE}" if rt.namespaced else ""
    return f"{prefix}{scope}/{rt.plural}"


async def install(sim, taken_away: Grant | None = None) -> None:
    """The release namespace and the chart's RBAC objects, created by the admin."""
    code, answer = await raw_request(
        sim, "POST", "/api/v1/namespaces", {"metadata": {"name": NAMESPACE}}
    )
    assert code == 201, answer
    for doc in objects(taken_away):
        code, answer = await raw_request(sim, "POST", _collection(sim, doc), doc)
        assert code == 201, answer


async def token_of(sim, component: str) -> str:
    return await service_account_token(sim, NAMESPACE, service_account_of(component))
