"""podSecurity.level against kubesim's Pod Security admission: a namespace
labelled pod-security.kubernetes.io/enforce=restricted, the chart installed
into it with helm (dev-config.yaml, podSecurity.level: restricted), every
pod the chart's workloads and hooks make admitted, and the user pod of every
profile of dev-config.yaml, made by our spawner from the hub config the
chart renders, admitted too. With the iptables blocker on, `helm upgrade`
stops, saying what to set, and the API server's refusal of such a user pod
names the init container and what it must not do.
"""

import asyncio
import os

import pytest
import yaml

from kubesim.testing import raw_request
from testsupport.spawners import real_spawner

from .hubenv import CHART, REPO, hub_pod, load_hub_config, materialise, render

HELM = REPO / ".bin" / "helm"
NAMESPACE = "jhub"
RESTRICTED = {"podSecurity": {"level": "restricted"}}
BLOCKER = {"singleuser": {"cloudMetadata": {"blockWithIptables": True}}}
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


async def enforcing(sim, level="restricted"):
    """A namespace that enforces `level` (a privileged pod is refused there)."""
    labels = {"pod-security.kubernetes.io/enforce": level}
    status, body = await raw_request(
        sim, "POST", "/api/v1/namespaces", {"metadata": {"name": NAMESPACE, "labels": labels}}
    )
    assert status == 201, body
    probe = {"metadata": {"name": "probe"}, "spec": {"containers": [
        {"name": "c", "image": "busybox", "securityContext": {"privileged": True}}]}}  # fmt: skip
    status, body = await raw_request(sim, "POST", f"/api/v1/namespaces/{NAMESPACE}/pods", probe)
    assert status == 403, body


async def helm_install(sim, values_files, tmp_path):
    env = {**os.environ, "KUBECONFIG": str(sim.kubeconfig_path), "HOME": str(tmp_path)}
    args = ["upgrade", "--install", "jhub", str(CHART), "--namespace", NAMESPACE]
    args += ["--set", "prePuller.hook.enabled=false"]  # its pods are admitted below
    for path in values_files:
        args += ["-f", str(path)]
    process = await asyncio.create_subprocess_exec(
        str(HELM), *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 180)
    return process.returncode, err.decode()


async def create_pod(sim, name, spec, labels=None):
    pod = {"metadata": {"name": name, "labels": labels or {}}, "spec": spec}
    return await raw_request(sim, "POST", f"/api/v1/namespaces/{NAMESPACE}/pods", pod)


def values_file(tmp_path, values):
    path = tmp_path / f"values-{len(list(tmp_path.glob('values-*')))}.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


@pytest.mark.slow
async def test_restricted_namespace_admits_every_chart_and_user_pod(kubesim_factory, tmp_path):
    sim = await kubesim_factory(nodes=1)
    await enforcing(sim)
    files = [REPO / "dev-config.yaml", values_file(tmp_path, RESTRICTED)]
    code, err = await helm_install(sim, files, tmp_path)
    assert code == 0, err

    # every pod template of the chart, hooks and placeholders included, as its own pod
    every = ["prePuller.hook.enabled=true", "scheduling.userPlaceholder.enabled=true"]
    templates = [d for d in render(files, every, "jhub", NAMESPACE) if d["kind"] in WORKLOADS]
    assert {d["metadata"]["name"] for d in templates} >= {
        "hub", "proxy", "user-scheduler", "user-placeholder", "continuous-image-puller",
        "hook-image-puller", "hook-image-awaiter"}  # fmt: skip
    for d in templates:
        account = d["spec"]["template"]["spec"].get("serviceAccountName")
        if account and sim.get("serviceaccounts", account, NAMESPACE) is None:
            # the hook's own ServiceAccount (helm ran with the hook off): a pod
            # naming a missing account is refused by ServiceAccount admission
            path = f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts"
            status, body = await raw_request(sim, "POST", path, {"metadata": {"name": account}})
            assert status == 201, body
        status, body = await create_pod(
            sim, f"check-{d['metadata']['name']}", d["spec"]["template"]["spec"]
        )
        assert status == 201, (d["kind"], d["metadata"]["name"], body)

    # users' pods of every profile, as our spawner makes them
    manifests = render(files, release="jhub", namespace=NAMESPACE)
    pod = hub_pod(manifests, namespace=NAMESPACE)
    config = load_hub_config(materialise(pod, tmp_path / "root"), pod.env)
    profiles = yaml.safe_load((REPO / "dev-config.yaml").read_text())["singleuser"]["profileList"]
    assert len(profiles) >= 2
    for i, profile in enumerate(await real_spawner(config).get_profile_list()):
        spawner = real_spawner(config)
        spawner.user_options = {"profile": profile["slug"]}
        await spawner.load_user_options()
        manifest = await spawner.build_pod_manifest()
        assert "initContainers" not in manifest["spec"]  # no metadata blocker
        status, body = await create_pod(
            sim, f"user-{i}", manifest["spec"], manifest["metadata"]["labels"]
        )
        assert status == 201, (profile["slug"], body)


@pytest.mark.slow
async def test_the_iptables_blocker_is_refused_naming_what_to_change(kubesim_factory, tmp_path):
    sim = await kubesim_factory(nodes=1)
    await enforcing(sim)
    # (dev-config.yaml turns it off: kubesim's process runtime cannot run it)
    files = [REPO / "dev-config.yaml", values_file(tmp_path, BLOCKER)]
    # helm reads the namespace's label and says which level to choose
    code, err = await helm_install(sim, files, tmp_path)
    assert code != 0
    assert (
        "namespace jhub enforces Pod Security level restricted (label "
        "pod-security.kubernetes.io/enforce), but podSecurity.level is privileged" in err
    )
    assert "singleuser.cloudMetadata.blockWithIptables" in err
    assert "Set podSecurity.level: restricted" in err
    # a user pod made with the blocker anyway: the API server names the container
    manifests = render(files, release="jhub", namespace=NAMESPACE)
    pod = hub_pod(manifests, namespace=NAMESPACE)
    config = load_hub_config(materialise(pod, tmp_path / "root"), pod.env)
    manifest = await real_spawner(config).build_pod_manifest()
    status, body = await create_pod(sim, "user-blocked", manifest["spec"])
    assert status == 403
    message = body["message"]
    assert 'violates PodSecurity "restricted:latest"' in message
    assert 'container "block-cloud-metadata"' in message and "NET_ADMIN" in message


SIDECARS = {
    "singleuser": {
        "initContainers": [{"name": "prepare", "image": "busybox:1", "command": ["true"]}],
        "extraContainers": [{"name": "sidecar", "image": "busybox:1", "command": ["sleep", "inf"],
                             "securityContext": {"readOnlyRootFilesystem": True}}],
        "profileList": [
            {"display_name": "Default", "slug": "default", "default": True},
            {"display_name": "Own", "slug": "own", "kubespawner_override": {
                "init_containers": [{"name": "fetch", "image": "busybox:1"}],
                "extra_containers": [{"name": "cron", "image": "busybox:1",
                                      "securityContext": {"runAsUser": 2000}}]}},
        ],
    },
}  # fmt: skip


async def user_pod_specs(files, tmp_path, extra_sets=()):
    manifests = render(files, extra_sets, release="jhub", namespace=NAMESPACE)
    pod = hub_pod(manifests, namespace=NAMESPACE)
    config = load_hub_config(materialise(pod, tmp_path / f"root-{len(extra_sets)}"), pod.env)
    specs = {}
    for profile in await real_spawner(config).get_profile_list():
        spawner = real_spawner(config)
        spawner.user_options = {"profile": profile["slug"]}
        await spawner.load_user_options()
        specs[profile["slug"]] = (await spawner.build_pod_manifest())["spec"]
    return specs


@pytest.mark.slow
async def test_users_init_containers_and_sidecars_are_admitted(kubesim_factory, tmp_path):
    sim = await kubesim_factory(nodes=1)
    await enforcing(sim)
    files = [
        REPO / "dev-config.yaml",
        values_file(tmp_path, RESTRICTED),
        values_file(tmp_path, SIDECARS),
    ]
    specs = await user_pod_specs(files, tmp_path)
    assert [c["name"] for c in specs["own"]["initContainers"]] == ["fetch"]
    for slug, spec in specs.items():
        status, body = await create_pod(sim, f"user-{slug}", spec)
        assert status == 201, (slug, body)
    # without the notebook's defaults the same containers are refused, named
    off = ("hub.config.KubeSpawner.containers_inherit_security_context=false",)
    spec = (await user_pod_specs(files, tmp_path, off))["own"]
    status, body = await create_pod(sim, "user-bare", spec)
    assert status == 403
    assert 'violates PodSecurity "restricted:latest"' in body["message"]
    assert 'containers "fetch", "cron"' in body["message"], body["message"]
