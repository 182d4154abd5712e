"""What the main settings do to the rendered objects."""

import base64

import pytest
import yaml

from .chart_helpers import pod_spec, render


def container(doc, name):
    spec = pod_spec(doc)
    return next(c for c in spec.get("initContainers", []) + spec["containers"] if c["name"] == name)


def args_of(doc, name):
    c = container(doc, name)
    return c.get("command", []) + c.get("args", [])


def public_ports(r, name="proxy-public"):
    return {p["name"]: p["targetPort"] for p in r.find("Service", name)["spec"]["ports"]}


def test_default_install(prerendered):
    r = render()
    assert public_ports(r) == {"http": "http"}
    assert r.find("Service", "proxy-public")["spec"]["type"] == "LoadBalancer"
    hub = r.find("Deployment", "hub")
    assert hub["spec"]["replicas"] == 1 and hub["spec"]["strategy"]["type"] == "Recreate"
    assert args_of(hub, "hub") == [
        "jupyterhub",
        "--config=$(Z2JH_CONFIG_ROOT)/jupyterhub_config.py",
        "--upgrade-db",  # sqlite-pvc with hub.db.upgrade unset, as z2jh
    ]
    assert container(hub, "hub")["livenessProbe"]["httpGet"]["path"] == "/hub/health"
    assert (
        r.find("PersistentVolumeClaim", "hub-db-dir")["spec"]["resources"]["requests"]["storage"]
        == "1Gi"
    )
    proxy = r.find("Deployment", "proxy")
    assert "--default-target=http://$(HUB_SERVICE_HOST):$(HUB_SERVICE_PORT)" in args_of(
        proxy, "chp"
    )
    assert not r.all("Deployment", "autohttps")
    # The placeholder is sized like a user pod (1G guaranteed by default).
    placeholder = r.find("StatefulSet", "user-placeholder")
    assert container(placeholder, "pause")["resources"] == {"requests": {"memory": "1G"}}
    assert pod_spec(placeholder)["schedulerName"] == "jhub-user-scheduler"
    assert r.find("Deployment", "user-scheduler")["spec"]["replicas"] == 2


def test_resource_names_for_the_hub_match_the_interface(prerendered):
    names = yaml.safe_load(render().find("ConfigMap", "hub")["data"]["resource-names.yaml"])
    for short in ("hub", "proxy", "proxy-api", "proxy-public", "autohttps", "user-placeholder",
                  "hook-image-puller", "hook-image-awaiter", "continuous-image-puller", "singleuser",
                  "image-pull-secret", "hub-db-dir", "proxy-public-tls-acme", "proxy-public-manual-tls"):  # fmt: skip
        assert names[short] == short
    assert names["user-scheduler"] == "jhub-user-scheduler"
    assert names["default-priority"] == "jhub-default-priority"


@pytest.mark.parametrize(
    "release, override, prefix",
    [
        ("jhub", "null", "jhub-jupyterhub-"),
        ("my-jupyterhub", "null", "my-jupyterhub-"),
        ("jhub", '"x"', "x-"),
    ],
)
def test_name_prefixes(release, override, prefix):
    r = render(release=release, sets=(f"fullnameOverride={override}",))
    assert r.find("Deployment", prefix + "hub")
    assert r.find("Service", prefix + "proxy-public")


def test_https_letsencrypt(prerendered):
    r = render(("seed/31-https-letsencrypt",))
    assert public_ports(r) == {"http": "http", "https": "https"}
    assert r.find("Service", "proxy-public")["spec"]["selector"]["component"] == "autohttps"
    static = yaml.safe_load(r.find("ConfigMap", "autohttps")["data"]["traefik.yaml"])
    assert static["certificatesResolvers"]["default"]["acme"]["email"] == "admin@example.org"
    dynamic = yaml.safe_load(r.find("ConfigMap", "autohttps")["data"]["dynamic.yaml"])
    assert dynamic["http"]["services"]["default"]["loadBalancer"]["servers"] == [
        {"url": "http://proxy-http:8000/"}
    ]
    assert dynamic["http"]["routers"]["default"]["tls"]["domains"] == [
        {"main": "hub.example.org", "sans": []}
    ]
    autohttps = r.find("Deployment", "autohttps")
    assert args_of(autohttps, "secret-sync") == [
        "secret-sync",
        "watch",
        "proxy-public-tls-acme",
        "/etc/acme/acme.json",
    ]
    assert args_of(autohttps, "load-acme")[:2] == ["secret-sync", "load"]
    assert r.find("Role", "autohttps")["rules"][0]["resourceNames"] == ["proxy-public-tls-acme"]


def test_https_manual_and_secret_are_served_by_the_proxy(prerendered):
    manual = render(("https-manual",))
    assert "--ssl-cert=/etc/chp/tls/tls.crt" in args_of(manual.find("Deployment", "proxy"), "chp")
    assert manual.find("Secret", "proxy-public-manual-tls")["type"] == "kubernetes.io/tls"
    assert public_ports(manual) == {"http": "http", "https": "https"}
    secret = render(("https-secret",))
    volume = next(
        v for v in pod_spec(secret.find("Deployment", "proxy"))["volumes"] if v["name"] == "tls"
    )
    assert volume["secret"]["secretName"] == "image-pull-secret"


def test_https_offload_sends_443_to_the_http_port(prerendered):
    r = render(("https-offload",))
    ports = {p["name"]: p for p in r.find("Service", "proxy-public")["spec"]["ports"]}
    assert ports["https"]["targetPort"] == "http" and ports["https"]["nodePort"] == 30443


def test_image_pullers_pull_every_user_image(prerendered):
    r = render(("maximal",))
    for name in ("max-hook-image-puller", "max-continuous-image-puller"):
        images = {c["image"] for c in pod_spec(r.find("DaemonSet", name))["initContainers"]}
        assert images == {
            "max.example/singleuser:max-singleuser-tag", "max.example/network-tools:max-network-tools-tag",
            "max.example/profile-image:max-profile-tag", "max.example/profile-choice:max-choice-tag",
            "max.example/extra:max-extra-tag", "max.example/user-init:max-user-init-tag",
            "max.example/user-sidecar:max-user-sidecar-tag",
        }  # fmt: skip
    hook = r.find("DaemonSet", "max-hook-image-puller")
    assert hook["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    awaiter = r.find("Job", "max-hook-image-awaiter")
    assert args_of(awaiter, "awaiter")[:2] == ["image-awaiter", "--daemonset=max-hook-image-puller"]


def test_cloud_metadata_allowed_drops_the_network_tools_image(tmp_path):
    r = render(sets=("singleuser.cloudMetadata.blockWithIptables=false",))
    images = {
        c["image"]
        for c in pod_spec(r.find("DaemonSet", "continuous-image-puller"))["initContainers"]
    }
    assert not any("network-tools" in i for i in images)


def test_pod_priority(prerendered):
    r = render(("maximal",))
    # z2jh's names with a prefix: <prefix>, <prefix>-user-placeholder
    assert pod_spec(r.find("Deployment", "max-hub"))["priorityClassName"] == "max"
    assert (
        pod_spec(r.find("StatefulSet", "max-user-placeholder"))["priorityClassName"]
        == "max-user-placeholder"
    )
    assert r.find("PriorityClass", "max-user-placeholder")["value"] == -7003


def test_database_password_and_upgrade():
    r = render(
        sets=(
            'hub.db.type="mysql"',
            'hub.db.url="mysql+pymysql://u@h/db"',
            'hub.db.password="pw"',
            "hub.db.upgrade=true",
        )
    )
    hub = r.find("Deployment", "hub")
    env = {e["name"]: e for e in container(hub, "hub")["env"]}
    assert env["MYSQL_PWD"]["valueFrom"]["secretKeyRef"] == {
        "name": "hub",
        "key": "hub.db.password",
    }
    assert "--upgrade-db" in args_of(hub, "hub")
    assert not r.all("PersistentVolumeClaim")
    assert base64.b64decode(r.find("Secret", "hub")["data"]["hub.db.password"]) == b"pw"


def test_image_pull_secret_is_injected_everywhere():
    r = render(
        sets=(
            "imagePullSecret.create=true",
            'imagePullSecret.username="u"',
            'imagePullSecret.password="p"',
        )
    )
    secret = r.find("Secret", "image-pull-secret")
    config = yaml.safe_load(base64.b64decode(secret["data"][".dockerconfigjson"]))
    assert (
        config["auths"]["https://index.docker.io/v1/"]["auth"] == base64.b64encode(b"u:p").decode()
    )
    for kind, name in [
        ("Deployment", "hub"),
        ("Deployment", "proxy"),
        ("DaemonSet", "continuous-image-puller"),
    ]:
        assert {"name": "image-pull-secret"} in pod_spec(r.find(kind, name))["imagePullSecrets"]


def test_extra_files_are_mounted_in_the_hub(prerendered):
    hub = render(("maximal",)).find("Deployment", "max-hub")
    mount = next(m for m in container(hub, "hub")["volumeMounts"] if m["name"] == "files")
    assert mount == {
        "name": "files",
        "mountPath": "/etc/max/hub-file.yaml",
        "subPath": "extra-file.max-file",
    }
    secret = render(("maximal",)).find("Secret", "max-hub")
    assert yaml.safe_load(base64.b64decode(secret["data"]["extra-file.max-file"])) == {
        "max-hub-file-key": "max-hub-file-value"
    }


def test_existing_secret_is_mounted_for_the_hub(prerendered):
    hub = render(("maximal",)).find("Deployment", "max-hub")
    mounts = {m["name"]: m["mountPath"] for m in container(hub, "hub")["volumeMounts"]}
    assert mounts["existing-secret"] == "/usr/local/etc/jupyterhub/existing-secret/"


@pytest.mark.parametrize(
    "extra_env",
    [
        '{"A": "b", "N": 1}',  # a mapping of values
        '[{"name": "A", "value": "b"}, {"name": "N", "value": "1"}]',  # a list of EnvVar (seed reference)
    ],
)
def test_hub_extra_env_as_mapping_or_list(extra_env):
    hub = render(sets=(f"hub.extraEnv={extra_env}",)).find("Deployment", "hub")
    env = {e["name"]: e.get("value") for e in container(hub, "hub")["env"]}
    assert env["A"] == "b" and env["N"] == "1"


def test_hub_extra_env_value_from():
    sets = ('hub.extraEnv={"TOKEN": {"valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}}',)
    hub = render(sets=sets).find("Deployment", "hub")
    env = {e["name"]: e for e in container(hub, "hub")["env"]}
    assert env["TOKEN"] == {
        "name": "TOKEN",
        "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}},
    }


def test_defaults_users_expect(prerendered):
    r = render()
    values = yaml.safe_load(base64.b64decode(r.find("Secret", "hub")["data"]["values.yaml"]))
    assert {"enabled": True, "timeout": 3600, "every": 600}.items() <= values["cull"].items()
    storage = values["singleuser"]["storage"]
    assert (storage["type"], storage["capacity"], storage["homeMountPath"]) == (
        "dynamic",
        "10Gi",
        "/home/jovyan",
    )
    assert values["singleuser"]["memory"]["guarantee"] == "1G"
    assert values["singleuser"]["cloudMetadata"]["blockWithIptables"] is True
    assert values["hub"]["config"]["JupyterHub"]["authenticator_class"] == "dummy"
    assert {"hub", "proxy", "singleuser"} <= r.names("NetworkPolicy")
    assert values["Release"] == {"Name": "jhub", "Namespace": "jhub", "Service": "Helm"}
