"""Container environment: $(VAR) expansion, valueFrom, envFrom, service links."""

import base64

import pytest

from kubesim.node.container_env import EnvError, build_env, expand, expand_command, service_link_env


@pytest.mark.parametrize(
    "text, expected",
    [
        ("$(A)", "a"),
        ("x$(A)y$(B)", "xayb"),
        ("$$(A)", "$(A)"),
        ("$$$(A)", "$a"),
        ("$(MISSING)", "$(MISSING)"),
        ("$(A", "$(A"),
        ("cost $5", "cost $5"),
        ("end$", "end$"),
        ("$$", "$"),
        ("$()", "$()"),
    ],
)
def test_expand(text, expected):
    assert expand(text, {"A": "a", "B": "b"}) == expected


def b64(text):
    return base64.b64encode(text.encode()).decode()


POD = {
    "metadata": {
        "name": "web",
        "namespace": "ns",
        "uid": "u-1",
        "labels": {"app": "x", "tier": "web"},
        "annotations": {"note": "hi"},
    },
    "spec": {
        "nodeName": "node-1",
        "containers": [
            {"name": "c", "resources": {"limits": {"memory": "1Gi"}, "requests": {"cpu": "250m"}}}
        ],
    },
    "status": {"podIP": "127.244.0.7", "hostIP": "127.0.0.1"},
}
SECRETS = {"s": {"data": {"password": b64("hunter2"), "user": b64("me")}}}
CONFIGMAPS = {"cm": {"data": {"mode": "fast", "LEVEL": "3"}}}


def env_of(container, services=()):
    return build_env(
        POD,
        container,
        get_secret=SECRETS.get,
        get_configmap=CONFIGMAPS.get,
        services=list(services),
        node_allocatable={"cpu": "4", "memory": "16Gi"},
    )


def test_value_from_sources():
    env = env_of(
        {
            "name": "c",
            "env": [
                {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                {"name": "UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
                {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {"name": "HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
                {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                {"name": "SA", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}},
                {
                    "name": "APP",
                    "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}},
                },
                {"name": "LABELS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels"}}},
                {
                    "name": "NOTE",
                    "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['note']"}},
                },
                {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "s", "key": "password"}}},
                {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "mode"}}},
                {
                    "name": "MEM",
                    "valueFrom": {
                        "resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}
                    },
                },
                {
                    "name": "CPU_LIMIT",
                    "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}},
                },
                {
                    "name": "CPU_REQ",
                    "valueFrom": {
                        "resourceFieldRef": {"resource": "requests.cpu", "divisor": "1m"}
                    },
                },
                {"name": "URL", "value": "http://$(IP):8888/$(NAME)"},
            ],
        }
    )
    assert env == {
        "NAME": "web",
        "NS": "ns",
        "UID": "u-1",
        "IP": "127.244.0.7",
        "HOST": "127.0.0.1",
        "NODE": "node-1",
        "SA": "default",
        "APP": "x",
        "LABELS": 'app="x"\ntier="web"',
        "NOTE": "hi",
        "PW": "hunter2",
        "MODE": "fast",
        "MEM": "1024",
        "CPU_LIMIT": "4",
        "CPU_REQ": "250",
        "URL": "http://127.244.0.7:8888/web",
    }


def test_expansion_only_sees_earlier_vars_and_later_wins():
    env = env_of(
        {
            "name": "c",
            "envFrom": [
                {"configMapRef": {"name": "cm"}},
                {"secretRef": {"name": "s"}, "prefix": "S_"},
            ],
            "env": [
                {"name": "EARLY", "value": "$(LATE)-$(LEVEL)"},
                {"name": "LATE", "value": "late"},
                {"name": "LEVEL", "value": "9"},
            ],
        }
    )
    assert env["EARLY"] == "$(LATE)-3"
    assert env["LEVEL"] == "9"
    assert env["S_user"] == "me"
    assert env["mode"] == "fast"
    command, args = expand_command(
        {"command": ["echo", "$(LATE)"], "args": ["$$(LATE)", "$(NOPE)"]}, env
    )
    assert command == ["echo", "late"]
    assert args == ["$(LATE)", "$(NOPE)"]


def test_missing_references():
    with pytest.raises(EnvError, match='secret "nope" not found'):
        env_of(
            {
                "name": "c",
                "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k"}}}],
            }
        )
    with pytest.raises(EnvError, match="couldn't find key k in Secret ns/s"):
        env_of(
            {
                "name": "c",
                "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
            }
        )
    env = env_of(
        {
            "name": "c",
            "env": [
                {
                    "name": "X",
                    "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k", "optional": True}},
                },
                {
                    "name": "Y",
                    "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k", "optional": True}},
                },
            ],
            "envFrom": [{"configMapRef": {"name": "absent", "optional": True}}],
        }
    )
    assert "X" not in env and "Y" not in env


def test_service_links():
    service = {
        "metadata": {"name": "proxy-api"},
        "spec": {
            "clusterIP": "127.96.0.3",
            "ports": [{"name": "http", "port": 8001, "protocol": "TCP"}],
        },
    }
    headless = {"metadata": {"name": "h"}, "spec": {"clusterIP": "None", "ports": [{"port": 1}]}}
    env = service_link_env([service, headless])
    assert env["PROXY_API_SERVICE_HOST"] == "127.96.0.3"
    assert env["PROXY_API_SERVICE_PORT"] == "8001"
    assert env["PROXY_API_SERVICE_PORT_HTTP"] == "8001"
    assert env["PROXY_API_PORT"] == "tcp://127.96.0.3:8001"
    assert env["PROXY_API_PORT_8001_TCP_ADDR"] == "127.96.0.3"
    assert not any(key.startswith("H_") for key in env)
    assert (
        env_of(
            {"name": "c", "env": [{"name": "U", "value": "$(PROXY_API_SERVICE_PORT)"}]}, [service]
        )["U"]
        == "8001"
    )
