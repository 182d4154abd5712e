"""Each trait's effect on the manifests, through the real mixin and the pure
builders; every manifest is checked against the Kubernetes OpenAPI schema."""

import base64

import kubernetes_validate
import pytest
from kubernetes_asyncio import client as k8s_client
from kubernetes_asyncio.client import V1EnvVar, V1Pod

from kubespawner import builders
from testsupport.spawners import config_only_spawner

K8S_VERSION = "1.30.0"


def make(server="", user="alice", **traits):
    return config_only_spawner(server=server, user=user, **traits)


def valid(manifest):
    kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)
    return manifest


async def pod_of(**traits):
    return valid(await make(**traits).build_pod_manifest())


def container(pod):
    return pod["spec"]["containers"][0]


def env_of(pod):
    return {e["name"]: e for e in container(pod)["env"]}


async def test_default_pod():
    pod = await pod_of()
    c = container(pod)
    assert pod["metadata"]["name"] == "jupyter-alice"
    assert c["image"] == "quay.io/jupyterhub/singleuser:latest"
    assert c["ports"] == [{"name": "notebook-port", "containerPort": 8888}]
    assert "args" not in c and "command" not in c  # the image's CMD
    assert c["securityContext"] == {"allowPrivilegeEscalation": False}
    assert pod["spec"]["automountServiceAccountToken"] is False
    assert pod["metadata"]["labels"]["component"] == "singleuser-server"
    assert pod["metadata"]["labels"]["app"] == "jupyterhub"
    assert pod["metadata"]["labels"]["hub.jupyter.org/username"] == "alice"
    assert pod["metadata"]["annotations"]["hub.jupyter.org/username"] == "alice"


async def test_cmd_and_args_go_to_container_args():
    pod = await pod_of(cmd=["jupyterhub-singleuser"], args=["--debug"])
    assert container(pod)["args"] == ["jupyterhub-singleuser", "--debug"]


async def test_image_pull_policy_and_secrets_list_or_str():
    pod = await pod_of(
        image="r.example/nb:1", image_pull_policy="Always", image_pull_secrets="cred"
    )
    assert container(pod)["image"] == "r.example/nb:1"
    assert container(pod)["imagePullPolicy"] == "Always"
    assert pod["spec"]["imagePullSecrets"] == [{"name": "cred"}]
    pod = await pod_of(image_pull_secrets=["a", {"name": "b"}])
    assert pod["spec"]["imagePullSecrets"] == [{"name": "a"}, {"name": "b"}]


async def test_working_dir_and_port():
    pod = await pod_of(working_dir="/home/{username}", port=9000)
    assert container(pod)["workingDir"] == "/home/alice"
    assert container(pod)["ports"][0]["containerPort"] == 9000


async def test_resources_with_suffixes_and_extra_resources():
    pod = await pod_of(
        cpu_limit=2.0,
        cpu_guarantee=0.5,
        mem_limit="2G",
        mem_guarantee="512M",
        extra_resource_limits={"nvidia.com/gpu": "1"},
        extra_resource_guarantees={"nvidia.com/gpu": "1"},
    )
    assert container(pod)["resources"] == {
        "limits": {"cpu": "2", "memory": str(2 * 1024**3), "nvidia.com/gpu": "1"},
        "requests": {"cpu": "0.5", "memory": str(512 * 1024**2), "nvidia.com/gpu": "1"},
    }


async def test_security_contexts_from_ints_and_async_callables():
    async def uid(spawner):
        return 1000 + spawner.user.id

    pod = await pod_of(
        uid=uid,
        gid=lambda spawner: 100,
        fs_gid=100,
        supplemental_gids=lambda spawner: [200, 300],
        privileged=True,
        allow_privilege_escalation=True,
        container_security_context={"read_only_root_filesystem": True},
        pod_security_context={"runAsNonRoot": True},
    )
    assert container(pod)["securityContext"] == {
        "runAsUser": 1007,
        "runAsGroup": 100,
        "privileged": True,
        "allowPrivilegeEscalation": True,
        "readOnlyRootFilesystem": True,
    }
    assert pod["spec"]["securityContext"] == {
        "fsGroup": 100,
        "supplementalGroups": [200, 300],
        "fsGroupChangePolicy": "OnRootMismatch",
        "runAsNonRoot": True,
    }


async def test_service_account_mounts_token_only_when_set():
    pod = await pod_of(service_account="nb-sa")
    assert pod["spec"]["serviceAccountName"] == "nb-sa"
    assert pod["spec"]["automountServiceAccountToken"] is True
    pod = await pod_of(service_account="nb-sa", automount_service_account_token=False)
    assert pod["spec"]["automountServiceAccountToken"] is False
    pod = await pod_of(automount_service_account_token=True)
    assert pod["spec"]["automountServiceAccountToken"] is True


async def test_scheduling_traits():
    term = {"matchExpressions": [{"key": "gpu", "operator": "In", "values": ["yes"]}]}
    pod_term = {
        "labelSelector": {"matchLabels": {"a": "b"}},
        "topologyKey": "kubernetes.io/hostname",
    }
    pod = await pod_of(
        node_selector={"disktype": "ssd"},
        tolerations=[{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
        node_affinity_required=[term],
        node_affinity_preferred=[{"weight": 1, "preference": term}],
        pod_affinity_required=[pod_term],
        pod_affinity_preferred=[{"weight": 5, "podAffinityTerm": pod_term}],
        pod_anti_affinity_required=[pod_term],
        pod_anti_affinity_preferred=[{"weight": 5, "pod_affinity_term": pod_term}],
        priority_class_name="user-pods",
        scheduler_name="user-scheduler",
    )
    spec = pod["spec"]
    assert spec["nodeSelector"] == {"disktype": "ssd"}
    assert spec["tolerations"][0]["effect"] == "NoSchedule"
    req = "requiredDuringSchedulingIgnoredDuringExecution"
    pref = "preferredDuringSchedulingIgnoredDuringExecution"
    assert spec["affinity"]["nodeAffinity"][req] == {"nodeSelectorTerms": [term]}
    assert spec["affinity"]["nodeAffinity"][pref][0]["weight"] == 1
    assert spec["affinity"]["podAffinity"][req] == [pod_term]
    assert spec["affinity"]["podAffinity"][pref][0]["podAffinityTerm"] == pod_term
    assert spec["affinity"]["podAntiAffinity"][req] == [pod_term]
    assert spec["affinity"]["podAntiAffinity"][pref][0]["podAffinityTerm"] == pod_term
    assert spec["priorityClassName"] == "user-pods"
    assert spec["schedulerName"] == "user-scheduler"


async def test_labels_annotations_templated_and_common():
    pod = await pod_of(
        extra_labels={"owner": "{username}", "id": "{userid}"},
        extra_annotations={"who": "{unescaped_username}"},
        common_labels={"app": "myhub"},
        component_label="nb",
        user="Bob.Smith",
    )
    labels = pod["metadata"]["labels"]
    assert labels["app"] == "myhub" and "heritage" not in labels
    assert labels["component"] == "nb"
    assert labels["owner"].startswith("bob-smith---")
    assert labels["id"] == "7"
    assert pod["metadata"]["annotations"]["who"] == "Bob.Smith"


async def test_volumes_and_mounts_list_or_dict_templated():
    pod = await pod_of(
        volumes={
            "b-home": {"name": "home", "persistentVolumeClaim": {"claimName": "{pvc_name}"}},
            "a-shared": {"nfs": {"server": "nfs", "path": "/{username}"}},
        },
        volume_mounts=[{"name": "home", "mountPath": "/home/{username}"}],
    )
    assert pod["spec"]["volumes"] == [
        {"nfs": {"server": "nfs", "path": "/alice"}, "name": "a-shared"},
        {"name": "home", "persistentVolumeClaim": {"claimName": "claim-alice"}},
    ]
    assert container(pod)["volumeMounts"] == [{"name": "home", "mountPath": "/home/alice"}]


async def test_env_strings_callables_value_from_and_reference_order():
    pod = await pod_of(
        environment={
            "GREETING": "hello $(NAME) in $(PLACE)",
            "NAME": "{username}",
            "PLACE": lambda spawner: "here",
            "TOKEN": {"valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
            "POD_IP": {"fieldRef": {"fieldPath": "status.podIP"}},
        }
    )
    env = env_of(pod)
    assert env["NAME"]["value"] == "alice"
    assert env["PLACE"]["value"] == "here"
    assert env["TOKEN"]["valueFrom"] == {"secretKeyRef": {"name": "s", "key": "k"}}
    assert env["POD_IP"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    names = [e["name"] for e in container(pod)["env"]]
    assert names.index("GREETING") > names.index("NAME")
    assert names.index("GREETING") > names.index("PLACE")
    assert "JUPYTERHUB_API_TOKEN" in env


def test_env_order_is_stable_and_tolerates_cycles():
    env = builders.make_env({"A": "$(B)", "B": "$(A)", "C": "x", "D": "$(C)$(MISSING)"})
    assert [e["name"] for e in env] == ["C", "D", "A", "B"]


async def test_lifecycle_init_and_extra_containers():
    pod = await pod_of(
        lifecycle_hooks={"postStart": {"exec": {"command": ["sh", "-c", "echo hi"]}}},
        init_containers=[{"name": "init", "image": "busybox", "command": ["echo", "{username}"]}],
        extra_containers=[{"name": "side", "image": "busybox", "image_pull_policy": "Never"}],
    )
    assert container(pod)["lifecycle"]["postStart"]["exec"]["command"][-1] == "echo hi"
    assert pod["spec"]["initContainers"][0]["command"] == ["echo", "alice"]
    assert pod["spec"]["containers"][1] == {
        "name": "side",
        "image": "busybox",
        "imagePullPolicy": "Never",
    }


async def test_extra_container_and_pod_config_snake_or_camel():
    pod = await pod_of(
        extra_container_config={"env_from": [{"config_map_ref": {"name": "cfg"}}]},
        extra_pod_config={"dns_policy": "ClusterFirstWithHostNet", "hostAliases": []},
    )
    assert container(pod)["envFrom"] == [{"configMapRef": {"name": "cfg"}}]
    assert pod["spec"]["dnsPolicy"] == "ClusterFirstWithHostNet"
    assert pod["spec"]["hostAliases"] == []


async def test_pod_namespace_and_hub_namespace_fields_expand_everywhere():
    pod = await pod_of(
        namespace="jhub",
        enable_user_namespaces=True,
        environment={"POD": "{pod_name}", "NS": "{namespace}", "HUB_NS": "{hubnamespace}"},
        extra_containers=[
            {
                "name": "sidecar",
                "image": "side:1",
                "args": ["--pod={pod_name}", "--namespace={namespace}"],
                "env": [{"name": "HUB_NS", "value": "{hubnamespace}"}],
            }
        ],
        volumes=[{"name": "home", "emptyDir": {}}],
        volume_mounts=[
            {
                "name": "home",
                "mountPath": "/srv/{pod_name}",
                "subPath": "{namespace}/{hubnamespace}",
            }
        ],
    )
    assert pod["metadata"]["namespace"] == "jhub-alice"
    env = env_of(pod)
    assert (env["POD"]["value"], env["NS"]["value"], env["HUB_NS"]["value"]) == (
        "jupyter-alice",
        "jhub-alice",
        "jhub",
    )
    sidecar = pod["spec"]["containers"][1]
    assert sidecar["args"] == ["--pod=jupyter-alice", "--namespace=jhub-alice"]
    assert sidecar["env"] == [{"name": "HUB_NS", "value": "jhub"}]
    (mount,) = [m for m in container(pod)["volumeMounts"] if m["name"] == "home"]
    assert mount == {
        "name": "home",
        "mountPath": "/srv/jupyter-alice",
        "subPath": "jhub-alice/jhub",
    }


async def test_modify_pod_hook_gets_a_v1pod_sync_or_async():
    # hooks as written for the original KubeSpawner: attribute access on a V1Pod
    def sync_hook(spawner, pod):
        assert isinstance(pod, V1Pod)
        pod.metadata.labels["hooked"] = spawner.user.name
        pod.spec.containers[0].env.append(V1EnvVar(name="HOOKED", value="1"))
        return pod

    async def async_hook(spawner, pod):
        pod.spec.hostname = "h"
        return pod

    pod = await pod_of(modify_pod_hook=sync_hook, extra_pod_config={"dnsPolicy": "None"})
    assert pod["metadata"]["labels"]["hooked"] == "alice"
    assert env_of(pod)["HOOKED"] == {"name": "HOOKED", "value": "1"}
    assert pod["spec"]["dnsPolicy"] == "None", "the rest of the manifest survives"
    assert (await pod_of(modify_pod_hook=async_hook))["spec"]["hostname"] == "h"


async def test_modify_pod_hook_may_return_a_manifest_dict():
    def dict_hook(spawner, pod):
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": pod.metadata.name, "labels": {"built": "by-hook"}},
            "spec": {"containers": [{"name": "notebook", "image": "other:1"}]},
        }

    pod = await pod_of(modify_pod_hook=dict_hook)
    assert pod["metadata"] == {"name": "jupyter-alice", "labels": {"built": "by-hook"}}
    assert container(pod)["image"] == "other:1"


@pytest.mark.parametrize("returned", [None, "pod", 3])
async def test_modify_pod_hook_must_return_the_pod(returned):
    def hook(spawner, pod):
        pod.metadata.labels["x"] = "y"
        return returned

    with pytest.raises(TypeError, match="modify_pod_hook returned .*return pod"):
        await make(modify_pod_hook=hook).build_pod_manifest()


async def test_modify_pod_hook_warns_of_fields_the_models_lack(caplog):
    spawner = make(
        modify_pod_hook=lambda spawner, pod: pod,
        extra_pod_config={"futureField": {"on": True}},
    )
    pod = await spawner.build_pod_manifest()
    assert "futureField" not in pod["spec"]
    assert "spec.futureField" in caplog.text and "modify_pod_hook" in caplog.text


async def test_internal_ssl_mounts_the_secret():
    spawner = make(server="gpu")
    spawner.internal_ssl = True
    pod = valid(await spawner.build_pod_manifest())
    vols = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert vols["jupyterhub-internal-certs"]["secret"]["secretName"] == "jupyter-alice--gpu"
    assert {"name": "jupyterhub-internal-certs", "mountPath": "/etc/jupyterhub/ssl/"} in container(
        pod
    )["volumeMounts"]


async def test_secret_and_service_owned_by_pod(tmp_path):
    spawner = make()
    files = {}
    for key in ("keyfile", "certfile", "cafile"):
        files[key] = tmp_path / key
        files[key].write_text(f"--{key}--")
    pod_paths = await spawner.move_certs({k: str(v) for k, v in files.items()})
    assert pod_paths["keyfile"] == "/etc/jupyterhub/ssl/ssl.key"
    owner = builders.make_owner_reference("jupyter-alice", "uid-1")
    secret = valid(spawner.build_secret_manifest(owner))
    assert secret["metadata"]["ownerReferences"] == [owner]
    assert base64.b64decode(secret["data"]["ssl.crt"]) == b"--certfile--"
    assert base64.b64decode(secret["data"]["notebooks-ca_trust.crt"]) == b"--cafile--"
    service = valid(spawner.build_service_manifest(owner))
    assert service["metadata"]["name"] == "jupyter-alice"
    assert service["metadata"]["ownerReferences"] == [owner]
    # as upstream: the pod's labels (common and extra labels too)
    pod = await spawner.build_pod_manifest()
    assert service["spec"]["selector"] == pod["metadata"]["labels"]
    assert service["spec"]["selector"]["hub.jupyter.org/username"] == "alice"
    assert service["spec"]["ports"][0]["port"] == 8888


def test_pvc_from_storage_traits():
    spawner = make(
        storage_class="fast",
        storage_capacity="10Gi",
        storage_access_modes=["ReadWriteMany"],
        storage_selector={"matchLabels": {"tier": "x"}},
        storage_extra_labels={"owner": "{username}"},
        storage_extra_annotations={"note": "{unescaped_username}"},
    )
    pvc = valid(spawner.build_pvc_manifest())
    assert pvc["metadata"]["name"] == "claim-alice"
    assert pvc["spec"] == {
        "accessModes": ["ReadWriteMany"],
        "resources": {"requests": {"storage": "10Gi"}},
        "storageClassName": "fast",
        "selector": {"matchLabels": {"tier": "x"}},
    }
    assert pvc["metadata"]["labels"]["owner"] == "alice"
    assert pvc["metadata"]["labels"]["component"] == "singleuser-storage"
    assert pvc["metadata"]["annotations"]["note"] == "alice"


def test_pvc_without_class_uses_cluster_default():
    pvc = valid(make(storage_capacity="1Gi").build_pvc_manifest())
    assert "storageClassName" not in pvc["spec"]


def test_namespace_manifest():
    spawner = make(
        namespace="hub",
        enable_user_namespaces=True,
        user_namespace_labels={"user": "{username}"},
        user_namespace_annotations={"who": "{unescaped_username}"},
    )
    ns = valid(spawner.get_namespace_manifest())
    assert ns["metadata"]["name"] == "hub-alice"
    assert ns["metadata"]["labels"]["user"] == "alice"
    assert ns["metadata"]["annotations"]["who"] == "alice"


def test_make_pod_keeps_documented_parameter_names():
    pod = valid(
        builders.make_pod(
            "p",
            ["jupyterhub-singleuser"],
            8888,
            "img:1",
            "IfNotPresent",
            image_pull_secret="cred",
            run_as_uid=1000,
            fs_gid=100,
            run_privileged=False,
            env={"A": "1"},
        )
    )
    assert pod["spec"]["imagePullSecrets"] == [{"name": "cred"}]
    assert pod["spec"]["securityContext"] == {"fsGroup": 100}
    pvc = valid(builders.make_pvc("c", "standard", ["ReadWriteOnce"], "1Gi", {"a": "b"}))
    assert pvc["spec"]["resources"]["requests"]["storage"] == "1Gi"


def test_make_pod_requires_an_image():
    with pytest.raises(ValueError, match="image"):
        builders.make_pod("p")


def test_bad_volume_type_names_the_trait():
    with pytest.raises(TypeError, match="volumes"):
        builders.make_pod("p", image="i", volumes="nope")


def test_unknown_template_field_in_names_is_reported():
    with pytest.raises(KeyError, match="usrname"):
        make(pod_name_template="jupyter-{usrname}")


def test_pvc_without_a_size_is_built_as_upstream():
    pvc = builders.make_pvc("c", storage=None)
    assert "resources" not in pvc["spec"]
    assert make(storage_pvc_ensure=True).get_pvc_manifest().spec.resources is None


def test_none_label_values_are_dropped():
    pod = builders.make_pod("p", image="i", labels={"a": "1", "b": None})
    assert pod["metadata"]["labels"] == {"a": "1"}


async def test_claim_name_templates_expand_as_upstream():
    # {pvc_name} always matches; a z2jh 3 spelling gives what upstream gives
    spawner = make(
        server="gpu",
        volumes=[
            {"name": "home", "persistentVolumeClaim": {"claimName": "{pvc_name}"}},
            {"name": "old", "persistentVolumeClaim": {"claimName": "claim-{username}{servername}"}},
        ],
    )
    pod = valid(await spawner.build_pod_manifest())
    claims = [v["persistentVolumeClaim"]["claimName"] for v in pod["spec"]["volumes"]]
    assert claims == [spawner.pvc_name, "claim-alicegpu"]
    assert spawner.pvc_name == "claim-alice--gpu"


async def test_upstream_pod_details():
    # issue 18 items 3-7: models and dict forms in list traits, the
    # app.kubernetes.io/component label, no pull policy, JUPYTER_IMAGE
    spawner = make(
        init_containers=[k8s_client.V1Container(name="init", image="busybox")],
        extra_containers={"b": {"name": "b", "image": "x"}, "a": {"name": "a", "image": "x"}},
        tolerations={"gpu": {"key": "gpu", "operator": "Exists"}},
    )
    pod = valid(await spawner.build_pod_manifest())
    spec = pod["spec"]
    assert spec["initContainers"] == [{"name": "init", "image": "busybox"}]
    assert [c["name"] for c in spec["containers"]] == ["notebook", "a", "b"]
    assert spec["tolerations"] == [{"key": "gpu", "operator": "Exists"}]
    assert pod["metadata"]["labels"]["app.kubernetes.io/component"] == "singleuser-server"
    notebook = spec["containers"][0]
    assert "imagePullPolicy" not in notebook
    env = {e["name"]: e.get("value") for e in notebook["env"]}
    assert env["JUPYTER_IMAGE"] == env["JUPYTER_IMAGE_SPEC"] == spawner.image


def test_storage_selector_templates_are_expanded():
    spawner = make(
        storage_pvc_ensure=True, storage_selector={"matchLabels": {"user": "{username}"}}
    )
    assert spawner.build_pvc_manifest()["spec"]["selector"] == {"matchLabels": {"user": "alice"}}


def test_other_containers_inherit_the_notebooks_security_context_when_asked():
    def pod(inherit):
        return valid(
            builders.make_pod(
                "p",
                image="img:1",
                run_as_uid=1000,
                run_privileged=True,
                container_security_context={
                    "runAsNonRoot": True,
                    "capabilities": {"drop": ["ALL"]},
                },
                init_containers=[
                    {"name": "i", "image": "b:1", "security_context": {"run_as_user": 5}}
                ],
                extra_containers=[
                    {"name": "s", "image": "b:1", "securityContext": {"runAsNonRoot": None}}
                ],
                containers_inherit_security_context=inherit,
            )
        )["spec"]

    spec = pod(True)
    inherited = {"runAsUser": 1000, "allowPrivilegeEscalation": False, "runAsNonRoot": True,
                 "capabilities": {"drop": ["ALL"]}}  # fmt: skip
    # the container's own fields win; an explicit null is unset; privileged stays the notebook's
    assert spec["initContainers"][0]["securityContext"] == {**inherited, "runAsUser": 5}
    assert spec["containers"][1]["securityContext"] == inherited
    assert spec["containers"][0]["securityContext"]["privileged"] is True
    # off (the default, as the original KubeSpawner): containers as given
    spec = pod(False)
    assert spec["initContainers"][0]["securityContext"] == {"runAsUser": 5}
    assert spec["containers"][1]["securityContext"] == {"runAsNonRoot": None}
