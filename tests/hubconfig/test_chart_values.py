"""The values files the chart's own tests render (defaults, maximal, legacy,
one per seed guide example, dev-config.yaml): each gives a hub config that
loads, sets only real traits, and has the effect its keys promise."""

import pytest
from traitlets.config import Config

from .hubenv import REPO

CHART_VALUES = sorted((REPO / "tests" / "chart" / "values").rglob("*.yaml"))
FILES = [*CHART_VALUES, REPO / "dev-config.yaml"]


def _ids(path):
    return str(path.relative_to(REPO))


def _get(values, key):
    for part in key.split("."):
        if not isinstance(values, dict) or part not in values:
            return None
        values = values[part]
    return values


# values key -> (section, trait, how the value is expected to arrive)
DIRECT = [
    ("singleuser.memory.limit", "KubeSpawner", "mem_limit"),
    ("singleuser.memory.guarantee", "KubeSpawner", "mem_guarantee"),
    ("singleuser.cpu.limit", "KubeSpawner", "cpu_limit"),
    ("singleuser.cpu.guarantee", "KubeSpawner", "cpu_guarantee"),
    ("singleuser.defaultUrl", "Spawner", "default_url"),  # as z2jh
    ("singleuser.lifecycleHooks", "KubeSpawner", "lifecycle_hooks"),
    ("singleuser.serviceAccountName", "KubeSpawner", "service_account"),
    ("singleuser.extraAnnotations", "KubeSpawner", "extra_annotations"),
    ("singleuser.nodeSelector", "KubeSpawner", "node_selector"),
    ("singleuser.storage.dynamic.storageClass", "KubeSpawner", "storage_class"),
    ("singleuser.storage.capacity", "KubeSpawner", "storage_capacity"),
    ("singleuser.profileList", "KubeSpawner", "profile_list"),
    ("singleuser.startTimeout", "KubeSpawner", "start_timeout"),
    ("hub.db.upgrade", "JupyterHub", "upgrade_db"),
    ("hub.allowNamedServers", "JupyterHub", "allow_named_servers"),
    ("hub.namedServerLimitPerUser", "JupyterHub", "named_server_limit_per_user"),
    ("hub.baseUrl", "JupyterHub", "base_url"),
    ("hub.concurrentSpawnLimit", "JupyterHub", "concurrent_spawn_limit"),
    ("hub.activeServerLimit", "JupyterHub", "active_server_limit"),
    ("auth.state.enabled", "Authenticator", "enable_auth_state"),
]


@pytest.fixture(scope="module", params=FILES, ids=_ids)
def case(request, hub_setup):
    import yaml

    hub_setup.prerender(*FILES)
    values = yaml.safe_load(request.param.read_text()) or {}
    return values, hub_setup(request.param)


def test_loads_with_real_traits_only(case):
    """Our settings are all real traits; what users' own code sets is theirs."""
    from .hubenv import unknown_traits

    values, setup = case
    extra = _get(values, "hub.extraConfig") or ""
    user_code = extra if isinstance(extra, str) else "\n".join(extra.values())
    unknown = {
        section: [name for name in names if f"c.{section}.{name} " not in user_code]
        for section, names in unknown_traits(setup.config).items()
    }
    assert {section: names for section, names in unknown.items() if names} == {}


def test_keys_have_their_effect(case):
    values, setup = case
    config = setup.config
    for key, section, trait in DIRECT:
        value = _get(values, key)
        if value not in (None, [], {}):
            assert config[section][trait] == value, key
    image = _get(values, "singleuser.image")
    if image and image.get("name"):
        assert config.KubeSpawner.image.startswith(image["name"])
        if image.get("tag"):
            assert config.KubeSpawner.image == f"{image['name']}:{image['tag']}"
    env = _get(values, "singleuser.extraEnv")
    if isinstance(env, dict):
        for name, value in env.items():
            assert config.Spawner.environment[name] == (
                value if isinstance(value, dict) else str(value)
            )
    for key, section, trait in [
        ("auth.admin.users", "Authenticator", "admin_users"),
        ("auth.whitelist.users", "Authenticator", "allowed_users"),
    ]:
        if _get(values, key):
            assert config[section][trait] == set(_get(values, key)), key


def test_culler_follows_cull(case):
    values, setup = case
    services = {s["name"]: s for s in setup.config.JupyterHub.services}
    cull = values.get("cull") or {}
    if cull.get("enabled") is False:
        assert "jupyterhub-idle-culler" not in services
        return
    command = services["jupyterhub-idle-culler"]["command"]
    for key, flag in [("timeout", "timeout"), ("every", "cull-every")]:
        if cull.get(key) is not None:
            assert f"--{flag}={cull[key]}" in command


LEGACY_AUTHENTICATORS = {
    "github": "GitHubOAuthenticator",
    "google": "GoogleOAuthenticator",
    "cilogon": "CILogonOAuthenticator",
    "globus": "GlobusOAuthenticator",
    "gitlab": "GitLabOAuthenticator",
    "generic": "GenericOAuthenticator",
    "dummy": "DummyAuthenticator",
}


def _authenticator(config):
    from .hubenv import authenticator_class

    return authenticator_class(Config(config))


def test_authenticator(case):
    values, setup = case
    actual = _authenticator(setup.config)
    legacy = _get(values, "auth.type")
    configured = _get(values, "hub.config.JupyterHub.authenticator_class")
    if legacy == "custom":
        assert actual.__name__ == values["auth"]["custom"]["className"].rpartition(".")[2]
    elif legacy:
        assert actual.__name__ == LEGACY_AUTHENTICATORS[legacy]
    elif configured:
        expected = _authenticator({"JupyterHub": {"authenticator_class": configured}})
        assert actual is expected
    else:
        assert actual.__name__ == "DummyAuthenticator"


def test_extra_config_map_reaches_custom(case):
    values, setup = case
    legacy = _get(values, "hub.extraConfigMap")
    if not legacy:
        return
    code = "import z2jh\nc.JupyterHub.template_vars = {}\n" + "".join(
        f'c.JupyterHub.template_vars["{key}"] = z2jh.get_config("custom.{key}")\n' for key in legacy
    )
    config = setup.load(existing_values={"hub": {"extraConfig": {"zz": code}}})
    assert config.JupyterHub.template_vars == legacy
