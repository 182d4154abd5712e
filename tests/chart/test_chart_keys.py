"""Every key of the maximal values file has an effect a test can see.

maximal.yaml gives each key a value found nowhere else. A key the chart
itself uses must show that value in the rendered objects (the hub's copy of
the values does not count); a key only the hub reads (hub.config, the
spawner's singleuser settings, cull...) must reach the hub's values.yaml,
where the hub configuration (chart/files/hub/hubconf/) takes it (its tests check the effect).
Booleans and enums have no unique value: each has its own check below.
"""

import base64
import json

import pytest
import yaml

from .chart_helpers import VALUES_DIR, render

MAXIMAL = yaml.safe_load((VALUES_DIR / "maximal.yaml").read_text())

# Keys read by the hub (jupyterhub_config.py), not by templates.
HUB_KEYS = (
    "hub.config", "hub.concurrentSpawnLimit", "hub.consecutiveFailureLimit", "hub.activeServerLimit",
    "hub.extraConfig", "hub.loadRoles", "hub.services", "hub.allowNamedServers",
    "hub.namedServerLimitPerUser", "hub.authenticatePrometheus", "hub.redirectToServer",
    "hub.shutdownOnLogout", "hub.templatePaths", "hub.templateVars", "hub.db.url", "custom", "cull",
    "singleuser.podNameTemplate", "singleuser.extraPodAffinity", "singleuser.extraPodAntiAffinity",
    "singleuser.networkTools.resources", "singleuser.cloudMetadata.blockWithIptables",
    "singleuser.events", "singleuser.extraAnnotations", "singleuser.extraEnv",
    "singleuser.lifecycleHooks", "singleuser.allowPrivilegeEscalation", "singleuser.uid",
    "singleuser.fsGid", "singleuser.containerSecurityContext", "singleuser.podSecurityContext",
    "singleuser.serviceAccountName", "singleuser.storage", "singleuser.startTimeout",
    "singleuser.cmd", "singleuser.defaultUrl", "singleuser.extraPodConfig", "singleuser.profileList",
    "singleuser.image.pullPolicy", "singleuser.networkTools.image.pullPolicy",
    "singleuser.extraResource", "singleuser.cpu", "singleuser.memory",
    "singleuser.extraFiles.max-user-file.mountPath", "singleuser.extraFiles.max-user-binary.mountPath",
    "singleuser.extraNodeAffinity.preferred", "singleuser.extraLabels.hub.jupyter.org/network-access-hub",
    "imagePullSecret.automaticReferenceInjection",
)  # fmt: skip


# Keys whose value is not unique (booleans, enums, shared numbers), checked one by one.
def _peers_accept_namespaces(r, policy):
    rules = r.find("NetworkPolicy", policy)["spec"]["ingress"]
    return any("namespaceSelector" in peer for rule in rules for peer in rule.get("from", []))


def _admits_by_port_only(r, policy):
    """autohttps takes traffic from anywhere (it is the public entry), so
    interNamespaceAccessLabels has no peers to widen: no rule has `from`."""
    rules = r.find("NetworkPolicy", policy)["spec"]["ingress"]
    return rules and all("from" not in rule for rule in rules)


def _parent_chart_key(r, path):
    """A key only parent charts read: flipping it changes no object the chart renders."""
    flipped = render(("maximal",), sets=(f"{path}={json.dumps(not MAXIMAL[path])}",))
    return _chart_objects(flipped) == _chart_objects(r)


def _text(r) -> str:
    return json.dumps(r.docs)


def _secret_text(r, name) -> str:
    return "".join(base64.b64decode(v).decode() for v in r.find("Secret", name)["data"].values())


class _AnySelector:
    def __eq__(self, other):
        return "matchLabels" in other


ANY_SELECTOR = _AnySelector()


def _manual():
    return render(("https-manual",))


SPECIFIC = {
    "enabled": lambda r: _parent_chart_key(r, "enabled"),
    "nameOverride": lambda r: r.find("Deployment", "max-hub")["metadata"]["labels"]["app.kubernetes.io/name"] == "maxname",
    "hub.db.type": lambda r: r.find("PersistentVolumeClaim", "max-hub-db-dir"),
    "hub.networkPolicy.interNamespaceAccessLabels": lambda r: _peers_accept_namespaces(r, "max-hub"),
    "proxy.chp.networkPolicy.interNamespaceAccessLabels": lambda r: _peers_accept_namespaces(r, "max-proxy"),
    "proxy.traefik.networkPolicy.interNamespaceAccessLabels": lambda r: _admits_by_port_only(r, "max-autohttps"),
    "singleuser.networkPolicy.interNamespaceAccessLabels": lambda r: _peers_accept_namespaces(r, "max-singleuser"),
    "proxy.traefik.extraStaticConfig": lambda r: "max-static-value" in _text(r),
    "proxy.traefik.extraDynamicConfig": lambda r: "max-dynamic-value" in _text(r),
    "proxy.https.type": lambda r: r.find("Deployment", "max-autohttps"),
    # manual and secret are other HTTPS types: their own renders show them.
    "proxy.https.manual.key": lambda r: "MANUAL" in _secret_text(_manual(), "proxy-public-manual-tls"),
    "proxy.https.manual.cert": lambda r: "CERTIFICATE" in _secret_text(_manual(), "proxy-public-manual-tls"),
    "proxy.https.secret.name": lambda r: "image-pull-secret" in json.dumps(render(("https-secret",)).find("Deployment", "proxy")),
    "proxy.https.secret.key": lambda r: ".dockerconfigjson" in json.dumps(render(("https-secret",)).find("Deployment", "proxy")),
    "proxy.https.secret.crt": lambda r: ".dockerconfigjson" in json.dumps(render(("https-secret",)).find("Deployment", "proxy")),
    # the default level; baseline leaves out the metadata blocker maximal configures
    "podSecurity.level": lambda r: "max-network-tools-tag" in _text(r) and "max-network-tools-tag" not in _text(render(
        ("maximal",), sets=('podSecurity={"level": "baseline"}', 'singleuser={"cloudMetadata": {"blockWithIptables": null}}'))),
    "singleuser.extraNodeAffinity.required": lambda r: "max/user-required" in _text(r),
    "singleuser.extraFiles.max-user-binary.binaryData": lambda r: "max-binary" in _secret_text(r, "max-singleuser"),
    "singleuser.initContainers": lambda r: "max.example/user-init:max-user-init-tag" in _text(r),
    "singleuser.extraContainers": lambda r: "max.example/user-sidecar:max-user-sidecar-tag" in _text(r),
    "scheduling.userScheduler.plugins.score.enabled": lambda r: "6121" in _text(r),
    "scheduling.userScheduler.pluginConfig": lambda r: "6001" in _text(r),
    # maximal sets hub.args, which replaces the arguments --upgrade-db joins.
    "hub.db.upgrade": lambda r: "--upgrade-db" in json.dumps(render(sets=("hub.db.upgrade=true",)).find("Deployment", "hub")),
    # Compares with the images recorded in the cluster (lookup); with no
    # cluster (helm template) there is no record, so the hook always runs.
    "prePuller.hook.pullOnlyOnChanges": lambda r: r.find("DaemonSet", "max-hook-image-puller"),
    # maximal sets maxUnavailable, which wins; without it minAvailable applies.
    "proxy.traefik.pdb.minAvailable": lambda r: render(
        ("maximal",), sets=("proxy.traefik.pdb.maxUnavailable=null", "proxy.traefik.pdb.minAvailable=1")
    ).find("PodDisruptionBudget", "max-autohttps")["spec"] == {"minAvailable": 1, "selector": ANY_SELECTOR},
    "scheduling.userScheduler.pdb.minAvailable": lambda r: render(
        ("maximal",), sets=("scheduling.userScheduler.pdb.maxUnavailable=null", "scheduling.userScheduler.pdb.minAvailable=2")
    ).find("PodDisruptionBudget", "max-user-scheduler")["spec"]["minAvailable"] == 2,
}  # fmt: skip


def leaves(tree, path=""):
    for key, value in tree.items():
        child = f"{path}.{key}" if path else key
        if (
            isinstance(value, dict)
            and value
            and not child.endswith(("extraStaticConfig", "extraDynamicConfig"))
        ):
            yield from leaves(value, child)
        else:
            yield child, value


def unique_texts(value) -> list[str]:
    """Strings that show the value in a JSON dump of the objects."""
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, list | dict):
        if not value:
            return []
        if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
            return [json.dumps(v) if not isinstance(v, str) else v for v in value]
        return (
            [json.dumps(value, sort_keys=True)[1:-1]]
            if isinstance(value, dict)
            else [json.dumps(v, sort_keys=True) for v in value]
        )
    return [str(value)]


@pytest.fixture(scope="module")
def maximal():
    return render(("maximal",))


@pytest.fixture(scope="module")
def chart_text(maximal) -> str:
    """The rendered objects minus the hub's copies of the values."""
    docs = []
    for d in maximal.docs:
        if d["kind"] in ("Secret", "ConfigMap") and "values.yaml" in d.get("data", {}):
            d = {**d, "data": {k: v for k, v in d["data"].items() if k != "values.yaml"}}
        if d["kind"] == "Secret":
            d = {
                **d,
                "data": {
                    k: base64.b64decode(v).decode(errors="replace")
                    for k, v in d.get("data", {}).items()
                },
            }
        docs.append(d)
    return json.dumps(docs, sort_keys=True) + yaml.safe_dump(docs)


@pytest.fixture(scope="module")
def hub_values(maximal) -> dict:
    secret = maximal.find("Secret", "max-hub")
    return yaml.safe_load(base64.b64decode(secret["data"]["values.yaml"]))


@pytest.mark.parametrize("path, value", list(leaves(MAXIMAL)), ids=[p for p, _ in leaves(MAXIMAL)])
def test_key_has_an_effect(path, value, maximal, chart_text, hub_values):
    if path in SPECIFIC:
        assert SPECIFIC[path](maximal)
    elif any(path == k or path.startswith(k + ".") for k in HUB_KEYS):
        assert dict(leaves(hub_values))[path] == value
    else:
        texts = unique_texts(value)
        if not texts:
            assert path in FLIPPED, (
                "a boolean or empty value: test_flipping_changes_the_render covers it"
            )
        for text in texts:
            assert text in chart_text, f"{path}={value!r} changes nothing the chart renders"


# Inside these the chart passes objects through whole; their unique values
# (runAsUser...) show they arrive, so their booleans need no flip of their own.
PASS_THROUGH = ("SecurityContext.",)
# The values file other than maximal that shows a key flipped: (path, new value).
FLIPS = {
    path: (not value if isinstance(value, bool) else 1)
    for path, value in leaves(MAXIMAL)
    if (isinstance(value, bool) or value is None)
    and not any(p in path for p in PASS_THROUGH)
    and not any(path == k or path.startswith(k + ".") for k in HUB_KEYS)
    and path not in SPECIFIC
}
FLIPPED = set(FLIPS) | {
    p for p, v in leaves(MAXIMAL) if any(x in p for x in PASS_THROUGH) or v == []
}


def _chart_objects(r) -> str:
    docs = []
    for d in r.docs:
        d = json.loads(json.dumps(d))
        if "values.yaml" in d.get("data", {}):
            d["data"]["values.yaml"] = "<values>"
        if d["kind"] == "Secret" and d["metadata"]["name"] == "max-hub":
            d["data"] = sorted(d["data"])  # generated secrets differ in every render
        # The hub restarts on any values change; that alone is no effect.
        d.get("spec", {}).get("template", {}).get("metadata", {}).get("annotations", {}).pop(
            "checksum/config", None
        )
        docs.append(d)
    return json.dumps(docs, sort_keys=True)


@pytest.fixture(scope="module")
def flipped_renders(maximal):
    from concurrent.futures import ThreadPoolExecutor

    def one(item):
        path, value = item
        return path, render(("maximal",), sets=(f"{path}={json.dumps(value)}",))

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(one, FLIPS.items()))


@pytest.mark.parametrize("path", sorted(FLIPS))
def test_flipping_changes_the_render(path, maximal, flipped_renders):
    assert _chart_objects(flipped_renders[path]) != _chart_objects(maximal), (
        f"{path} changes nothing"
    )
