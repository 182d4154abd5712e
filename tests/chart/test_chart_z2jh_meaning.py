"""Keys of Zero to JupyterHub rendered with z2jh's meaning: where each value
lands, what `tpl` expands, the hub's default `--upgrade-db`, and z2jh's own
lint values rendering here."""

import json

import pytest

from .chart_helpers import ROOT, render, render_error

Z2JH = ROOT.parent / "shared/anchors/zero-to-jupyterhub-k8s-4.4.0"
LINT_VALUES = Z2JH / "tools/templates/lint-and-validate-values.yaml"


def hub_container(r) -> dict:
    return r.find("Deployment", "hub")["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize(
    ("sets", "upgrade"),
    [
        ((), True),  # sqlite-pvc with hub.db.upgrade unset, as z2jh
        (("hub.db.upgrade=false",), False),
        (("hub.db.upgrade=true",), True),
        (('hub.db={"type": "postgres", "url": "postgresql://db/hub"}',), False),
        (('hub.db={"type": "postgres", "url": "postgresql://db/hub", "upgrade": true}',), True),
    ],
)
def test_upgrade_db_by_default_with_sqlite_pvc(sets, upgrade):
    args = hub_container(render(sets=sets))["args"]
    assert ("--upgrade-db" in args) is upgrade


def test_hub_args_are_the_whole_command_line_through_tpl():
    # z2jh: hub.args is the image's CMD (it starts with jupyterhub); the
    # image's ENTRYPOINT (tini) stays.
    args = '["jupyterhub", "--config", "/usr/local/etc/jupyterhub/jupyterhub_config.py", "--x={{ .Release.Name }}"]'
    hub = hub_container(render(sets=(f"hub.args={args}",)))
    assert "command" not in hub
    assert hub["args"][0] == "jupyterhub"
    assert hub["args"][-1] == "--x=jhub"


def test_hub_command_replaces_the_entrypoint_through_tpl():
    hub = hub_container(render(sets=('hub.command=["tini", "-g", "--{{ .Release.Namespace }}"]',)))
    assert hub["command"] == ["tini", "-g", "--jhub"]
    assert hub["args"][0] == "jupyterhub"
    assert "--upgrade-db" in hub["args"]


def test_proxy_and_traefik_commands_through_tpl():
    r = render(
        ("https-manual",),
        sets=(
            'proxy.chp.command=["node", "/srv/chp-{{ .Release.Name }}"]',
            'proxy.chp.extraCommandLineFlags=["--flag={{ .Release.Name }}"]',
        ),
    )
    chp = r.find("Deployment", "proxy")["spec"]["template"]["spec"]["containers"][0]
    assert chp["command"][:2] == ["node", "/srv/chp-jhub"]
    assert "--api-port=8001" in chp["command"]
    assert chp["command"][-1] == "--flag=jhub"
    r = render(
        ("maximal",),
        sets=(
            'proxy.traefik.command=["traefik"]',
            'proxy.traefik.args=["--c={{ .Release.Name }}"]',
        ),
    )
    spec = r.find("Deployment", "max-autohttps")["spec"]["template"]["spec"]
    traefik = next(c for c in spec["containers"] if c["name"] == "traefik")
    assert traefik["command"] == ["traefik"]
    assert traefik["args"] == ["--c=jhub"]


def test_httproute_parent_refs_replace_the_gateway():
    refs = [{"name": "a", "sectionName": "https"}, {"name": "b", "namespace": "gw"}]
    r = render(sets=(f"httpRoute={json.dumps({'enabled': True, 'parentRefs': refs})}",))
    assert r.find("HTTPRoute", "jupyterhub")["spec"]["parentRefs"] == refs
    assert "httpRoute.parentRefs" in render_error(sets=('httpRoute={"enabled": true}',))


def test_service_and_puller_keys_land_where_z2jh_puts_them():
    r = render(
        sets=(
            'hub.service={"ipFamilyPolicy": "PreferDualStack", "ipFamilies": ["IPv6", "IPv4"]}',
            'proxy.service.externalIPs=["198.51.100.7"]',
            'prePuller.annotations={"pods": "yes"}',
            'prePuller.hook.daemonsetAnnotations={"hook-ds": "yes"}',
            'prePuller.continuous.daemonsetAnnotations={"continuous-ds": "yes"}',
        )
    )
    hub = r.find("Service", "hub")["spec"]
    assert (hub["ipFamilyPolicy"], hub["ipFamilies"]) == ("PreferDualStack", ["IPv6", "IPv4"])
    assert r.find("Service", "proxy-public")["spec"]["externalIPs"] == ["198.51.100.7"]
    for name, own in (
        ("hook-image-puller", "hook-ds"),
        ("continuous-image-puller", "continuous-ds"),
    ):
        ds = r.find("DaemonSet", name)
        assert ds["metadata"]["annotations"][own] == "yes"
        assert "pods" not in ds["metadata"]["annotations"]
        assert ds["spec"]["template"]["metadata"]["annotations"] == {"pods": "yes"}


def test_empty_pull_policy_means_unset():
    hub = hub_container(render(sets=('hub.image.pullPolicy=""',)))
    assert "imagePullPolicy" not in hub


def test_dict_form_of_extra_volumes_merges_without_warnings():
    r = render(
        sets=(
            'singleuser.storage.extraVolumes={"shared": {"persistentVolumeClaim": {"claimName": "s"}}}',
            'singleuser.storage.extraVolumeMounts={"shared": {"name": "shared", "mountPath": "/s"}}',
        )
    )
    assert "coalesce" not in r.stderr


def test_z2jh_lint_values_render_here():
    """z2jh's own test values, but for `ipFamilyPolicy: DualStack`, which
    Kubernetes does not know (refused, naming the valid values)."""
    r = render((str(LINT_VALUES),), sets=('proxy.service.ipFamilyPolicy="RequireDualStack"',))
    assert r.find("Deployment", "hub")
    assert r.find("Service", "proxy-public")["spec"]["externalIPs"] == [
        "123.123.123.123",
        "123.123.123.124",
    ]
    error = render_error((str(LINT_VALUES),))
    assert 'proxy.service.ipFamilyPolicy: "DualStack" is not one of its values' in error
    assert "RequireDualStack" in error


@pytest.mark.parametrize("https_type", ['""', "null"])
def test_https_type_empty_serves_plain_http_as_z2jh(https_type):
    r = render(sets=(f'proxy.https={{"enabled": true, "type": {https_type}}}',))
    ports = r.find("Service", "proxy-public")["spec"]["ports"]
    assert [p["port"] for p in ports] == [80]
    assert not r.all("Deployment", "autohttps")
