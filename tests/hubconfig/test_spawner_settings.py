"""singleuser.* and scheduling.* values -> KubeSpawner traits in the loaded config."""

import logging

import pytest
import yaml

from .hubenv import REPO, raises_config_error

CHART_VALUES = REPO / "tests" / "chart" / "values"
NODE_PURPOSE_USER = {
    "matchExpressions": [
        {"key": "hub.jupyter.org/node-purpose", "operator": "In", "values": ["user"]}
    ]
}


@pytest.fixture(scope="module")
def spawner(hub_setup):
    return hub_setup("singleuser.yaml").config.KubeSpawner


@pytest.fixture(scope="module")
def default_spawner(hub_setup):
    return hub_setup().config.KubeSpawner


def test_spawner_class_and_namespace(hub_setup):
    config = hub_setup().config
    assert config.JupyterHub.spawner_class == "kubespawner.KubeSpawner"
    assert config.KubeSpawner.namespace == hub_setup().pod.env["POD_NAMESPACE"]


def test_user_pods_carry_the_labels_the_chart_selects(default_spawner, hub_setup):
    release = hub_setup().pod.values["Release"]["Name"]
    labels = default_spawner.common_labels
    assert labels["app.kubernetes.io/name"] == "jupyterhub"
    assert labels["app.kubernetes.io/instance"] == release
    assert default_spawner.extra_labels == {
        "app.kubernetes.io/component": "singleuser-server",
        "hub.jupyter.org/network-access-hub": "true",
    }


def test_defaults(default_spawner, hub_setup):
    assert default_spawner.image.endswith(
        "singleuser-sample:" + default_spawner.image.split(":")[-1]
    )
    assert default_spawner.mem_guarantee == "1G"
    assert default_spawner.start_timeout == 300
    assert default_spawner.uid == 1000
    assert default_spawner.fs_gid == 100
    assert default_spawner.allow_privilege_escalation is False
    assert default_spawner.storage_pvc_ensure is True
    assert default_spawner.storage_capacity == "10Gi"
    assert default_spawner.storage_access_modes == ["ReadWriteOnce"]
    assert default_spawner.volumes == [
        {"name": "volume-{user_server}", "persistentVolumeClaim": {"claimName": "{pvc_name}"}}
    ]
    assert default_spawner.volume_mounts == [
        {"name": "volume-{user_server}", "mountPath": "/home/jovyan"}
    ]
    assert default_spawner.node_affinity_preferred == [
        {"weight": 100, "preference": NODE_PURPOSE_USER}
    ]
    assert {t["value"] for t in default_spawner.tolerations} == {"user"}
    assert "image_pull_secrets" not in default_spawner
    # z2jh's default, on Spawner as there: images whose CMD is another program
    assert "cmd" not in default_spawner
    assert hub_setup().config.Spawner.cmd == "jupyterhub-singleuser"


def test_image_and_pull_secrets(spawner):
    assert spawner.image == "registry.example.org/team/notebook:2024.1"
    assert spawner.image_pull_policy == "Always"
    # the chart's own Secret first, then the global list, then the image's
    assert spawner.image_pull_secrets == [
        "image-pull-secret",
        "global-pull",
        "notebook-pull",
        "other-pull",
        "tools-pull",  # for the network-tools init container
    ]


def test_empty_pull_policy_means_unset(hub_setup):
    # z2jh's schema allows pullPolicy ""; Kubernetes then chooses.
    values = {"singleuser": {"image": {"pullPolicy": ""}}}
    assert "image_pull_policy" not in hub_setup().load(existing_values=values).KubeSpawner


def test_pull_secret_without_automatic_reference_injection(hub_setup):
    values = {"imagePullSecret": {"automaticReferenceInjection": False}}
    spawner = hub_setup("singleuser.yaml").load(existing_values=values).KubeSpawner
    # the chart's own Secret exists (create: true) but is not referenced
    assert spawner.image_pull_secrets == [
        "global-pull",
        "notebook-pull",
        "other-pull",
        "tools-pull",
    ]


def test_process_and_security(spawner, hub_setup):
    on_spawner = hub_setup("singleuser.yaml").config.Spawner
    assert on_spawner.cmd == ["jupyterhub-singleuser", "--debug"]
    assert on_spawner.default_url == "/lab"
    assert spawner.start_timeout == 600
    assert spawner.uid == 1001
    assert spawner.fs_gid == 101
    assert spawner.allow_privilege_escalation is True
    assert spawner.service_account == "notebook-sa"
    assert spawner.pod_name_template == "nb-{username}--{servername}"
    assert spawner.events_enabled is False


def test_resources(spawner):
    assert (spawner.cpu_limit, spawner.cpu_guarantee) == (2, 0.5)
    assert (spawner.mem_limit, spawner.mem_guarantee) == ("4G", "2G")
    assert spawner.extra_resource_limits == {"nvidia.com/gpu": "1"}
    assert spawner.extra_resource_guarantees == {"nvidia.com/gpu": "1"}


def test_environment_labels_annotations(spawner, hub_setup):
    assert hub_setup("singleuser.yaml").config.Spawner.environment == {
        "EDITOR": "vim",
        "POD_IP": {"valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
    }
    assert spawner.extra_labels["team"] == "data"
    assert spawner.extra_labels["app.kubernetes.io/component"] == "singleuser-server"
    assert spawner.extra_annotations == {
        "iam.amazonaws.com/role": "arn:aws:iam::0123456789:role/{username}-role"
    }


def test_extra_env_as_a_list(hub_setup):
    env = hub_setup("storage-none.yaml").config.Spawner.environment
    assert env == {
        "GREETING": "hello",
        "NODE": {"valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
    }


def test_scheduling(spawner, hub_setup):
    names = hub_setup("singleuser.yaml").pod.config["resource-names.yaml"]
    assert spawner.node_selector == {"disktype": "ssd"}
    # scheduling.userPods tolerations, then singleuser.extraTolerations
    assert spawner.tolerations[-1] == {"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}
    assert [t.get("value") for t in spawner.tolerations[:-1]] == ["user", "user"]
    assert spawner.node_affinity_required == [
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]},
        NODE_PURPOSE_USER,  # matchNodePurpose: require
    ]
    assert spawner.node_affinity_preferred == [
        {"weight": 10, "preference": {"matchExpressions": [{"key": "fast", "operator": "Exists"}]}}
    ]
    assert spawner.pod_affinity_required[0]["labelSelector"] == {"matchLabels": {"team": "data"}}
    assert spawner.pod_affinity_preferred[0]["weight"] == 5
    assert spawner.pod_anti_affinity_required[0]["labelSelector"] == {
        "matchLabels": {"noisy": "true"}
    }
    assert spawner.pod_anti_affinity_preferred[0]["weight"] == 1
    assert spawner.scheduler_name in names
    assert spawner.scheduler_name.endswith("user-scheduler")
    assert spawner.priority_class_name.endswith("-default-priority")
    assert spawner.priority_class_name in names


def test_scheduler_and_priority_off(hub_setup, default_spawner):
    static = hub_setup("storage-static.yaml").config.KubeSpawner
    assert "scheduler_name" not in static
    assert "priority_class_name" not in default_spawner  # podPriority off by default
    assert "node_affinity_preferred" not in static  # matchNodePurpose: ignore


def test_hooks_containers_pod_config(spawner):
    assert spawner.lifecycle_hooks["postStart"]["exec"]["command"][0] == "gitpuller"
    names = [c["name"] for c in spawner.init_containers]
    assert names == ["block-cloud-metadata", "init-home"]
    assert spawner.extra_containers == [
        {"name": "sidecar", "image": "busybox:1.36", "command": ["sleep", "infinity"]}
    ]
    assert spawner.extra_pod_config == {"restartPolicy": "Never", "dnsPolicy": "ClusterFirst"}


def test_cloud_metadata_blocker(spawner):
    blocker = spawner.init_containers[0]
    assert blocker["image"] == "registry.example.org/network-tools:3.0"
    assert blocker["imagePullPolicy"] == "IfNotPresent"
    assert blocker["resources"] == {"limits": {"memory": "64Mi"}}
    command = blocker["command"]
    assert command[:3] == ["iptables", "--append", "OUTPUT"]
    assert command[command.index("--destination") + 1] == "169.254.169.254"
    assert command[-2:] == ["--jump", "DROP"]
    security = blocker["securityContext"]
    assert security["capabilities"]["add"] == ["NET_ADMIN", "NET_RAW"]
    assert security["privileged"] is False


def test_cloud_metadata_not_blocked(hub_setup):
    static = hub_setup("storage-static.yaml").config.KubeSpawner
    assert "init_containers" not in static


def test_cloud_metadata_blocked_by_default(default_spawner):
    (blocker,) = default_spawner.init_containers
    assert blocker["name"] == "block-cloud-metadata"
    assert blocker["command"][0] == "iptables"
    assert "169.254.169.254" in blocker["command"]
    assert "resources" not in blocker  # singleuser.networkTools.resources: {}


@pytest.mark.parametrize(
    "values_file", ["seed/33-cloud-metadata-enabled.yaml", "legacy.yaml"], ids=str
)
def test_seed_cloud_metadata_enabled_files(hub_setup, values_file):
    """The seed's `cloudMetadata.enabled: true`: users may reach the server."""
    assert "init_containers" not in hub_setup(CHART_VALUES / values_file).config.KubeSpawner


@pytest.mark.parametrize("enabled", [True, False])
def test_seed_cloud_metadata_enabled_from_existing_secret(hub_setup, enabled, caplog):
    """Seed-era `enabled` is the opposite of `blockWithIptables`, and wins over it
    (the chart translates its own values; hub.existingSecret's the hub does)."""
    values = {"singleuser": {"cloudMetadata": {"enabled": enabled, "blockWithIptables": enabled}}}
    with caplog.at_level(logging.WARNING):
        spawner = hub_setup().load(existing_values=values).KubeSpawner
    if enabled:
        assert "init_containers" not in spawner
    else:
        assert [c["name"] for c in spawner.init_containers] == ["block-cloud-metadata"]
    assert (
        "singleuser.cloudMetadata.enabled is an old spelling; today: "
        f"singleuser.cloudMetadata.blockWithIptables: {'false' if enabled else 'true'}"
    ) in caplog.text


@pytest.mark.parametrize(
    "ip, tool",
    [("169.254.1.254", "iptables"), ("fd00:ec2::254", "ip6tables")],
)
def test_cloud_metadata_ip(hub_setup, ip, tool):
    values = {"singleuser": {"cloudMetadata": {"ip": ip}}}
    (blocker,) = hub_setup().load(existing_values=values).KubeSpawner.init_containers
    command = blocker["command"]
    assert command[0] == tool
    assert command[command.index("--destination") + 1] == ip


def test_cloud_metadata_ip_of_maximal(hub_setup):
    spawner = hub_setup(CHART_VALUES / "maximal.yaml").config.KubeSpawner
    blocker = next(c for c in spawner.init_containers if c["name"] == "block-cloud-metadata")
    assert blocker["command"][blocker["command"].index("--destination") + 1] == "169.254.1.254"


def test_seed_scheduler_strategy_files(hub_setup):
    """The chart turns the seed's schedulerStrategy into scheduling.userScheduler.enabled."""
    pack = hub_setup(CHART_VALUES / "seed/27-scheduler-pack.yaml")
    names = yaml.safe_load(pack.pod.config["resource-names.yaml"])
    assert pack.config.KubeSpawner.scheduler_name == names["user-scheduler"]
    spread = hub_setup(CHART_VALUES / "seed/26-scheduler-spread.yaml").config.KubeSpawner
    assert "scheduler_name" not in spread
    for spawner in (pack.config.KubeSpawner, spread):
        assert "pod_affinity_preferred" not in spawner


@pytest.mark.parametrize("strategy, today", [("pack", "true"), ("spread", "false")])
def test_seed_scheduler_strategy_from_existing_secret_is_refused(hub_setup, strategy, today):
    """Only the chart deploys the user-scheduler, so hub.existingSecret cannot
    ask for it: the hub refuses the seed's key naming today's (the chart's
    translation, from the same table), instead of a meaning of its own."""
    values = {"singleuser": {"schedulerStrategy": strategy}}
    with raises_config_error(
        rf"^Hub configuration error: singleuser\.schedulerStrategy \(in hub\.existingSecret\) "
        rf"is not read there: today it is scheduling\.userScheduler\.enabled: {today}, which "
        r"the chart acts on; set it in the chart's values$"
    ):
        hub_setup().load(existing_values=values)


def test_dynamic_storage(spawner):
    assert spawner.storage_pvc_ensure is True
    assert spawner.storage_class == "ssd"
    assert spawner.storage_capacity == "2Gi"
    assert spawner.storage_access_modes == ["ReadWriteMany"]
    assert spawner.storage_extra_labels == {"backup": "daily"}
    assert spawner.pvc_name_template == "home-{username}{servername}"
    assert spawner.volumes[0] == {
        "name": "home-{user_server}",
        "persistentVolumeClaim": {"claimName": "{pvc_name}"},
    }
    assert spawner.volume_mounts[0] == {
        "name": "home-{user_server}",
        "mountPath": "/home/user",
        "subPath": "home",
    }
    assert spawner.volumes[-1] == {
        "name": "shared",
        "persistentVolumeClaim": {"claimName": "shared-data"},
    }
    assert spawner.volume_mounts[-1] == {
        "name": "shared",
        "mountPath": "/home/user/shared",
        "readOnly": True,
    }


def test_static_storage_and_volume_mappings(hub_setup):
    static = hub_setup("storage-static.yaml").config.KubeSpawner
    assert "storage_pvc_ensure" not in static
    assert static.volumes == [
        {"name": "home", "persistentVolumeClaim": {"claimName": "home-nfs"}},
        # a mapping: sorted by key, the key is the default name
        {"name": "datasets", "persistentVolumeClaim": {"claimName": "datasets"}},
        {"name": "b-scratch", "emptyDir": {}},
    ]
    assert static.volume_mounts == [
        {"name": "home", "mountPath": "/home/jovyan", "subPath": "home/{username}"},
        {"name": "b-scratch", "mountPath": "/scratch"},
    ]


@pytest.mark.parametrize(
    "static",
    [
        {"pvcName": "home-nfs"},  # the chart's default subPath
        {"pvcName": "home-nfs", "subPath": None},  # unset: the hub's own default
    ],
    ids=["chart-default", "unset"],
)
def test_static_storage_default_sub_path(hub_setup, static):
    values = {"singleuser": {"storage": {"type": "static", "static": static}}}
    spawner = hub_setup().load(existing_values=values).KubeSpawner
    assert spawner.volumes == [{"name": "home", "persistentVolumeClaim": {"claimName": "home-nfs"}}]
    assert spawner.volume_mounts == [
        {"name": "home", "mountPath": "/home/jovyan", "subPath": "{username}"}
    ]


def test_no_storage(hub_setup):
    none = hub_setup("storage-none.yaml").config.KubeSpawner
    assert "storage_pvc_ensure" not in none
    assert "volumes" not in none
    assert "volume_mounts" not in none


def test_extra_files(spawner, hub_setup):
    secret_name = hub_setup("singleuser.yaml").pod.config["resource-names.yaml"]
    files = next(v for v in spawner.volumes if v["name"] == "files")
    assert files["secret"]["secretName"] == "singleuser"
    assert "singleuser" in secret_name
    assert files["secret"]["items"] == [
        {"key": "jupyter-config", "path": "jupyter-config", "mode": 0o444},
        {"key": "motd", "path": "motd"},
    ]
    mounts = [m for m in spawner.volume_mounts if m["name"] == "files"]
    assert mounts == [
        {
            "name": "files",
            "mountPath": "/etc/jupyter/jupyter_server_config.json",
            "subPath": "jupyter-config",
        },
        {"name": "files", "mountPath": "/etc/motd", "subPath": "motd"},
    ]


def test_profile_list(spawner):
    assert [p["display_name"] for p in spawner.profile_list] == ["Small", "GPU"]
    assert spawner.profile_list[1]["kubespawner_override"] == {
        "extra_resource_limits": {"nvidia.com/gpu": "1"}
    }


def effective_spawner_config(config) -> dict:
    """What a KubeSpawner instance reads from `config`: traitlets merges the
    sections of its classes from base to subclass (Configurable.section_names),
    so c.KubeSpawner.x beats c.Spawner.x."""
    from kubespawner import KubeSpawner

    merged = {}
    for section in KubeSpawner.section_names():
        if section in config:
            merged.update(config[section])
    return merged


def test_extra_config_meets_chart_values_on_z2jh_classes(hub_setup):
    """z2jh sets singleuser.cmd and defaultUrl on c.Spawner, the rest on
    c.KubeSpawner: a user's `c.Spawner.default_url` in hub.extraConfig wins,
    their `c.Spawner.mem_limit` loses to singleuser.memory.limit."""
    user_code = 'c.Spawner.default_url = "/tree"\nc.Spawner.cmd = ["my-server"]\n'
    user_code += 'c.Spawner.mem_limit = "9G"\n'
    values = {
        "singleuser": {"defaultUrl": "/lab", "memory": {"limit": "2G"}},
        "hub": {"extraConfig": {"users-own": user_code}},
    }
    effective = effective_spawner_config(hub_setup().load(existing_values=values))
    assert effective["default_url"] == "/tree"
    assert effective["cmd"] == ["my-server"]
    assert effective["mem_limit"] == "2G"
