"""Replacing a Zero to JupyterHub release in place: for the same release
name and values, every object z2jh (4.4.0 and 3.3.8) renders exists in ours
under the same kind and name, and its immutable fields are equal (a real API
server refuses a `helm upgrade` that changes them). The anchors are test data:
rendered from a temporary copy whose Chart.yaml gets a real version."""

import re
import shutil

import pytest

from .chart_helpers import ROOT, render

ANCHORS = ROOT.parent / "shared/anchors"
Z2JH = {"4.4.0": "zero-to-jupyterhub-k8s-4.4.0", "3.3.8": "zero-to-jupyterhub-k8s-3.3.8"}
VALUES = ROOT / "tests/chart/z2jh-values"

# Fields Kubernetes does not let an update change, by kind.
IMMUTABLE = {
    "Deployment": [("spec", "selector")],
    "DaemonSet": [("spec", "selector")],
    "StatefulSet": [
        ("spec", "selector"),
        ("spec", "serviceName"),
        ("spec", "volumeClaimTemplates"),
        ("spec", "podManagementPolicy"),
    ],
    # clusterIP(s) are immutable once set; the primary IP family too.
    "Service": [("spec", "clusterIP"), ("spec", "clusterIPs"), ("spec", "ipFamilies")],
    # A bound claim's spec is immutable but for a larger storage request.
    "PersistentVolumeClaim": [("spec",)],
    "RoleBinding": [("roleRef",)],
    "ClusterRoleBinding": [("roleRef",)],
}

# z2jh objects we do not render, by kind and name (a full match), and why.
# Each applies only where ours has no object of that kind and name.
NOT_OURS = {
    # The user-scheduler binds Kubernetes' own system:kube-scheduler and
    # system:volume-scheduler roles instead of a copy of them. Our bindings
    # have other names on purpose: a binding's roleRef is immutable, so one
    # named like z2jh's would make the upgrade fail; helm deletes z2jh's.
    ("ClusterRole", r".*user-scheduler"),
    ("ClusterRoleBinding", r".*user-scheduler"),
    # z2jh names the autohttps PDB `proxy` whatever the prefix (with short
    # names it collides with chp's); ours is `<prefix>autohttps`. A PDB has
    # no immutable field: helm deletes z2jh's and creates ours.
    ("PodDisruptionBudget", r"proxy"),
}


def not_ours(kind: str, name: str) -> bool:
    return any(kind == k and re.fullmatch(pattern, name) for k, pattern in NOT_OURS)


# (release, extra values) pairs: the naming rules of fullnameOverride.
NAMINGS = {
    "short names": ("jhub", ()),
    "release prefix": ("jhub", ("fullnameOverride=null",)),
    "release containing the chart name": ("my-jupyterhub", ("fullnameOverride=null",)),
    "own prefix": ("jhub", ('fullnameOverride="lab"',)),
}
INPUTS = {
    "default": {"4.4.0": (), "3.3.8": ()},
    "maximal": {"4.4.0": ("maximal", "httproute"), "3.3.8": ("maximal",)},
    "manual-https": {"4.4.0": ("manual-https",), "3.3.8": ("manual-https",)},
}


@pytest.fixture(scope="session")
def z2jh_chart(tmp_path_factory):
    charts = {}

    def copy(version: str):
        if version not in charts:
            dest = tmp_path_factory.mktemp(f"z2jh-{version}") / "jupyterhub"
            shutil.copytree(ANCHORS / Z2JH[version] / "jupyterhub", dest)
            chart_yaml = dest / "Chart.yaml"
            text = chart_yaml.read_text().replace("0.0.1-set.by.chartpress", version)
            chart_yaml.write_text(text)
            charts[version] = dest
        return charts[version]

    return copy


def field(doc: dict, path: tuple):
    for key in path:
        if not isinstance(doc, dict) or key not in doc:
            return None
        doc = doc[key]
    return doc


def by_name(docs) -> dict:
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def renders(z2jh_chart, version, inputs, naming):
    release, sets = NAMINGS[naming]
    files = tuple(str(VALUES / f"{name}.yaml") for name in INPUTS[inputs][version])
    theirs = render(files, release=release, sets=sets, chart=z2jh_chart(version))
    ours = render(files, release=release, sets=sets)
    return by_name(theirs.docs), by_name(ours.docs)


CASES = [(v, i, n) for v in Z2JH for i in INPUTS for n in NAMINGS]


@pytest.mark.parametrize(("version", "inputs", "naming"), CASES)
def test_same_names_and_immutable_fields(z2jh_chart, version, inputs, naming):
    theirs, ours = renders(z2jh_chart, version, inputs, naming)
    missing, differ = [], {}
    for (kind, name), doc in theirs.items():
        if (kind, name) not in ours and not_ours(kind, name):
            continue
        if (kind, name) not in ours:
            missing.append(f"{kind} {name}")
            continue
        for path in IMMUTABLE.get(kind, []):
            if field(doc, path) != field(ours[(kind, name)], path):
                differ[f"{kind} {name} {'.'.join(path)}"] = (
                    field(doc, path),
                    field(ours[(kind, name)], path),
                )
    assert missing == [], f"not in ours: {missing}"
    assert differ == {}, f"immutable fields differ (theirs, ours): {differ}"


@pytest.mark.parametrize("version", sorted(Z2JH))
def test_the_exceptions_exist_in_z2jh(z2jh_chart, version):
    theirs, ours = renders(z2jh_chart, version, "maximal", "own prefix")
    for kind, pattern in NOT_OURS:
        assert any(k == kind and re.fullmatch(pattern, n) for k, n in theirs), pattern
        assert not any(k == kind and re.fullmatch(pattern, n) for k, n in ours), pattern


@pytest.mark.parametrize("inputs", sorted(INPUTS))
def test_pods_carry_both_label_sets(z2jh_chart, inputs):
    _, ours = renders(z2jh_chart, "4.4.0", inputs, "short names")
    for (kind, name), doc in ours.items():
        template = field(doc, ("spec", "template", "metadata", "labels"))
        if template is None:
            continue
        selector = field(doc, ("spec", "selector", "matchLabels")) or {}
        assert selector.items() <= template.items(), name
        legacy = {k: template.get(k) for k in ("component", "app", "release")}
        modern = {
            k: template.get(f"app.kubernetes.io/{m}")
            for k, m in (("component", "component"), ("app", "name"), ("release", "instance"))
        }
        assert None not in legacy.values() and legacy == modern, (kind, name, template)
