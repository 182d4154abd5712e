"""The RBAC authorizer: Roles, ClusterRoles and their bindings, as kube-apiserver
evaluates them (plugin/pkg/auth/authorizer/rbac).

Cheap per request: bindings are indexed by subject once per change of any
RBAC object (the store's on_change marks the index stale), and each user's
effective rules are compiled once per index, then only matched.
ClusterRoles with an `aggregationRule` get the rules of every ClusterRole
their selectors match (what the aggregation controller writes into them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubesim.api.authz_attributes import Attributes, User
from kubesim.api.tokens import service_account_username
from kubesim.model.selectors import selector_from_label_selector

RBAC_GROUP = "rbac.authorization.k8s.io"
Obj = dict[str, Any]


@dataclass(frozen=True)
class Rule:
    """One PolicyRule, with the binding that grants it (for "allowed by ...")."""

    verbs: frozenset[str]
    api_groups: frozenset[str]
    resources: frozenset[str]
    names: frozenset[str]
    urls: tuple[str, ...]
    source: str

    @classmethod
    def of(cls, rule: Obj, source: str) -> Rule:
        return cls(
            frozenset(rule.get("verbs") or ()),
            frozenset(rule.get("apiGroups") or ()),
            frozenset(rule.get("resources") or ()),
            frozenset(rule.get("resourceNames") or ()),
            tuple(rule.get("nonResourceURLs") or ()),
            source,
        )

    def allows(self, attrs: Attributes) -> bool:
        if "*" not in self.verbs and attrs.verb not in self.verbs:
            return False
        if not attrs.resource_request:
            return any(
                url == "*"
                or url == attrs.path
                or (url.endswith("*") and attrs.path.startswith(url[:-1]))
                for url in self.urls
            )
        if "*" not in self.api_groups and attrs.api_group not in self.api_groups:
            return False
        resources = self.resources
        if attrs.subresource:
            combined = f"{attrs.resource}/{attrs.subresource}"
            if not ({"*", combined, f"*/{attrs.subresource}"} & resources):
                return False
        elif "*" not in resources and attrs.resource not in resources:
            return False
        return not self.names or attrs.name in self.names

    def as_review_rule(self) -> Obj:
        if self.urls:
            return {"verbs": sorted(self.verbs), "nonResourceURLs": list(self.urls)}
        out: Obj = {
            "verbs": sorted(self.verbs),
            "apiGroups": sorted(self.api_groups),
            "resources": sorted(self.resources),
        }
        if self.names:
            out["resourceNames"] = sorted(self.names)
        return out


@dataclass
class Compiled:
    """One user's rules: cluster-wide, and per namespace; errors per scope."""

    cluster: list[Rule]
    namespaced: dict[str, list[Rule]]
    errors: dict[str, list[str]]  # "" for cluster scope


def _describe_subject(subject: Obj, binding_ns: str) -> str:
    name = subject.get("name", "")
    if subject.get("kind") == "ServiceAccount":
        return f'ServiceAccount "{name}/{subject.get("namespace") or binding_ns}"'
    return f'{subject.get("kind")} "{name}"'


class Authorizer:
    def __init__(self, store):
        self.store = store
        self._index: dict[str, list[tuple[Obj, Obj]]] | None = None  # subject key -> bindings
        self._compiled: dict[tuple[str, tuple[str, ...]], Compiled] = {}
        store.on_change.append(self._on_change)

    def _on_change(self, _type: str, rt, _obj, _old) -> None:
        if rt.group == RBAC_GROUP:
            self._index = None
            self._compiled = {}

    # ----- index ------------------------------------------------------------------

    def _build_index(self) -> dict[str, list[tuple[Obj, Obj]]]:
        index: dict[str, list[tuple[Obj, Obj]]] = {}
        for plural in ("clusterrolebindings", "rolebindings"):
            for binding in self.store.list(f"{plural}.{RBAC_GROUP}")[0]:
                binding_ns = binding["metadata"].get("namespace", "")
                for subject in binding.get("subjects") or ():
                    kind, name = subject.get("kind"), subject.get("name", "")
                    if kind == "ServiceAccount":
                        ns = subject.get("namespace") or binding_ns
                        key = "user:" + service_account_username(ns, name)
                    elif kind == "Group":
                        key = "group:" + name
                    else:
                        key = "user:" + name
                    index.setdefault(key, []).append((binding, subject))
        return index

    def _role_rules(self, ref: Obj, namespace: str) -> tuple[list[Obj], str | None]:
        kind, name = ref.get("kind"), ref.get("name", "")
        if kind == "Role":
            role = self.store.peek(f"roles.{RBAC_GROUP}", name, namespace)
            if role is None:
                return [], f'role.{RBAC_GROUP} "{name}" not found'
            return list(role.get("rules") or ()), None
        role = self.store.peek(f"clusterroles.{RBAC_GROUP}", name)
        if role is None:
            return [], f'clusterrole.{RBAC_GROUP} "{name}" not found'
        return self._cluster_role_rules(role), None

    def _cluster_role_rules(self, role: Obj, seen: frozenset[str] = frozenset()) -> list[Obj]:
        """Its rules; an aggregated role's are those of the roles it selects."""
        aggregation = role.get("aggregationRule")
        if not aggregation:
            return list(role.get("rules") or ())
        name = role["metadata"]["name"]
        seen = seen | {name}
        matchers = [
            selector_from_label_selector(s) for s in aggregation.get("clusterRoleSelectors") or ()
        ]
        rules: list[Obj] = []
        for other in self.store.list(f"clusterroles.{RBAC_GROUP}")[0]:
            labels = other["metadata"].get("labels") or {}
            if other["metadata"]["name"] in seen or not any(m and m(labels) for m in matchers):
                continue
            rules += [r for r in self._cluster_role_rules(other, seen) if r not in rules]
        return rules

    def compile(self, user: User) -> Compiled:
        key = (user.name, user.groups)
        compiled = self._compiled.get(key)
        if compiled is not None:
            return compiled
        if self._index is None:
            self._index = self._build_index()
        compiled = Compiled([], {}, {})
        keys = ["user:" + user.name, *("group:" + g for g in user.groups)]
        for subject_key in keys:
            for binding, subject in self._index.get(subject_key, ()):
                meta = binding["metadata"]
                ns = meta.get("namespace", "")
                ref = binding.get("roleRef") or {}
                rules, error = self._role_rules(ref, ns)
                if error:
                    compiled.errors.setdefault(ns, []).append(error)
                kind = "RoleBinding" if ns else "ClusterRoleBinding"
                binding_name = f"{ns}/{meta['name']}" if ns else meta["name"]
                source = (
                    f'{kind} "{binding_name}" of {ref.get("kind")} "{ref.get("name")}" '
                    f"to {_describe_subject(subject, ns)}"
                )
                target = compiled.namespaced.setdefault(ns, []) if ns else compiled.cluster
                target.extend(Rule.of(rule, source) for rule in rules)
        if len(self._compiled) > 5000:
            self._compiled = {}
        self._compiled[key] = compiled
        return compiled

    # ----- decisions --------------------------------------------------------------

    def authorize(self, user: User, attrs: Attributes) -> tuple[bool, str]:
        """(allowed, reason) as the RBAC authorizer answers."""
        compiled = self.compile(user)
        rules = compiled.cluster
        if attrs.namespace:
            rules = rules + compiled.namespaced.get(attrs.namespace, [])
        for rule in rules:
            if rule.allows(attrs):
                return True, f"RBAC: allowed by {rule.source}"
        errors = compiled.errors.get("", []) + (
            compiled.errors.get(attrs.namespace, []) if attrs.namespace else []
        )
        if not errors:
            return False, ""
        return False, "RBAC: " + (errors[0] if len(errors) == 1 else f"[{', '.join(errors)}]")

    def rules_for(self, user: User, namespace: str) -> tuple[list[Rule], list[str]]:
        """The rules that apply in `namespace` (SelfSubjectRulesReview), and errors."""
        compiled = self.compile(user)
        rules = compiled.cluster + compiled.namespaced.get(namespace, [])
        return rules, compiled.errors.get("", []) + compiled.errors.get(namespace, [])
