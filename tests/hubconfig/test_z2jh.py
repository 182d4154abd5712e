"""z2jh.py on its own: reading values, secrets and names under Z2JH_CONFIG_ROOT."""

import shutil

import pytest
import yaml

from .hubenv import CHART, load_shipped_module


@pytest.fixture
def root(tmp_path, monkeypatch):
    (tmp_path / "secret").mkdir()
    (tmp_path / "config").mkdir()
    # as the hub ConfigMap ships it
    shutil.copy(CHART / "files/legacy-keys.json", tmp_path / "config")
    monkeypatch.setenv("Z2JH_CONFIG_ROOT", str(tmp_path))
    return tmp_path


@pytest.fixture
def z2jh(root):
    return load_shipped_module("z2jh.py", "z2jh_under_test")


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))


VALUES = {
    "singleuser": {"memory": {"limit": "1G", "guarantee": None}, "cmd": ["a", "b"]},
    "hub": {"extraConfigMap": {"old": 1, "both": "old"}},
    "custom": {"new": 2, "both": "new"},
}


def test_get_config_dotted_keys(root, z2jh):
    write(root / "secret/values.yaml", VALUES)
    assert z2jh.get_config("singleuser.memory.limit") == "1G"
    assert z2jh.get_config("singleuser.cmd") == ["a", "b"]
    assert z2jh.get_config("singleuser.memory") == {"limit": "1G", "guarantee": None}
    assert z2jh.get_config("singleuser.nothing.here") is None
    assert z2jh.get_config("singleuser.cmd.deeper", "d") == "d"
    # a null value counts as unset
    assert z2jh.get_config("singleuser.memory.guarantee", "2G") == "2G"


def test_extra_config_map_is_custom(root, z2jh):
    write(root / "secret/values.yaml", VALUES)
    assert z2jh.get_config("custom.old") == 1
    assert z2jh.get_config("custom.new") == 2
    assert z2jh.get_config("custom.both") == "new"


def test_existing_secret_merges_over_the_chart(root, z2jh):
    write(root / "secret/values.yaml", VALUES)
    write(root / "existing-secret/values.yaml", {"singleuser": {"memory": {"limit": "8G"}}})
    assert z2jh.get_config("singleuser.memory.limit") == "8G"
    assert z2jh.get_config("singleuser.cmd") == ["a", "b"]


def test_set_config_if_not_none(root, z2jh):
    write(root / "secret/values.yaml", VALUES)

    class Target:
        pass

    target = Target()
    z2jh.set_config_if_not_none(target, "mem_limit", "singleuser.memory.limit")
    z2jh.set_config_if_not_none(target, "mem_guarantee", "singleuser.memory.guarantee")
    assert target.mem_limit == "1G"
    assert not hasattr(target, "mem_guarantee")


def test_secret_values(root, z2jh):
    write(root / "secret/hub.config.JupyterHub.cookie_secret", "chart")
    write(root / "secret/hub.services.x.apiToken", "chart-token")
    write(root / "existing-secret/hub.config.JupyterHub.cookie_secret", "mine")
    assert z2jh.get_secret_value("hub.config.JupyterHub.cookie_secret") == "mine"
    assert z2jh.get_secret_value("hub.services.x.apiToken") == "chart-token"
    assert z2jh.get_secret_value("nope", None) is None
    with pytest.raises(z2jh.ConfigError, match="'nope' is in neither"):
        z2jh.get_secret_value("nope")


def test_unreadable_secret_names_the_file(root, z2jh):
    # a directory where the key should be (a real OSError, also as root)
    (root / "existing-secret" / "hub.services.x.apiToken").mkdir(parents=True)
    write(root / "secret/hub.services.x.apiToken", "chart-token")
    with pytest.raises(z2jh.ConfigError) as info:
        z2jh.get_secret_value("hub.services.x.apiToken", None)
    assert str(info.value) == (
        f"{root / 'existing-secret' / 'hub.services.x.apiToken'} cannot be read "
        "(Is a directory); it should hold the secret hub.services.x.apiToken"
    )
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_binary_secret_names_the_file(root, z2jh):
    (root / "secret" / "hub.config.JupyterHub.cookie_secret").write_bytes(b"\xff\xfe")
    with pytest.raises(
        z2jh.ConfigError,
        match=r"cookie_secret is not UTF-8 text; the secret hub\.config\.JupyterHub\.cookie_secret",
    ):
        z2jh.get_secret_value("hub.config.JupyterHub.cookie_secret")


@pytest.mark.parametrize(
    "values, message",
    [
        ({"hub": {"extraConfigMap": [1]}}, "hub.extraConfigMap must be a mapping, not [1]"),
        (
            {"hub": {"extraConfigMap": {"a": 1}}, "custom": 5},
            "custom must be a mapping (hub.extraConfigMap merges into it), not 5",
        ),
    ],
)
def test_extra_config_map_must_be_a_mapping(root, z2jh, values, message):
    write(root / "secret/values.yaml", values)
    with pytest.raises(z2jh.ConfigError) as info:
        z2jh.get_config("custom.a")
    assert str(info.value) == message  # the key is named; no "(reading ...)" suffix


def test_a_scalar_hub_leaves_other_keys_readable(root, z2jh):
    # (jupyterhub_config.py reports `hub: 5` when it reads hub.*)
    write(root / "secret/values.yaml", {"hub": 5, "custom": {"a": 1}})
    assert z2jh.get_config("custom.a") == 1
    assert z2jh.get_config("hub.baseUrl", "/") == "/"


def test_names_and_service_env(root, z2jh, monkeypatch):
    write(root / "config/resource-names.yaml", {"hub": "jhub-hub", "proxy-api": "jhub-proxy-api"})
    monkeypatch.setenv("JHUB_PROXY_API_SERVICE_PORT", "8001")
    assert z2jh.get_name("hub") == "jhub-hub"
    assert z2jh.get_name_env("proxy-api", "_SERVICE_PORT") == "8001"
    with pytest.raises(
        z2jh.ConfigError, match=r"no name for 'proxy-public' \(it knows: hub, proxy-api\)"
    ):
        z2jh.get_name("proxy-public")
    with pytest.raises(z2jh.ConfigError, match="JHUB_HUB_SERVICE_HOST .* is not set"):
        z2jh.get_name_env("hub", "_SERVICE_HOST")


def test_missing_file_names_the_file(root, z2jh):
    with pytest.raises(z2jh.ConfigError) as info:
        z2jh.get_config("hub.baseUrl")
    assert str(root / "secret/values.yaml") in str(info.value)
    assert "is missing" in str(info.value)
    assert str(info.value).endswith("(reading hub.baseUrl)")
    # the message is the whole story: no chained traceback from deep inside
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_malformed_file_names_the_file_and_line(root, z2jh):
    write(root / "secret/values.yaml", "hub:\n  baseUrl: /x\n   bad: [\n")
    with pytest.raises(z2jh.ConfigError, match=r"values\.yaml is not valid YAML at line 3"):
        z2jh.get_config("hub.baseUrl")


def test_not_a_mapping(root, z2jh):
    write(root / "config/resource-names.yaml", "- hub\n")
    with pytest.raises(
        z2jh.ConfigError, match=r"resource-names\.yaml must hold a mapping, not a list"
    ):
        z2jh.get_name("hub")


def test_default_root(z2jh, monkeypatch):
    monkeypatch.delenv("Z2JH_CONFIG_ROOT")
    assert str(z2jh.config_root()) == "/usr/local/etc/jupyterhub"
