"""values.schema.yaml is the one source of the chart's keys: the generated
files are up to date, every key is described and has a default, and bad
input is refused by `helm template` (Helm 3 and 4) naming the key."""

import json
import re
import subprocess

import jsonschema
import pytest
import yaml

from .chart_helpers import CHART, ROOT, dotted_get, render_error

SCHEMA = json.loads((CHART / "values.schema.json").read_text())
DEFAULTS = yaml.safe_load((CHART / "values.yaml").read_text())


def walk(node: dict, path: str = ""):
    for key, child in node.get("properties", {}).items():
        child_path = f"{path}.{key}" if path else key
        yield child_path, child
        yield from walk(child, child_path)


def test_generated_schema_and_reference_are_up_to_date():
    out = subprocess.run(
        [ROOT / ".venv/bin/python", ROOT / "ci/generate-schema", "--check"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr


def test_schema_is_valid_json_schema_and_accepts_the_defaults():
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    jsonschema.Draft7Validator(SCHEMA).validate(DEFAULTS)


def test_every_key_is_described():
    undescribed = [path for path, node in walk(SCHEMA) if not node.get("description")]
    assert undescribed == []


def _lookup(tree, path: str):
    return dotted_get(tree, path, missing=KeyError)


def test_every_current_key_has_a_default_and_every_default_a_key():
    deprecated = [p for p, node in walk(SCHEMA) if node.get("deprecated")]
    missing = []
    for path, _node in walk(SCHEMA):
        parent = path.rpartition(".")[0]
        if any(path == d or path.startswith(d + ".") for d in deprecated):
            continue  # seed-era keys: accepted, never defaulted
        parent_default = _lookup(DEFAULTS, parent) if parent else DEFAULTS
        # Keys inside an object whose default is empty or null are optional.
        if (
            isinstance(parent_default, dict)
            and parent_default
            and _lookup(DEFAULTS, path) is KeyError
        ):
            missing.append(path)
    # Optional parts of Kubernetes structures, and the sync image (default: hub.image).
    optional = ("claims", "rollingUpdate")
    assert [p for p in missing if p.rpartition(".")[2] not in optional] == [
        "proxy.secretSync.image"
    ]

    def unknown(tree, node, path=""):
        for key, value in tree.items():
            child = node.get("properties", {}).get(key)
            patterns = node.get("patternProperties", {})
            if child is None:
                child = next((v for pat, v in patterns.items() if re.search(pat, key)), None)
            if child is None:
                if node.get("additionalProperties") is False:
                    yield f"{path}{key}"
                continue
            if isinstance(value, dict):
                yield from unknown(value, child, f"{path}{key}.")

    assert list(unknown(DEFAULTS, SCHEMA)) == []


def test_objects_are_closed_except_free_form_ones():
    open_objects = {p for p, node in walk(SCHEMA) if node.get("additionalProperties") is True}
    assert open_objects <= {
        "hub.config", "custom", "global",
        # auth.custom is open so the template can refuse a setting beside
        # className naming auth.custom.config; config is the class's traits.
        "auth.custom", "auth.custom.config",
        *(p for p in open_objects if p.endswith(("SecurityContext", "extraPodSpec"))),
    }  # fmt: skip
    assert SCHEMA["additionalProperties"] is False


# (values, what helm's message must contain)
REFUSED = [
    ({"singleuser": {"memroy": {"limit": "1G"}}}, ["/singleuser", "memroy"]),
    ({"cull": {"timeout": "an hour"}}, ["/cull/timeout", "integer"]),
    ({"storage2": {"capacity": "2Gi"}}, ["'storage2' not allowed"]),
    ({"hub": {"db": {"type": "sqlite"}}}, ['hub.db.type: "sqlite" is not one of its values; write sqlite-pvc,']),
    ({"proxy": {"service": {"type": "Public"}}}, ['proxy.service.type: "Public"']),
    # z2jh's own lint values write DualStack, which Kubernetes refuses.
    (
        {"proxy": {"service": {"ipFamilyPolicy": "DualStack"}}},
        ['proxy.service.ipFamilyPolicy: "DualStack"', "PreferDualStack or RequireDualStack, or leave it unset"],
    ),
    ({"singleuser": {"image": {"name": ""}}}, ['singleuser.image.name: "" is not an image name']),
    ({"hub": {"baseUrl": "jupyter"}}, ['hub.baseUrl: "jupyter" is not a URL path']),
    ({"singleuser": {"schedulerStrategy": "random"}}, ['singleuser.schedulerStrategy: "random"', "pack or spread"]),
    ({"proxy": {"service": {"ipFamilies": ["IPv4", "ipv6"]}}}, ['proxy.service.ipFamilies[1]: "ipv6"', "IPv4 or IPv6"]),
    ({"prePuller": {"hook": {"enabeld": False}}}, ["/prePuller/hook", "enabeld"]),
    ({"proxy": {"secretToken": 1234}}, ["/proxy/secretToken", "string"]),
    ({"scheduling": {"userScheduler": {"replicas": "2"}}}, ["/scheduling/userScheduler/replicas", "integer"]),
    ({"debug": {"enabled": "yes"}}, ["/debug/enabled", "boolean"]),
    # Refused at render time, with the fix in the message.
    ({"storage": {"capacity": "2Gi"}}, ["storage is not a top-level key", "singleuser.storage"]),
    ({"hub": {"auth": {"type": "github"}}}, ["hub.auth is not read", "auth:, not under hub:", "hub.config"]),
    ({"auth": {"type": "bitbucket"}}, ['auth.type "bitbucket" is not one of: azuread, cilogon, custom,']),
    ({"proxy": {"https": {"hosts": ["h.example.org"]}}}, ["proxy.https.letsencrypt.contactEmail"]),
    ({"proxy": {"https": {"type": "manual", "manual": {"key": "K"}}}}, ["proxy.https.manual.cert is missing"]),
    ({"proxy": {"https": {"enabled": True, "hosts": ["h.example.org"]}}}, ["proxy.https.letsencrypt.contactEmail"]),
    ({"proxy": {"https": {"enabled": True, "type": "manual"}}}, ["proxy.https.manual.key"]),
    ({"proxy": {"https": {"enabled": True, "type": "secret"}}}, ["proxy.https.secret.name"]),
    ({"hub": {"db": {"type": "postgres"}}}, ["hub.db.url"]),
    ({"singleuser": {"storage": {"type": "static"}}}, ["singleuser.storage.static.pvcName"]),
    ({"imagePullSecret": {"create": True}}, ["imagePullSecret.username"]),
    ({"httpRoute": {"enabled": True}}, ["httpRoute.gateway.name"]),
    ({"hub": {"extraFiles": {"f": {"mountPath": "/etc/f.ini", "data": {"a": 1}}}}}, ["extraFiles.f", "stringData"]),
    ({"hub": {"extraFiles": {"f": {"mountPath": "/etc/f.txt"}}}}, ["extraFiles.f"]),
]  # fmt: skip


@pytest.mark.parametrize("helm", ["3", "4"])
@pytest.mark.parametrize("values, expected", REFUSED, ids=[str(i) for i in range(len(REFUSED))])
def test_bad_input_is_refused_naming_the_key(tmp_path, helm, values, expected):
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    message = render_error((str(path),), helm)
    for part in expected:
        assert part in message, message
