"""The configuration mixin: every documented trait, the old names, defaults."""

import logging
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from traitlets.config import Config

from kubespawner import clients, slugs
from kubespawner.config import DEPRECATED_ALIASES, KubeSpawnerConfig
from testsupport.spawners import ConfigOnlyKubeSpawner, StubUser, config_only_spawner

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"


def make(config=None, server="", **user):
    return config_only_spawner(config, server, StubUser(**user))


# The c.KubeSpawner.<name> entries of the reference (seeds 000/001), kept
# here so the test runs where the seed documents are not checked out;
# test_vendored_names_match_the_seed keeps the copy honest where they are.
SEED_TRAITS = [
    "args",
    "cmd",
    "cpu_guarantee",
    "cpu_limit",
    "debug",
    "default_url",
    "disable_user_config",
    "env_keep",
    "environment",
    "extra_resource_guarantees",
    "extra_resource_limits",
    "http_timeout",
    "hub_connect_ip",
    "hub_connect_port",
    "ip",
    "k8s_api_threadpool_workers",
    "mem_guarantee",
    "mem_limit",
    "modify_pod_hook",
    "namespace",
    "notebook_dir",
    "options_form",
    "pod_name_template",
    "poll_interval",
    "port",
    "pre_spawn_hook",
    "pvc_name_template",
    "singleuser_extra_annotations",
    "singleuser_extra_container_config",
    "singleuser_extra_containers",
    "singleuser_extra_labels",
    "singleuser_extra_pod_config",
    "singleuser_fs_gid",
    "singleuser_image_pull_policy",
    "singleuser_image_pull_secrets",
    "singleuser_image_spec",
    "singleuser_init_containers",
    "singleuser_lifecycle_hooks",
    "singleuser_node_selector",
    "singleuser_privileged",
    "singleuser_service_account",
    "singleuser_uid",
    "singleuser_working_dir",
    "start_timeout",
    "user_storage_access_modes",
    "user_storage_capacity",
    "user_storage_class",
    "user_storage_extra_labels",
    "user_storage_pvc_ensure",
    "volume_mounts",
    "volumes",
]


def parse_seed_trait_names():
    files = sorted(SEEDS.glob("00[01]_*.txt"))
    text = "".join(p.read_text() for p in files)
    return sorted(set(re.findall(r"c\.KubeSpawner\.([a-z_0-9]+)", text))), bool(files)


def test_vendored_names_match_the_seed():
    parsed, found = parse_seed_trait_names()
    if not found:
        pytest.skip(f"seed documents not present at {SEEDS}")
    assert parsed == SEED_TRAITS


def seed_trait_names():
    parsed, found = parse_seed_trait_names()
    return parsed if found else SEED_TRAITS


def test_seed_lists_traits():
    # guard against the parser silently finding nothing
    assert len(seed_trait_names()) > 40


@pytest.mark.parametrize("name", seed_trait_names())
def test_every_seed_trait_is_configurable(name):
    traits = ConfigOnlyKubeSpawner.class_traits(config=True)
    assert name in traits, f"c.KubeSpawner.{name} from the reference is missing"
    assert (traits[name].help or "").strip(), f"{name} has no help string"


def test_every_own_trait_has_help():
    own = KubeSpawnerConfig.class_traits(config=True)
    missing = [n for n, t in own.items() if not (t.help or "").strip()]
    assert not missing


@pytest.mark.parametrize("old", sorted(DEPRECATED_ALIASES))
def test_old_names_set_the_new_trait_and_warn(old, caplog):
    new = DEPRECATED_ALIASES[old][0]
    sample = SAMPLES[new]
    c = Config()
    c.KubeSpawner[old] = sample
    with caplog.at_level(logging.WARNING):
        spawner = make(c)
    assert getattr(spawner, new) == sample
    assert getattr(spawner, old) == sample
    messages = [r.getMessage() for r in caplog.records]
    assert any(old in m and f".{new} instead" in m for m in messages), messages


def test_old_names_raise_deprecation_warnings_and_lose_to_new_names():
    c = Config()
    c.KubeSpawner.singleuser_fs_gid = 5
    c.KubeSpawner.fs_gid = 10
    with pytest.warns(DeprecationWarning, match="singleuser_fs_gid"):
        spawner = make(c)
    assert spawner.fs_gid == spawner.singleuser_fs_gid == 10


def test_a_string_image_pull_secret_reads_back_as_a_list():
    spawner = make()
    spawner.image_pull_secrets = "k8s-secret-a"
    assert spawner.image_pull_secrets == [{"name": "k8s-secret-a"}]


SAMPLES = {
    "image": "example.org/nb:1.2",
    "extra_annotations": {"a": "b"},
    "extra_container_config": {"envFrom": []},
    "extra_containers": [{"name": "side", "image": "busybox"}],
    "extra_labels": {"team": "x"},
    "extra_pod_config": {"dnsPolicy": "None"},
    "fs_gid": 100,
    "image_pull_policy": "Always",
    "image_pull_secrets": [{"name": "regcred"}],
    "init_containers": [{"name": "init", "image": "busybox"}],
    "lifecycle_hooks": {"preStop": {"exec": {"command": ["true"]}}},
    "node_selector": {"disktype": "ssd"},
    "privileged": True,
    "service_account": "nb",
    "supplemental_gids": [5, 6],
    "uid": 1000,
    "working_dir": "/work",
    "storage_access_modes": ["ReadWriteMany"],
    "storage_capacity": "5Gi",
    "storage_class": "fast",
    "storage_extra_labels": {"tier": "gold"},
    "storage_pvc_ensure": True,
}


def test_alias_set_in_code_also_forwards(caplog):
    spawner = make()
    with caplog.at_level(logging.WARNING):
        spawner.singleuser_image_spec = "x:1"
    assert spawner.image == "x:1"
    assert "use KubeSpawner.image instead" in caplog.text


def test_defaults_overridden_from_spawner():
    spawner = make()
    assert spawner.port == 8888
    assert spawner.ip == "0.0.0.0"
    assert spawner.cmd is None
    assert spawner.env_keep == []
    assert spawner.allow_privilege_escalation is False
    assert spawner.slug_scheme == "safe"
    assert spawner.storage_access_modes == ["ReadWriteOnce"]
    assert spawner.delete_stopped_pods is True


def test_spawner_traits_configurable_through_kubespawner_section():
    c = Config()
    c.KubeSpawner.port = 9999
    c.KubeSpawner.cmd = ["jupyterhub-singleuser"]
    c.KubeSpawner.mem_limit = "1G"
    c.KubeSpawner.start_timeout = 300
    c.Spawner.http_timeout = 99
    spawner = make(c)
    assert spawner.port == 9999
    assert spawner.cmd == ["jupyterhub-singleuser"]
    assert spawner.mem_limit == 1024**3
    assert spawner.start_timeout == 300
    assert spawner.http_timeout == 99


def test_namespace_defaults_to_pod_namespace_env(monkeypatch, tmp_path):
    monkeypatch.setattr(clients, "SERVICE_ACCOUNT_DIR", str(tmp_path))
    monkeypatch.setenv("POD_NAMESPACE", "hubns")
    assert make().namespace == "hubns"
    monkeypatch.delenv("POD_NAMESPACE")
    assert make().namespace == "default"
    # in a pod: the service account's namespace
    (tmp_path / "namespace").write_text("from-sa\n")
    assert make().namespace == "from-sa"


def test_user_namespaces_render_from_hub_namespace():
    c = Config()
    c.KubeSpawner.namespace = "jhub"
    c.KubeSpawner.enable_user_namespaces = True
    spawner = make(c, name="Alice")
    assert re.fullmatch(r"jhub-alice---[0-9a-f]{8}", spawner.namespace)
    assert spawner.hub_namespace == "jhub"
    c.KubeSpawner.user_namespace_template = "u-{userid}"
    assert make(c).namespace == "u-7"


def test_names_from_templates_for_named_servers():
    spawner = make(name="alice")
    spawner_named = make(name="alice", server="gpu")
    assert spawner.pod_name == "jupyter-alice"
    assert spawner.pvc_name == "claim-alice"
    assert spawner_named.pod_name == "jupyter-alice--gpu"
    assert spawner_named.dns_name == "jupyter-alice--gpu.default.svc.cluster.local"
    assert spawner_named.secret_name == "jupyter-alice--gpu"


def test_escape_scheme_names():
    c = Config()
    c.KubeSpawner.slug_scheme = "escape"
    c.KubeSpawner.pod_name_template = "jupyter-{username}--{servername}"
    spawner = make(c, name="Al.ice", server="x")
    # KubeSpawner 6 / 7's escape scheme: {servername} has no "-" of its own
    assert spawner.pod_name == "jupyter--41l-2eice--x"
    assert make(c, name="Al.ice").pod_name == "jupyter--41l-2eice"


def test_bad_slug_scheme_is_rejected():
    c = Config()
    c.KubeSpawner.slug_scheme = "fancy"
    with pytest.raises(Exception, match="safe"):
        make(c)


def test_hub_connect_ip_sets_the_hubs_connect_ip(caplog):
    """As upstream: the deprecated traits set hub.connect_ip/connect_port,
    which the API URL given to the server is made from."""
    c = Config()
    c.KubeSpawner.hub_connect_ip = "hub.example"
    c.KubeSpawner.hub_connect_port = 8081
    with caplog.at_level(logging.WARNING), pytest.warns(DeprecationWarning):
        spawner = make(c)
    assert (spawner.hub.connect_ip, spawner.hub.connect_port) == ("hub.example", 8081)
    env = spawner.get_env()
    assert env["JUPYTERHUB_API_URL"].startswith("http://hub.example:8081/")
    assert env["JUPYTERHUB_ACTIVITY_URL"].startswith("http://hub.example:8081/")
    assert "JupyterHub.hub_connect_ip" in caplog.text


def test_hub_connect_url_wins_over_the_deprecated_ip():
    c = Config()
    c.KubeSpawner.hub_connect_ip = "hub.example"
    c.KubeSpawner.hub_connect_url = "http://hub-direct:9000"
    with pytest.warns(DeprecationWarning):
        spawner = make(c)
    assert spawner.get_env()["JUPYTERHUB_API_URL"].startswith("http://hub-direct:9000/")


def test_threadpool_workers_accepted_but_ignored(caplog):
    c = Config()
    c.KubeSpawner.k8s_api_threadpool_workers = 4
    with caplog.at_level(logging.WARNING):
        make(c)
    assert "k8s_api_threadpool_workers is ignored" in caplog.text


def test_environment_templates_expand_and_json_survives():
    c = Config()
    c.KubeSpawner.environment = {
        "HOME_DIR": "/home/{username}",
        "JSON": '{"a": 1}',
        "SHELLISH": "${HOME}/x",
        "CALLED": lambda spawner: spawner.user.name.upper(),
    }
    env = make(c).get_env()
    assert env["HOME_DIR"] == "/home/alice"
    assert env["JSON"] == '{"a": 1}'
    assert env["SHELLISH"] == "${HOME}/x"
    assert env["CALLED"] == "ALICE"


names = st.text(min_size=1, max_size=80)


@settings(max_examples=60, deadline=None)
@given(user=names, server=st.one_of(st.just(""), names), scheme=st.sampled_from(["safe", "escape"]))
def test_labels_are_valid_for_any_name_under_both_schemes(user, server, scheme):
    c = Config()
    c.KubeSpawner.slug_scheme = scheme
    spawner = make(c, server=server, name=user)
    labels = spawner._build_labels(spawner.extra_labels)
    for key, value in labels.items():
        assert slugs.is_valid_label_value(value), (key, value)
    if scheme == "safe":
        for name in (spawner.pod_name, spawner.pvc_name, spawner.secret_name):
            assert slugs.is_valid_dns_1035_label(name), name


def user_namespace(user, hub_namespace="jhub"):
    c = Config()
    c.KubeSpawner.namespace = hub_namespace
    c.KubeSpawner.enable_user_namespaces = True
    return make(c, name=user).namespace


hub_namespaces = st.sampled_from(["jhub", "default", "a" * 40, "x" * 63])
# any Unicode, plus near-misses of one another (case, symbols, length)
usernames = st.one_of(
    st.text(min_size=1, max_size=300),
    st.text(alphabet="abcAB-_.@0123456789", min_size=1, max_size=80),
)


@settings(max_examples=100, deadline=None)
@given(user=usernames, hub_namespace=hub_namespaces)
def test_user_namespaces_are_valid_dns_1123_labels(user, hub_namespace):
    namespace = user_namespace(user, hub_namespace)
    assert slugs.is_valid_dns_label(namespace) and len(namespace) <= 63, namespace


@settings(max_examples=100, deadline=None)
@given(a=usernames, b=usernames, hub_namespace=hub_namespaces)
def test_distinct_users_never_share_a_namespace(a, b, hub_namespace):
    if a != b:
        assert user_namespace(a, hub_namespace) != user_namespace(b, hub_namespace)


def test_user_namespace_collisions_of_plain_slugging_are_avoided():
    # names that lowercase/strip to the same text still get their own namespace
    spaces = {user_namespace(u) for u in ["Alice", "alice", "ALICE", "alice!", "al.ice", "al-ice"]}
    assert len(spaces) == 6


# Current trait names the spawner's issue lists (beyond the old reference).
CURRENT_TRAITS = """
image image_pull_policy image_pull_secrets cmd args port ip working_dir environment
env_keep uid gid fs_gid supplemental_gids privileged allow_privilege_escalation
container_security_context pod_security_context lifecycle_hooks init_containers
extra_containers extra_container_config extra_pod_config service_account
automount_service_account_token node_selector tolerations node_affinity_required
node_affinity_preferred pod_affinity_required pod_affinity_preferred
pod_anti_affinity_required pod_anti_affinity_preferred priority_class_name
scheduler_name extra_labels extra_annotations common_labels component_label cpu_limit
cpu_guarantee mem_limit mem_guarantee extra_resource_limits extra_resource_guarantees
delete_stopped_pods modify_pod_hook after_pod_created_hook pre_spawn_hook volumes
volume_mounts storage_pvc_ensure pvc_name_template storage_class storage_capacity
storage_access_modes storage_selector storage_extra_labels storage_extra_annotations
delete_pvc remember_pvc_name pod_name_template dns_name_template secret_name_template
namespace enable_user_namespaces user_namespace_template user_namespace_labels
user_namespace_annotations slug_scheme services_enabled pod_connect_ip get_pod_url
k8s_api_host k8s_api_ssl_ca_cert k8s_api_verify_ssl k8s_api_request_timeout
k8s_api_request_retry_timeout profile_list profile_form_template
additional_profile_form_template_paths events_enabled slow_spawn_message
slow_spawn_threshold slow_spawn_message_frequency delete_grace_period
""".split()


@pytest.mark.parametrize("name", CURRENT_TRAITS)
def test_current_traits_are_configurable(name):
    trait = ConfigOnlyKubeSpawner.class_traits(config=True).get(name)
    assert trait is not None and (trait.help or "").strip()
