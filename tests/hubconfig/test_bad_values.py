"""Bad values stop the hub with a message naming the key.

The chart's schema refuses most of these at `helm upgrade`; values from
`hub.existingSecret` reach the hub unchecked, so the hub checks them too.
"""

import pytest

from .hubenv import raises_config_error

BAD = [
    ({"hub": {"db": {"type": "oracle"}}}, r"hub\.db\.type is 'oracle'; it must be one of"),
    (
        {"hub": {"db": {"type": "postgres"}}},
        r"hub\.db\.url must be set when hub\.db\.type is 'postgres'",
    ),
    (
        {"hub": {"db": {"type": "postgres", "url": "mysql://h/db"}}},
        r"hub\.db\.url starts with mysql://, which does not match hub\.db\.type 'postgres'",
    ),
    (
        {"hub": {"concurrentSpawnLimit": -1}},
        r"hub\.concurrentSpawnLimit must be a whole number >= 0",
    ),
    ({"hub": {"allowNamedServers": "yes"}}, r"hub\.allowNamedServers must be a true or false"),
    ({"hub": {"baseUrl": 5}}, r"hub\.baseUrl must be a string"),
    ({"hub": {"services": {"x": "token"}}}, r"hub\.services\.x must be a mapping"),
    ({"hub": {"loadRoles": {"r": ["read:users"]}}}, r"hub\.loadRoles\.r must be a mapping"),
    (
        {"hub": {"config": {"jupyterhub": {"a": 1}}}},
        r"hub\.config\.jupyterhub: sections are class names",
    ),
    ({"hub": {"config": {"JupyterHub": "x"}}}, r"hub\.config\.JupyterHub must be a mapping"),
    ({"hub": {"extraConfig": ["print(1)"]}}, r"hub\.extraConfig must be a string or a mapping"),
    ({"hub": {"extraConfig": {"a": 1}}}, r"hub\.extraConfig\.a must be Python code"),
    ({"singleuser": {"storage": {"type": "nfs"}}}, r"singleuser\.storage\.type is 'nfs'"),
    (
        {"singleuser": {"storage": {"type": "static", "static": {"pvcName": None}}}},
        r"singleuser\.storage\.static\.pvcName must name a PVC",
    ),
    (
        {"singleuser": {"memory": {"limit": "lots"}}},
        r"singleuser\.memory\.limit: 'lots' is not valid for KubeSpawner\.mem_limit",
    ),
    (
        {"singleuser": {"cpu": {"limit": "2 cores"}}},
        r"singleuser\.cpu\.limit must be a number, not '2 cores'",
    ),
    ({"singleuser": {"startTimeout": "soon"}}, r"singleuser\.startTimeout must be a whole number"),
    ({"singleuser": {"uid": True}}, r"singleuser\.uid must be a whole number, not True"),
    (
        {"singleuser": {"extraEnv": [{"value": "x"}]}},
        r"singleuser\.extraEnv\[0\] must be a mapping with a name",
    ),
    (
        {"singleuser": {"extraFiles": {"f": {"data": {}}}}},
        r"singleuser\.extraFiles\.f\.mountPath must be set",
    ),
    (
        {"singleuser": {"image": {"pullSecrets": [{"nome": "x"}]}}},
        r"singleuser\.image\.pullSecrets\[0\] must be a Secret name",
    ),
    (
        {"singleuser": {"storage": {"extraVolumes": "vol"}}},
        r"singleuser\.storage\.extraVolumes must be a list or a mapping",
    ),
    (
        {"singleuser": {"cloudMetadata": {"ip": "metadata"}}},
        r"singleuser\.cloudMetadata\.ip must be an IP address",
    ),
    ({"singleuser": {"schedulerStrategy": "random"}}, r"singleuser\.schedulerStrategy is 'random'"),
    (
        {"scheduling": {"userPods": {"nodeAffinity": {"matchNodePurpose": "always"}}}},
        r"scheduling\.userPods\.nodeAffinity\.matchNodePurpose is 'always'",
    ),
    ({"cull": {"timeout": "1h"}}, r"cull\.timeout must be a whole number"),
    ({"cull": {"every": -5}}, r"cull\.every must be a whole number >= 0"),
    ({"auth": {"type": "ldap"}}, r"auth\.type 'ldap' is not supported"),
    ({"auth": {"whitelist": {"users": "alice"}}}, r"auth\.whitelist\.users must be a list"),
    ({"auth": {"type": "google", "google": "x"}}, r"auth\.google must be a mapping"),
    (
        {"auth": {"type": "github", "github": {"clientID": "x"}}},
        r"auth\.github\.clientID is not a setting of GitHubOAuthenticator",
    ),
    (
        {"auth": {"type": "custom", "custom": {}}},
        r"auth\.custom\.className must name the authenticator class",
    ),
    (
        {"auth": {"type": "custom", "custom": {"className": "nope.Missing"}}},
        r"auth\.custom\.className: cannot import 'nope\.Missing'",
    ),
    # Only true/false turn features on or off: the string "false" is an error.
    (
        {"scheduling": {"userScheduler": {"enabled": "false"}}},
        r"^Hub configuration error: scheduling\.userScheduler\.enabled must be a true or false, "
        r"not 'false'$",
    ),
    (
        {"scheduling": {"podPriority": {"enabled": "false"}}},
        r"scheduling\.podPriority\.enabled must be a true or false, not 'false'$",
    ),
    (
        {"imagePullSecret": {"create": "false"}},
        r"imagePullSecret\.create must be a true or false, not 'false'$",
    ),
    (
        {"imagePullSecret": {"automaticReferenceInjection": "no"}},
        r"imagePullSecret\.automaticReferenceInjection must be a true or false, not 'no'$",
    ),
    (
        {"singleuser": {"cloudMetadata": {"enabled": "true"}}},
        r"singleuser\.cloudMetadata\.enabled must be a true or false, not 'true'$",
    ),
    # A section that is not a mapping is an error, not the defaults.
    ({"singleuser": 5}, r"^Hub configuration error: singleuser must be a mapping, not 5$"),
    ({"hub": "x"}, r"^Hub configuration error: hub must be a mapping, not 'x'$"),
    ({"cull": False}, r"^Hub configuration error: cull must be a mapping, not False$"),
    ({"scheduling": []}, r"^Hub configuration error: scheduling must be a mapping, not \[\]$"),
    (
        {"singleuser": {"storage": "none"}},
        r"^Hub configuration error: singleuser\.storage must be a mapping, not 'none'$",
    ),
    (
        {"singleuser": {"cloudMetadata": True}},
        r"^Hub configuration error: singleuser\.cloudMetadata must be a mapping, not True$",
    ),
    (
        {"hub": {"extraConfigMap": 5}},
        r"^Hub configuration error: hub\.extraConfigMap must be a mapping, not 5$",
    ),
    (
        {"hub": {"extraConfigMap": {"a": 1}}, "custom": "x"},
        r"^Hub configuration error: custom must be a mapping \(hub\.extraConfigMap merges "
        r"into it\), not 'x'$",
    ),
    ({"nameOverride": 5}, r"nameOverride must be a string, not 5$"),
    (
        {"singleuser": {"image": {"tag": ["1"]}}},
        r"singleuser\.image\.tag must be a string or number, not \['1'\]$",
    ),
    (
        {"singleuser": {"networkTools": {"image": {"pullPolicy": "Sometimes"}}}},
        r"singleuser\.networkTools\.image\.pullPolicy is 'Sometimes'; it must be one of: "
        r"Always, IfNotPresent, Never$",
    ),
    (
        {"singleuser": {"storage": {"extraVolumes": ["scratch"]}}},
        r"singleuser\.storage\.extraVolumes\[0\] must be a mapping, not 'scratch'$",
    ),
    (
        {"hub": {"cookieSecret": 1234567890}},
        r"hub\.cookieSecret must be a string, not 1234567890$",
    ),
    (
        {"singleuser": {"extraFiles": {"f": "hello"}}},
        r"singleuser\.extraFiles\.f must be a mapping, not 'hello'$",
    ),
    (
        {"singleuser": {"extraFiles": {"f": {"mountPath": 5}}}},
        r"singleuser\.extraFiles\.f\.mountPath must be set to where the file appears in the "
        r"pod, not 5$",
    ),
]


@pytest.mark.parametrize("values, message", BAD, ids=[m.split(" ")[0].strip("\\^") for _, m in BAD])
def test_bad_value_names_its_key(hub_setup, values, message):
    with raises_config_error(message):
        hub_setup().load(existing_values=values)


def test_missing_proxy_token(hub_setup):
    env = {"CONFIGPROXY_AUTH_TOKEN": ""}
    setup = hub_setup()
    root = setup.root()
    (root / "secret" / "hub.config.ConfigurableHTTPProxy.auth_token").unlink()
    from .hubenv import load_hub_config

    with raises_config_error(r"no proxy auth token: .*proxy\.secretToken"):
        load_hub_config(root, {**setup.pod.env, **env})


@pytest.mark.slow
def test_the_real_hub_exits_with_one_line(hub_setup, tmp_path):
    """`jupyterhub` itself, as the Deployment runs it: exit 1, no traceback."""
    import os
    import subprocess

    from .hubenv import REPO

    setup = hub_setup()
    root = setup.root(existing_values={"singleuser": {"storage": {"type": "nfs"}}})
    env = {**os.environ, **setup.pod.env, "Z2JH_CONFIG_ROOT": str(root)}
    out = subprocess.run(
        [REPO / ".venv/bin/jupyterhub", f"--config={root / 'jupyterhub_config.py'}"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        "Hub configuration error: singleuser.storage.type is 'nfs'; "
        "it must be one of: dynamic, static, none"
    ]
