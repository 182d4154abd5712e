"""The rendered objects fit together: selectors find pods, policies let the
system's own traffic through, references point at objects that exist,
names fit Kubernetes' limits (what RBAC grants is tested by behaviour in
tests/rbac/)."""

import base64
import re

import pytest
import yaml

from .chart_helpers import all_containers, pod_spec, render, values_key, workloads

CONFIGS = [
    "default",
    "maximal",
    "dev-config",
    "legacy",
    "https-manual",
    "https-secret",
    "https-offload",
    "long-names",
]
# Objects the maximal values name but leave to the user to create.
EXTERNAL = {
    "Secret": {"max-existing-secret", "max-tls-secret", "max-ingress-tls"},
    "ServiceAccount": {"max-user-sa"},
    "imagePullSecret": {
        "max-pull-secret-global", "max-hub-pull-secret", "max-chp-pull-secret",
        "max-traefik-pull-secret", "max-scheduler-pull-secret", "max-placeholder-pull-secret",
        "max-awaiter-pull-secret", "max-singleuser-pull-secret", "max-network-tools-pull-secret",
        "max-extra-pull-secret", "max-puller-pause-pull-secret",
    },
}  # fmt: skip


def user_pod_labels(r) -> dict:
    """Labels the hub's spawner puts on user pods (docs/chart-hub-interface.md)."""
    hub = next(
        w for w in workloads(r) if w["metadata"]["labels"]["app.kubernetes.io/component"] == "hub"
    )
    selector = hub["spec"]["selector"]["matchLabels"]
    values = hub_values(r)
    return (
        selector
        | {"component": "singleuser-server", "app.kubernetes.io/component": "singleuser-server"}
        | values["singleuser"]["extraLabels"]
    )


def hub_values(r) -> dict:
    secret = next(s for s in r.all("Secret") if "values.yaml" in s.get("data", {}))
    return yaml.safe_load(base64.b64decode(secret["data"]["values.yaml"]))


def pods(r) -> list[tuple[dict, dict]]:
    """(labels, pod spec) of every pod the chart makes, plus a user pod."""
    found = [(w["spec"]["template"]["metadata"]["labels"], pod_spec(w)) for w in workloads(r)]
    user = {
        "containers": [
            {"name": "notebook", "ports": [{"name": "notebook-port", "containerPort": 8888}]}
        ]
    }
    return [*found, (user_pod_labels(r), user)]


def selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", selector).items())


def port_matches(rule_ports, port: int, spec: dict) -> bool:
    if not rule_ports:
        return True
    names = {
        p.get("name"): p["containerPort"] for c in spec["containers"] for p in c.get("ports", [])
    }
    return any(
        p.get("port") in (port, *[n for n, v in names.items() if v == port]) for p in rule_ports
    )


def peer_matches(peers, labels: dict) -> bool:
    if peers is None:
        return True
    # Same-namespace pod peers only: namespaceSelector peers need namespace labels.
    return any(
        "namespaceSelector" not in p and "podSelector" in p and selects(p["podSelector"], labels)
        for p in peers
    )


def allowed(r, src: dict, dst: dict, port: int) -> bool:
    """Do the NetworkPolicies let pod src connect to pod dst on port?"""
    (src_labels, _), (dst_labels, dst_spec) = src, dst
    policies = r.all("NetworkPolicy")
    egress = [
        p
        for p in policies
        if selects(p["spec"]["podSelector"], src_labels) and "Egress" in p["spec"]["policyTypes"]
    ]
    ingress = [
        p
        for p in policies
        if selects(p["spec"]["podSelector"], dst_labels) and "Ingress" in p["spec"]["policyTypes"]
    ]
    out_ok = not egress or any(
        peer_matches(rule.get("to"), dst_labels) and port_matches(rule.get("ports"), port, dst_spec)
        for p in egress
        for rule in p["spec"].get("egress", [])
    )
    in_ok = not ingress or any(
        peer_matches(rule.get("from"), src_labels)
        and port_matches(rule.get("ports"), port, dst_spec)
        for p in ingress
        for rule in p["spec"].get("ingress", [])
    )
    return out_ok and in_ok


def component(r, name):
    return next(
        (labels, spec) for labels, spec in pods(r) if labels["app.kubernetes.io/component"] == name
    )


@pytest.fixture(scope="module", params=CONFIGS)
def rendered(request, prerendered):
    return render(values_key(request.param))


def test_every_service_selects_pods_the_chart_makes(rendered):
    for svc in rendered.all("Service"):
        matching = [
            spec for labels, spec in pods(rendered) if selects(svc["spec"]["selector"], labels)
        ]
        assert matching, f"Service {svc['metadata']['name']} selects no pod"
        ports = {
            p["name"] for spec in matching for c in spec["containers"] for p in c.get("ports", [])
        }
        for port in svc["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            assert not isinstance(target, str) or target in ports, (svc["metadata"]["name"], target)


def test_every_network_policy_selects_pods(rendered):
    for policy in rendered.all("NetworkPolicy"):
        assert any(
            selects(policy["spec"]["podSelector"], labels) for labels, _ in pods(rendered)
        ), policy["metadata"]["name"]


@pytest.mark.parametrize(
    "src, dst, port",
    [("proxy", "hub", 8081), ("hub", "proxy", 8001), ("proxy", "singleuser-server", 8888),
     ("singleuser-server", "hub", 8081), ("hub", "singleuser-server", 8888)],
)  # fmt: skip
def test_network_policies_allow_the_systems_paths(rendered, src, dst, port):
    assert allowed(rendered, component(rendered, src), component(rendered, dst), port)


def test_network_policies_allow_autohttps_to_proxy():
    r = render(("maximal",))
    assert allowed(r, component(r, "autohttps"), component(r, "proxy"), 8000)


def test_network_policies_keep_user_pods_off_the_proxy_api(rendered):
    assert not allowed(
        rendered, component(rendered, "singleuser-server"), component(rendered, "proxy"), 8001
    )


def _references(doc: dict):
    spec = pod_spec(doc)
    for v in spec.get("volumes", []):
        if "configMap" in v:
            yield "ConfigMap", v["configMap"]["name"], None
        if "secret" in v:
            yield (
                "Secret",
                v["secret"]["secretName"],
                [i["key"] for i in v["secret"].get("items", [])],
            )
        if "persistentVolumeClaim" in v:
            yield "PersistentVolumeClaim", v["persistentVolumeClaim"]["claimName"], None
    for c in all_containers(spec):
        for env in c.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                yield "Secret", ref["name"], [ref["key"]]
    if spec.get("serviceAccountName"):
        yield "ServiceAccount", spec["serviceAccountName"], None
    if spec.get("priorityClassName"):
        yield "PriorityClass", spec["priorityClassName"], None
    for s in spec.get("imagePullSecrets", []):
        yield "imagePullSecret", s["name"], None


def test_referenced_objects_exist(rendered):
    for doc in workloads(rendered):
        for kind, name, keys in _references(doc):
            if name in EXTERNAL.get(kind, ()):
                continue
            target = rendered.find("Secret" if kind == "imagePullSecret" else kind, name)
            for key in keys or ():
                assert key in target.get("data", {}), (doc["metadata"]["name"], name, key)


def test_role_bindings_name_existing_roles_and_service_accounts(rendered):
    for binding in rendered.all("RoleBinding"):
        rendered.find(binding["roleRef"]["kind"], binding["roleRef"]["name"])
        for subject in binding["subjects"]:
            rendered.find("ServiceAccount", subject["name"])


def test_names_fit_kubernetes_limits_under_a_long_release_name():
    r = render(("long-names",), release="a" * 53, namespace="n" * 63)
    for doc in r.docs:
        name = doc["metadata"]["name"]
        # Services and workloads become DNS labels; a StatefulSet's pods also
        # get a controller-revision-hash label of its name plus 11 characters.
        limits = {"StatefulSet": 52, "Service": 63, "Deployment": 63, "DaemonSet": 63, "Job": 63}
        limit = limits.get(doc["kind"], 253)
        assert len(name) <= limit and re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name), name
        for value in doc["metadata"]["labels"].values():
            assert len(value) <= 63
    assert len(r.names("Deployment")) == 4  # distinct after shortening


def test_every_namespaced_object_has_its_namespace(rendered):
    cluster_scoped = {"PriorityClass", "ClusterRole", "ClusterRoleBinding"}
    for doc in rendered.docs:
        assert ("namespace" in doc["metadata"]) != (doc["kind"] in cluster_scoped), doc["metadata"][
            "name"
        ]


def test_every_object_carries_the_standard_labels(rendered):
    keys = {
        f"app.kubernetes.io/{k}" for k in ("name", "instance", "component", "managed-by", "version")
    }
    for doc in rendered.docs:
        assert keys | {"helm.sh/chart"} <= doc["metadata"]["labels"].keys(), doc["metadata"]["name"]
    for w in workloads(rendered):
        assert keys <= w["spec"]["template"]["metadata"]["labels"].keys(), w["metadata"]["name"]
