"""The pure parts of the local deployment: env computation as the kubelet
does it, Service variables, install order, proxy flags, volumes."""

import base64

import pytest
from localdeploy import components, order, podenv, render
from localdeploy.localpod import LocalPod, kubernetes_service_env, services_env
from localdeploy.volumes import host_path, mount_all


def facts(**kw):
    base = dict(
        name="hub-local",
        namespace="jhub",
        pod_ip="127.230.0.2",
        labels={"app": "x", "component": "hub"},
        secrets={"hub": {"token": "s3cret"}},
        configmaps={"cfg": {"A": "1", "bad key": "x"}},
    )
    base.update(kw)
    return podenv.PodFacts(**base)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("$(A)/x", "1/x"),
        ("$(MISSING)", "$(MISSING)"),
        ("$$(A)", "$(A)"),
        ("$$", "$"),
        ("a$b", "a$b"),
        ("$(A", "$(A"),
        ("$", "$"),
        ("$(A)$(B)", "12"),
    ],
)
def test_expansion_follows_kubernetes_rules(text, expected):
    assert podenv.expand(text, {"A": "1", "B": "2"}) == expected


def test_env_order_service_vars_then_envfrom_then_env():
    container = {
        "name": "c",
        "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "P_"}],
        "env": [
            {
                "name": "POD_NAMESPACE",
                "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
            },
            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "hub", "key": "token"}}},
            {"name": "URL", "value": "http://$(HUB_SERVICE_HOST):$(HUB_SERVICE_PORT)/$(LATER)"},
            {"name": "LATER", "value": "z"},
            {
                "name": "COMPONENT",
                "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['component']"}},
            },
            {
                "name": "OPT",
                "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k", "optional": True}},
            },
        ],
    }
    env = podenv.container_env(
        container, facts(), {"HUB_SERVICE_HOST": "127.0.0.9", "HUB_SERVICE_PORT": "8081"}
    )
    assert env["POD_NAMESPACE"] == "jhub"
    assert env["TOKEN"] == "s3cret"
    # a variable defined later is not expanded, as in Kubernetes
    assert env["URL"] == "http://127.0.0.9:8081/$(LATER)"
    assert env["COMPONENT"] == "hub"
    assert env["P_A"] == "1" and "P_bad key" not in env
    assert "OPT" not in env


def test_missing_required_secret_names_it():
    container = {
        "name": "c",
        "env": [{"name": "T", "valueFrom": {"secretKeyRef": {"name": "hub", "key": "nokey"}}}],
    }
    with pytest.raises(podenv.PodEnvError, match="nokey.*hub"):
        podenv.container_env(container, facts())


def test_resource_field_ref_rounds_up_with_divisor():
    container = {
        "name": "c",
        "resources": {"limits": {"memory": "1Gi", "cpu": "500m"}},
        "env": [
            {
                "name": "MEM_MI",
                "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}},
            },
            {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
        ],
    }
    env = podenv.container_env(container, facts())
    assert env["MEM_MI"] == "1024" and env["CPU"] == "1"


def test_argv_expands_from_final_env_and_needs_a_command():
    env = {"ROOT": "/x"}
    assert podenv.container_argv({"command": ["run"], "args": ["--c=$(ROOT)/c.py"]}, env) == [
        "run",
        "--c=/x/c.py",
    ]
    with pytest.raises(podenv.PodEnvError, match="no command"):
        podenv.container_argv({"name": "c", "args": ["x"]}, env)


def test_service_env_has_host_port_named_ports_and_links():
    env = podenv.service_env("proxy-api", "127.0.0.3", [{"name": "http", "port": 8001}])
    assert env["PROXY_API_SERVICE_HOST"] == "127.0.0.3"
    assert env["PROXY_API_SERVICE_PORT"] == "8001"
    assert env["PROXY_API_SERVICE_PORT_HTTP"] == "8001"
    assert env["PROXY_API_PORT"] == "tcp://127.0.0.3:8001"
    assert env["PROXY_API_PORT_8001_TCP_ADDR"] == "127.0.0.3"


def deployment(name, labels, ports, container="c"):
    return {
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": container, "command": ["x"], "ports": ports}]},
            }
        },
    }


def service(name, selector, port, target):
    return {
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {
            "selector": selector,
            "ports": [{"name": "http", "port": port, "targetPort": target}],
        },
    }


def test_services_point_at_the_local_pod_and_its_container_port():
    hub = LocalPod(
        deployment("hub", {"component": "hub"}, [{"name": "http", "containerPort": 8081}]),
        "127.230.1.2",
        "c",
    )
    proxy = LocalPod(
        deployment("proxy", {"component": "proxy"}, [{"name": "http", "containerPort": 8000}]),
        "127.230.1.3",
        "c",
    )
    svcs = [
        service("hub", {"component": "hub"}, 8081, "http"),
        service("proxy-public", {"component": "proxy"}, 80, "http"),
        service("nobody", {"component": "gone"}, 80, 80),
    ]
    env = services_env(svcs, [hub, proxy], {"proxy-public": ("127.0.0.1", 9000)})
    assert (env["HUB_SERVICE_HOST"], env["HUB_SERVICE_PORT"]) == ("127.230.1.2", "8081")
    assert (env["PROXY_PUBLIC_SERVICE_HOST"], env["PROXY_PUBLIC_SERVICE_PORT"]) == (
        "127.0.0.1",
        "9000",
    )
    assert not any(k.startswith("NOBODY_") for k in env)


def test_kubernetes_service_env_comes_from_the_server_url():
    env = kubernetes_service_env("https://127.0.0.1:43210")
    assert env["KUBERNETES_SERVICE_HOST"] == "127.0.0.1"
    assert env["KUBERNETES_SERVICE_PORT"] == "43210"


def test_install_order_and_hooks():
    objs = [
        {"kind": "Deployment", "metadata": {"name": "d"}},
        {"kind": "Weird", "metadata": {"name": "w"}},
        {"kind": "Secret", "metadata": {"name": "s"}},
        {"kind": "PriorityClass", "metadata": {"name": "p"}},
        {"kind": "Job", "metadata": {"name": "j", "annotations": {"helm.sh/hook": "pre-install"}}},
    ]
    regular, hooks = order.split_hooks(objs)
    assert [o["kind"] for o in order.install_order(regular)] == [
        "PriorityClass",
        "Secret",
        "Deployment",
        "Weird",
    ]
    assert [o["metadata"]["name"] for o in hooks] == ["j"]


def test_parse_manifests_skips_empty_documents_and_flattens_lists():
    text = "---\n# c\n---\nkind: A\nmetadata: {name: a}\n---\nkind: BList\nitems:\n- kind: B\n  metadata: {name: b}\n"
    assert [o["kind"] for o in render.parse_manifests(text)] == ["A", "B"]
    with pytest.raises(render.RenderError):
        render.parse_manifests("- just\n- a list\n")


def test_publish_proxy_rewrites_only_the_listen_flags():
    argv = [
        "configurable-http-proxy",
        "--ip=",
        "--port=8000",
        "--api-ip=",
        "--api-port=8001",
        "--default-target=http://h:1",
    ]
    out = components.publish_proxy(argv, "127.0.0.1", 9999, "127.230.0.3")
    assert out == [
        "configurable-http-proxy",
        "--ip=127.0.0.1",
        "--port=9999",
        "--api-ip=127.230.0.3",
        "--api-port=8001",
        "--default-target=http://h:1",
    ]
    assert components.set_flag(["x", "--ip", "a"], "--ip", "b") == ["x", "--ip=b"]
    assert components.set_flag(["x"], "--ip", "b") == ["x", "--ip=b"]


def test_volumes_become_directories_under_the_pod_fs(tmp_path):
    spec = {
        "volumes": [
            {"name": "config", "configMap": {"name": "cfg"}},
            {"name": "secret", "secret": {"secretName": "hub"}},
            {"name": "pvc", "persistentVolumeClaim": {"claimName": "hub-db-dir"}},
        ]
    }
    container = {
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/j/config/"},
            {"name": "secret", "mountPath": "/etc/j/secret/"},
            {"name": "pvc", "mountPath": "/srv/jupyterhub"},
            {"name": "secret", "mountPath": "/etc/j/only-token", "subPath": "token"},
        ]
    }
    fs = tmp_path / "pod" / "fs"
    claims = tmp_path / "claims"
    mount_all(spec, container, fs, facts(), lambda name: claims / name)
    assert (host_path(fs, "/etc/j/config") / "A").read_text() == "1"
    assert (host_path(fs, "/etc/j/secret/token")).read_text() == "s3cret"
    assert host_path(fs, "/etc/j/only-token").read_text() == "s3cret"
    (host_path(fs, "/srv/jupyterhub") / "db").write_text("kept")
    # a second start re-materialises config but keeps the claim's data
    mount_all(
        spec, container, fs, facts(configmaps={"cfg": {"B": "2"}}), lambda name: claims / name
    )
    assert not (host_path(fs, "/etc/j/config") / "A").exists()
    assert (claims / "hub-db-dir" / "db").read_text() == "kept"


def test_decode_secret_takes_data_and_string_data():
    secret = {"data": {"a": base64.b64encode(b"x").decode()}, "stringData": {"b": "y"}}
    assert podenv.decode_secret(secret) == {"a": "x", "b": "y"}
