"""Pod Security admission: each check on its own, then the plugin over HTTP.

Unit tests feed pod specs to `kubesim.api.podsecurity.evaluate`; HTTP tests label
namespaces and create pods and workloads with kubernetes_asyncio, raw
requests (to read the Warning headers) and kubectl (which prints them).
"""

import json

import aiohttp
import pytest
from kubernetes_asyncio.client.rest import ApiException

from kubesim.api import podsecurity as ps
from kubesim.testing import pod_body, raw_request

from .test_kubectl import kubectl


def c(name="c", **security):
    return {"name": name, "image": "busybox:1", "securityContext": security}


RESTRICTED_OK = {
    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [
        c(allowPrivilegeEscalation=False, capabilities={"drop": ["ALL"]}),
    ],
}


def detail(level, spec, meta=None):
    return ps.forbidden_detail(ps.evaluate(level, meta or {}, spec))


# ----- each check --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, expected",
    [
        (
            {"hostNetwork": True, "hostIPC": True, "containers": [c()]},
            "host namespaces (hostNetwork=true, hostIPC=true)",
        ),
        (
            {"containers": [c("a", privileged=True), c("b", privileged=True)]},
            'privileged (containers "a", "b" must not set securityContext.privileged=true)',
        ),
        (
            {"containers": [c(capabilities={"add": ["NET_ADMIN", "CHOWN", "SYS_TIME"]})]},
            'non-default capabilities (container "c" must not include "NET_ADMIN", "SYS_TIME" '
            "in securityContext.capabilities.add)",
        ),
        (
            {"volumes": [{"name": "h", "hostPath": {"path": "/"}}], "containers": [c()]},
            'hostPath volumes (volume "h")',
        ),
        (
            {
                "containers": [
                    {"name": "a", "image": "x", "ports": [{"containerPort": 1, "hostPort": 8080}]},
                    {"name": "b", "image": "x", "ports": [{"containerPort": 1, "hostPort": 80}]},
                ]
            },
            'hostPort (containers "a", "b" use hostPorts 80, 8080)',
        ),
        (
            {"containers": [c(appArmorProfile={"type": "Unconfined"})]},
            "forbidden AppArmor profile (Unconfined)",
        ),
        (
            {
                "securityContext": {"seLinuxOptions": {"type": "spc_t"}},
                "containers": [c(seLinuxOptions={"user": "root"})],
            },
            'seLinuxOptions (pod and container "c" set forbidden securityContext.seLinuxOptions: '
            'type "spc_t"; user may not be set)',
        ),
        (
            {"containers": [c(procMount="Unmasked")]},
            'procMount (container "c" must not set securityContext.procMount to "Unmasked")',
        ),
        (
            {"securityContext": {"seccompProfile": {"type": "Unconfined"}}, "containers": [c()]},
            'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")',
        ),
        (
            {
                "securityContext": {
                    "sysctls": [
                        {"name": "net.ipv4.tcp_syncookies", "value": "1"},
                        {"name": "kernel.msgmax", "value": "1"},
                    ]
                },
                "containers": [c()],
            },
            "forbidden sysctls (kernel.msgmax)",
        ),
        (
            {"containers": [c(windowsOptions={"hostProcess": True})]},
            'hostProcess (container "c" must not set securityContext.windowsOptions.hostProcess=true)',
        ),
    ],
)
def test_baseline_checks(spec, expected):
    assert detail("baseline", spec) == expected
    assert ps.evaluate("privileged", {}, spec) == []


def test_apparmor_annotation_is_checked_too():
    meta = {"annotations": {ps.APPARMOR_ANNOTATION + "c": "unconfined"}}
    assert detail("baseline", {"containers": [c()]}, meta) == (
        'forbidden AppArmor profile (container.apparmor.security.beta.kubernetes.io/c="unconfined")'
    )
    meta = {"annotations": {ps.APPARMOR_ANNOTATION + "c": "runtime/default"}}
    assert detail("baseline", {"containers": [c()]}, meta) == ""


def test_baseline_allows_what_it_should():
    spec = {
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [c(capabilities={"add": ["CHOWN", "NET_BIND_SERVICE"]}, procMount="Default")],
        "volumes": [{"name": "v", "emptyDir": {}}],
    }
    assert ps.evaluate("baseline", {}, spec) == []


def test_restricted_allows_a_hardened_pod():
    assert ps.evaluate("restricted", {}, RESTRICTED_OK) == []


def restricted(**changes):
    spec = json.loads(json.dumps(RESTRICTED_OK))
    for path, value in changes.items():
        node = spec
        *parents, last = path.split("__")
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node.setdefault(p, {})
        node[last] = value
    return spec


@pytest.mark.parametrize(
    "spec, expected",
    [
        (
            restricted(volumes=[{"name": "n", "nfs": {"server": "s", "path": "/"}}]),
            'restricted volume types (volume "n" uses restricted volume type "nfs")',
        ),
        (
            restricted(containers__0__securityContext__allowPrivilegeEscalation=True),
            'allowPrivilegeEscalation != false (container "c" must set '
            "securityContext.allowPrivilegeEscalation=false)",
        ),
        (
            restricted(securityContext__runAsNonRoot=False),
            "runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false)",
        ),
        (
            restricted(containers__0__securityContext__runAsUser=0),
            'runAsUser=0 (container "c" must not set runAsUser=0)',
        ),
        (
            restricted(containers__0__securityContext__seccompProfile={"type": "Unconfined"}),
            'seccompProfile (container "c" must not set securityContext.seccompProfile.type to '
            '"Unconfined")',
        ),
        (
            restricted(
                containers__0__securityContext__capabilities={"drop": ["ALL"], "add": ["SYS_ADMIN"]}
            ),
            'unrestricted capabilities (container "c" must not include "SYS_ADMIN" in '
            "securityContext.capabilities.add)",
        ),
        (
            restricted(containers__0__securityContext__capabilities={"add": ["NET_BIND_SERVICE"]}),
            'unrestricted capabilities (container "c" must set '
            'securityContext.capabilities.drop=["ALL"])',
        ),
    ],
)
def test_restricted_checks(spec, expected):
    assert detail("restricted", spec) == expected


def test_restricted_overrides_and_order():
    spec = {
        "hostNetwork": True,
        "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
        "containers": [c(privileged=True, capabilities={"add": ["NET_ADMIN"]})],
    }
    reasons = [r for r, _ in ps.evaluate("restricted", {}, spec)]
    # baseline checks by ID first (without those a restricted check overrides), then restricted
    assert reasons == [
        "host namespaces",
        "privileged",
        "allowPrivilegeEscalation != false",
        "unrestricted capabilities",
        "restricted volume types",
        "runAsNonRoot != true",
        "seccompProfile",
    ]


def test_the_well_known_restricted_message():
    violations = ps.evaluate("restricted", {}, {"containers": [{"name": "c", "image": "x"}]})
    assert ps.refusal(ps.LevelVersion("restricted", "latest"), violations) == (
        'violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false '
        '(container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted '
        'capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), '
        'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), '
        'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to '
        '"RuntimeDefault" or "Localhost")'
    )


def test_windows_pods_skip_linux_only_checks():
    spec = {
        "os": {"name": "windows"},
        "securityContext": {"runAsNonRoot": True},
        "containers": [c()],
    }
    assert ps.evaluate("restricted", {}, spec) == []


def test_policy_labels():
    policy, causes = ps.parse_policy(
        {
            "pod-security.kubernetes.io/enforce": "baseline",
            "pod-security.kubernetes.io/enforce-version": "v1.28",
            "pod-security.kubernetes.io/warn": "restricted",
        }
    )
    assert causes == []
    assert str(policy.enforce) == "baseline:v1.28"
    assert str(policy.warn) == "restricted:latest"
    assert str(policy.audit) == "privileged:latest"
    policy, causes = ps.parse_policy(
        {
            "pod-security.kubernetes.io/enforce": "strict",
            "pod-security.kubernetes.io/warn-version": "1.28",
        }
    )
    assert policy.enforce.level == "restricted"  # fails closed
    assert [x["field"] for x in causes] == [
        "metadata.labels[pod-security.kubernetes.io/enforce]",
        "metadata.labels[pod-security.kubernetes.io/warn-version]",
    ]
    assert causes[1]["message"] == 'Invalid value: "1.28": must be "latest" or "v1.x"'


# ----- over HTTP ---------------------------------------------------------------------------


async def labelled_namespace(core, name, **modes):
    labels = {f"pod-security.kubernetes.io/{mode}": level for mode, level in modes.items()}
    await core.create_namespace({"metadata": {"name": name, "labels": labels}})


async def request_with_warnings(sim, method, path, body, content_type="application/json"):
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method,
            sim.url + path,
            data=json.dumps(body),
            headers={"Authorization": f"Bearer {sim.token}", "Content-Type": content_type},
        ) as response,
    ):
        return response.status, await response.json(), response.headers.getall("Warning", [])


async def test_enforce_refuses_a_pod_with_the_real_message(core, sim):
    await labelled_namespace(core, "locked", enforce="restricted")
    with pytest.raises(ApiException) as err:
        await core.create_namespaced_pod("locked", pod_body("x"))
    assert err.value.status == 403
    status = json.loads(err.value.body)
    assert status["reason"] == "Forbidden"
    assert status["message"].startswith(
        'pods "x" is forbidden: violates PodSecurity "restricted:latest": '
        "allowPrivilegeEscalation != false"
    )
    assert sim.get("pods", "x", "locked") is None
    hardened = pod_body("ok")
    hardened["spec"].update(json.loads(json.dumps(RESTRICTED_OK)))
    hardened["spec"]["containers"][0]["name"] = "main"
    created = await core.create_namespaced_pod("locked", hardened)
    assert created.metadata.name == "ok"


async def test_generated_names_are_named_in_the_refusal(core):
    await labelled_namespace(core, "locked", enforce="baseline")
    body = pod_body("", hostNetwork=True)
    body["metadata"] = {"generateName": "gen-"}
    with pytest.raises(ApiException) as err:
        await core.create_namespaced_pod("locked", body)
    message = json.loads(err.value.body)["message"]
    assert message.startswith('pods "gen-') and "host namespaces (hostNetwork=true)" in message


async def test_warn_sends_a_warning_header_and_admits(core, sim):
    await labelled_namespace(core, "soft", warn="baseline")
    code, _, warnings = await request_with_warnings(
        sim, "POST", "/api/v1/namespaces/soft/pods", pod_body("p", hostPID=True)
    )
    assert code == 201
    assert warnings == [
        '299 - "would violate PodSecurity \\"baseline:latest\\": host namespaces (hostPID=true)"'
    ]
    code, _, warnings = await request_with_warnings(
        sim, "POST", "/api/v1/namespaces/soft/pods", pod_body("fine")
    )
    assert code == 201 and warnings == []


async def test_kubectl_prints_the_warning(core, sim, tmp_path):
    await labelled_namespace(core, "soft", warn="restricted", enforce="baseline")
    manifest = tmp_path / "pod.json"
    manifest.write_text(
        json.dumps({**pod_body("p"), "metadata": {"name": "p", "namespace": "soft"}})
    )
    code, out, err = await kubectl(sim, "apply", "-f", str(manifest), check=False)
    assert code == 0, err
    assert 'Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation' in err


async def test_workloads_warn_but_are_never_refused(core, sim):
    await labelled_namespace(core, "locked", enforce="restricted", warn="restricted")
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "selector": {"matchLabels": {"app": "d"}},
            "template": {
                "metadata": {"labels": {"app": "d"}},
                "spec": {"containers": [{"name": "c", "image": "busybox:1"}]},
            },
        },
    }
    path = "/apis/apps/v1/namespaces/locked/deployments"
    code, _, warnings = await request_with_warnings(sim, "POST", path, deployment)
    assert code == 201
    assert len(warnings) == 1 and 'would violate PodSecurity \\"restricted:latest\\"' in warnings[0]
    # an update that leaves the template alone is not evaluated again
    code, _, warnings = await request_with_warnings(
        sim, "PATCH", path + "/d", {"spec": {"replicas": 2}}, "application/merge-patch+json"
    )
    assert code == 200 and warnings == []


async def test_pod_updates_are_evaluated_only_when_significant(core, sim):
    await core.create_namespace({"metadata": {"name": "later"}})
    await core.create_namespaced_pod("later", pod_body("p"))
    await core.patch_namespace(
        "later", {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}}
    )
    labelled = await core.patch_namespaced_pod("p", "later", {"metadata": {"labels": {"a": "b"}}})
    assert labelled.metadata.labels == {"a": "b"}  # not significant: allowed
    with pytest.raises(ApiException) as err:
        await core.patch_namespaced_pod(
            "p", "later", {"spec": {"containers": [{"name": "main", "image": "busybox:2"}]}}
        )
    assert err.value.status == 403  # an image change is re-evaluated


async def test_labelling_a_namespace_warns_about_existing_pods(core, sim, tmp_path):
    await core.create_namespace({"metadata": {"name": "team"}})
    for name in ("b", "a", "c"):
        await core.create_namespaced_pod("team", pod_body(name))
    await core.create_namespaced_pod("team", pod_body("h", hostNetwork=True))
    code, _, warnings = await request_with_warnings(
        sim,
        "PATCH",
        "/api/v1/namespaces/team",
        {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "baseline"}}},
        "application/merge-patch+json",
    )
    assert code == 200
    assert warnings == [
        '299 - "existing pods in namespace \\"team\\" violate the new PodSecurity enforce level '
        '\\"baseline:latest\\""',
        '299 - "h: host namespaces"',
    ]
    out = await kubectl(
        sim,
        "label",
        "--overwrite",
        "namespace",
        "team",
        "pod-security.kubernetes.io/enforce=restricted",
    )
    assert "namespace/team labeled" in out
    code, out, err = await kubectl(
        sim,
        "label",
        "--overwrite",
        "namespace",
        "team",
        "pod-security.kubernetes.io/enforce=restricted",
        "pod-security.kubernetes.io/enforce-version=v1.30",
        check=False,
    )
    assert code == 0, err
    assert "Warning: a (and 2 other pods): allowPrivilegeEscalation != false, " in err
    assert "Warning: h: host namespaces, allowPrivilegeEscalation != false, " in err


async def test_invalid_labels_are_refused(core, sim):
    with pytest.raises(ApiException) as err:
        await labelled_namespace(core, "bad", enforce="strict")
    assert err.value.status == 422
    assert json.loads(err.value.body)["message"] == (
        'Namespace "bad" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: '
        'Invalid value: "strict": must be one of privileged, baseline, restricted'
    )
    await core.create_namespace({"metadata": {"name": "good"}})
    with pytest.raises(ApiException) as err:
        await core.patch_namespace(
            "good", {"metadata": {"labels": {"pod-security.kubernetes.io/warn-version": "1.2"}}}
        )
    assert err.value.status == 422
    code, _ = await raw_request(sim, "GET", "/api/v1/namespaces/good")
    assert code == 200
