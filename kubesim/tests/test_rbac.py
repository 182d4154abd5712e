"""Authentication by ServiceAccount token and RBAC authorization, over HTTP
with kubernetes_asyncio, raw requests and kubectl (which speaks HTTPS)."""

import asyncio
import os
from pathlib import Path

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from kubesim import KubeSim
from kubesim.model.errors import ApiError
from kubesim.testing import (
    api_client_for,
    kubeconfig_with_token,
    pod_body,
    raw_request,
    service_account_token,
)

KUBECTL = Path(__file__).resolve().parents[2] / ".bin" / "kubectl"
RBAC = "/apis/rbac.authorization.k8s.io/v1"


async def kubectl(kubeconfig, *args, home) -> tuple[int, str, str]:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(home)}
    process = await asyncio.create_subprocess_exec(
        str(KUBECTL),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, out.decode(), err.decode()


async def create(sim, path, body):
    code, answer = await raw_request(sim, "POST", path, body)
    assert code == 201, answer
    return answer


async def make_account(sim, ns, name):
    if sim.get("namespaces", ns) is None:
        await create(sim, "/api/v1/namespaces", {"metadata": {"name": ns}})
    await create(sim, f"/api/v1/namespaces/{ns}/serviceaccounts", {"metadata": {"name": name}})
    return await service_account_token(sim, ns, name)


async def grant(sim, ns, name, rules, subject=None, cluster=False, role_name=None):
    """A Role (or ClusterRole) with `rules` bound to ServiceAccount ns/name."""
    role_name = role_name or f"{name}-role"
    subject = subject or {"kind": "ServiceAccount", "name": name, "namespace": ns}
    if cluster:
        await create(sim, f"{RBAC}/clusterroles", {"metadata": {"name": role_name}, "rules": rules})
        await create(
            sim,
            f"{RBAC}/clusterrolebindings",
            {
                "metadata": {"name": role_name},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": role_name,
                },
                "subjects": [subject],
            },
        )
        return
    await create(
        sim, f"{RBAC}/namespaces/{ns}/roles", {"metadata": {"name": role_name}, "rules": rules}
    )
    await create(
        sim,
        f"{RBAC}/namespaces/{ns}/rolebindings",
        {
            "metadata": {"name": role_name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role_name},
            "subjects": [subject],
        },
    )


async def test_token_request_authenticates_as_the_account(sim):
    token = await make_account(sim, "jhub", "hub")
    code, review = await raw_request(
        sim,
        "POST",
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        token=token,
    )
    assert code == 201
    info = review["status"]["userInfo"]
    assert info["username"] == "system:serviceaccount:jhub:hub"
    assert info["groups"] == [
        "system:serviceaccounts",
        "system:serviceaccounts:jhub",
        "system:authenticated",
    ]
    assert info["uid"] == sim.get("serviceaccounts", "hub", "jhub")["metadata"]["uid"]
    code, answer = await raw_request(
        sim,
        "POST",
        "/api/v1/namespaces/jhub/serviceaccounts/hub/token",
        {"spec": {"expirationSeconds": 60}},
    )
    assert code == 422 and answer["message"] == (
        'TokenRequest.authentication.k8s.io "hub" is invalid: spec.expirationSeconds: Invalid value: 60: '
        "may not specify a duration less than 10 minutes"
    )


async def test_denied_requests_get_the_real_messages(sim):
    token = await make_account(sim, "jhub", "hub")
    user = 'User "system:serviceaccount:jhub:hub"'
    cases = [
        (
            "GET",
            "/api/v1/namespaces/jhub/pods",
            f'pods is forbidden: {user} cannot list resource "pods" in API group "" in the '
            'namespace "jhub"',
        ),
        (
            "GET",
            "/api/v1/namespaces/jhub/pods?watch=true",
            f'pods is forbidden: {user} cannot watch resource "pods" in API group "" in the '
            'namespace "jhub"',
        ),
        (
            "GET",
            "/api/v1/nodes",
            f'nodes is forbidden: {user} cannot list resource "nodes" in API group "" at the '
            "cluster scope",
        ),
        (
            "GET",
            "/api/v1/namespaces/jhub/secrets/hub",
            f'secrets "hub" is forbidden: {user} cannot get resource "secrets" in API group "" '
            'in the namespace "jhub"',
        ),
        (
            "GET",
            "/api/v1/namespaces/jhub/pods/p/log",
            f'pods "p" is forbidden: {user} cannot get resource "pods/log" in API group "" in '
            'the namespace "jhub"',
        ),
        (
            "DELETE",
            "/apis/apps/v1/namespaces/jhub/deployments",
            f"deployments.apps is forbidden: {user} cannot deletecollection resource "
            '"deployments" in API group "apps" in the namespace "jhub"',
        ),
        ("GET", "/kubesim/counters", f'forbidden: {user} cannot get path "/kubesim/counters"'),
    ]
    for method, path, message in cases:
        code, answer = await raw_request(sim, method, path, token=token)
        assert (code, answer["reason"], answer["message"]) == (403, "Forbidden", message), path
    # what every authenticated user may do: discovery, /version, reviews of itself
    for path in ("/api", "/apis", "/api/v1", "/apis/apps/v1", "/version"):
        code, _ = await raw_request(sim, "GET", path, token=token)
        assert code == 200, path


async def test_roles_grant_verbs_resources_subresources_and_names(sim):
    token = await make_account(sim, "jhub", "hub")
    await grant(
        sim,
        "jhub",
        "hub",
        [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "list", "watch"]},
            {
                "apiGroups": [""],
                "resources": ["secrets"],
                "resourceNames": ["mine"],
                "verbs": ["get"],
            },
            {"apiGroups": ["apps"], "resources": ["*/scale"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["*"]},
        ],
    )
    await create(sim, "/api/v1/namespaces/jhub/secrets", {"metadata": {"name": "mine"}})
    await create(sim, "/api/v1/namespaces/jhub/secrets", {"metadata": {"name": "other"}})
    async with await api_client_for(sim, token) as api:
        core = client.CoreV1Api(api)
        await core.create_namespaced_pod("jhub", pod_body("p"))
        assert [p.metadata.name for p in (await core.list_namespaced_pod("jhub")).items] == ["p"]
        assert (await core.read_namespaced_secret("mine", "jhub")).metadata.name == "mine"
        with pytest.raises(ApiException) as denied:
            await core.read_namespaced_secret("other", "jhub")
        assert denied.value.status == 403
        with pytest.raises(ApiException) as denied:
            await core.delete_namespaced_pod("p", "jhub")
        assert denied.value.status == 403
        with pytest.raises(ApiException) as denied:  # another namespace: nothing
            await core.list_namespaced_pod("default")
        assert denied.value.status == 403
    code, _ = await raw_request(
        sim, "GET", "/apis/apps/v1/namespaces/jhub/deployments/x/scale", token=token
    )
    assert code == 404  # allowed (*/scale), and then not found
    # a watch of one named secret is authorized as that name
    code, _ = await raw_request(
        sim,
        "GET",
        "/api/v1/namespaces/jhub/secrets",
        params={"fieldSelector": "metadata.name=other"},
        token=token,
    )
    assert code == 403


async def test_bindings_to_groups_users_and_cluster_roles(sim):
    token = await make_account(sim, "jhub", "hub")
    await grant(
        sim,
        "jhub",
        "hub",
        [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]}],
        subject={"kind": "Group", "name": "system:serviceaccounts:jhub"},
        cluster=True,
    )
    code, _ = await raw_request(sim, "GET", "/api/v1/nodes", token=token)
    assert code == 200
    # a RoleBinding to a ClusterRole grants it in the binding's namespace only
    await create(
        sim,
        f"{RBAC}/namespaces/jhub/rolebindings",
        {
            "metadata": {"name": "view"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "view",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "hub", "namespace": "jhub"}],
        },
    )
    code, _ = await raw_request(
        sim, "GET", "/apis/apps/v1/namespaces/jhub/deployments", token=token
    )
    assert code == 200  # `view` is aggregated from system:aggregate-to-view
    code, _ = await raw_request(sim, "GET", "/api/v1/namespaces/jhub/secrets", token=token)
    assert code == 403  # view does not read secrets
    code, _ = await raw_request(
        sim, "GET", "/apis/apps/v1/namespaces/default/deployments", token=token
    )
    assert code == 403
    # a binding to a role that does not exist says so, as the real RBAC authorizer does
    await create(
        sim,
        f"{RBAC}/namespaces/jhub/rolebindings",
        {
            "metadata": {"name": "ghost"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "ghost"},
            "subjects": [{"kind": "ServiceAccount", "name": "hub", "namespace": "jhub"}],
        },
    )
    code, answer = await raw_request(sim, "GET", "/api/v1/namespaces/jhub/secrets", token=token)
    assert answer["message"].endswith(': RBAC: role.rbac.authorization.k8s.io "ghost" not found')
    # taking the grant away takes effect on the next request
    code, _ = await raw_request(sim, "DELETE", f"{RBAC}/namespaces/jhub/rolebindings/view")
    code, _ = await raw_request(
        sim, "GET", "/apis/apps/v1/namespaces/jhub/deployments", token=token
    )
    assert code == 403


async def test_deleted_account_and_wrong_tokens_are_unauthorized(sim):
    token = await make_account(sim, "jhub", "hub")
    code, _ = await raw_request(sim, "GET", "/api", token=token)
    assert code == 200
    code, _ = await raw_request(sim, "DELETE", "/api/v1/namespaces/jhub/serviceaccounts/hub")
    assert code == 200
    # re-made with the same name: a new uid, the old tokens stay void
    await create(sim, "/api/v1/namespaces/jhub/serviceaccounts", {"metadata": {"name": "hub"}})
    code, answer = await raw_request(sim, "GET", "/api", token=token)
    assert (code, answer["reason"]) == (401, "Unauthorized")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    code, _ = await raw_request(sim, "GET", "/api", token=forged)
    assert code in (200, 401)  # plain HTTP: an unknown token is the anonymous admin...


async def test_https_needs_a_valid_token(tmp_path):
    async with KubeSim(nodes=0, https=True, state_dir=tmp_path) as sim:
        token = await make_account(sim, "jhub", "hub")
        code, _ = await raw_request(sim, "GET", "/api", token=token[:-4] + "AAAA")
        assert code == 401  # ...over HTTPS, a token must be valid


async def test_tokens_survive_a_restart_with_the_same_state_dir(tmp_path):
    async with KubeSim(nodes=0, https=True, state_dir=tmp_path) as sim:
        token = await make_account(sim, "jhub", "hub")
        uid = sim.get("serviceaccounts", "hub", "jhub")["metadata"]["uid"]
    async with KubeSim(nodes=0, https=True, state_dir=tmp_path) as sim:
        # until objects persist, put the same account back (same uid)
        sim.store._put_new(sim.store.resource("namespaces"), {"metadata": {"name": "jhub"}})
        sim.store._put_new(
            sim.store.resource("serviceaccounts"),
            {"metadata": {"name": "hub", "namespace": "jhub", "uid": uid}},
        )
        code, answer = await raw_request(
            sim, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", {}, token=token
        )
        assert code == 201, answer
        assert answer["status"]["userInfo"]["username"] == "system:serviceaccount:jhub:hub"


async def test_pods_need_their_service_account(sim):
    await create(sim, "/api/v1/namespaces", {"metadata": {"name": "jhub"}})
    assert sim.get("serviceaccounts", "default", "jhub") is not None  # made per namespace
    await create(sim, "/api/v1/namespaces/jhub/pods", pod_body("ok"))
    code, answer = await raw_request(
        sim, "POST", "/api/v1/namespaces/jhub/pods", pod_body("x", serviceAccountName="nobody")
    )
    assert (code, answer["message"]) == (
        403,
        'pods "x" is forbidden: error looking up service account jhub/nobody: '
        'serviceaccount "nobody" not found',
    )


async def test_access_reviews(sim):
    token = await make_account(sim, "jhub", "hub")
    await grant(sim, "jhub", "hub", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}])

    async def ssar(attributes, who=token):
        code, answer = await raw_request(
            sim,
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            {"spec": attributes},
            token=who,
        )
        assert code == 201, answer
        return answer["status"]

    allowed = await ssar(
        {"resourceAttributes": {"verb": "list", "resource": "pods", "namespace": "jhub"}}
    )
    assert allowed == {
        "allowed": True,
        "reason": 'RBAC: allowed by RoleBinding "jhub/hub-role" of Role "hub-role" to '
        'ServiceAccount "hub/jhub"',
    }
    assert (
        await ssar(
            {"resourceAttributes": {"verb": "delete", "resource": "pods", "namespace": "jhub"}}
        )
    )["allowed"] is False
    assert (await ssar({"nonResourceAttributes": {"verb": "get", "path": "/apis/apps"}}))["allowed"]
    code, rules = await raw_request(
        sim,
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        {"spec": {"namespace": "jhub"}},
        token=token,
    )
    assert {"verbs": ["list"], "apiGroups": [""], "resources": ["pods"]} in rules["status"][
        "resourceRules"
    ]
    review = {
        "spec": {
            "user": "system:serviceaccount:jhub:hub",
            "groups": ["system:authenticated"],
            "resourceAttributes": {"verb": "list", "resource": "pods", "namespace": "jhub"},
        }
    }
    code, answer = await raw_request(
        sim, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review
    )
    assert (code, answer["status"]["allowed"]) == (201, True)
    code, answer = await raw_request(
        sim, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review, token=token
    )
    assert code == 403  # only who may create subjectaccessreviews (the admin) asks for others


async def test_impersonation(sim):
    token = await make_account(sim, "jhub", "hub")
    code, answer = await raw_request(
        sim,
        "GET",
        "/api/v1/namespaces/jhub/pods",
        headers={"Impersonate-User": "system:serviceaccount:jhub:hub"},
    )
    assert code == 403 and 'User "system:serviceaccount:jhub:hub" cannot list' in answer["message"]
    code, answer = await raw_request(
        sim,
        "GET",
        "/api/v1/namespaces/jhub/pods",
        headers={"Impersonate-User": "someone", "Impersonate-Group": "system:masters"},
    )
    assert code == 200
    code, answer = await raw_request(
        sim,
        "GET",
        "/api/v1/namespaces/jhub/pods",
        headers={"Impersonate-User": "someone"},
        token=token,
    )
    assert (code, answer["message"]) == (
        403,
        'users "someone" is forbidden: User "system:serviceaccount:jhub:hub" cannot '
        'impersonate resource "users" in API group "" at the cluster scope',
    )


async def test_kubelet_mounts_the_pods_own_account_token(tmp_path):
    async with KubeSim(nodes=1, runtime="process", state_dir=tmp_path) as sim:
        await make_account(sim, "jhub", "hub")
        pod = pod_body("p", serviceAccountName="hub")
        pod["spec"]["containers"][0]["command"] = [
            "sh",
            "-c",
            "cat /var/run/secrets/kubernetes.io/serviceaccount/token; echo; sleep 30",
        ]
        await create(sim, "/api/v1/namespaces/jhub/pods", pod)
        token = ""
        for _ in range(400):
            try:
                token = (await sim.read_log("jhub", "p")).strip()
            except ApiError:  # still starting
                token = ""
            if token:
                break
            await asyncio.sleep(0.05)
        code, answer = await raw_request(
            sim, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", {}, token=token
        )
        assert answer["status"]["userInfo"]["username"] == "system:serviceaccount:jhub:hub"
        await raw_request(sim, "DELETE", "/api/v1/namespaces/jhub/pods/p?gracePeriodSeconds=0")
        for _ in range(200):
            if sim.get("pods", "p", "jhub") is None:
                break
            await asyncio.sleep(0.05)
        # bound to the pod: void once it is gone (as the real bound tokens)
        code, review = await raw_request(
            sim, "POST", "/apis/authentication.k8s.io/v1/tokenreviews", {"spec": {"token": token}}
        )
        assert review["status"]["authenticated"] is False


@pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl not installed (ci/setup)")
async def test_kubectl_auth_can_i(tmp_path):
    async with KubeSim(nodes=0, https=True, state_dir=tmp_path / "sim") as sim:
        token = await make_account(sim, "jhub", "hub")
        await grant(
            sim,
            "jhub",
            "hub",
            [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch"]}],
        )
        own = kubeconfig_with_token(sim, token, tmp_path / "hub.kubeconfig")
        home = tmp_path
        assert (await kubectl(own, "auth", "can-i", "list", "pods", "-n", "jhub", home=home))[
            1
        ].strip() == "yes"
        code, out, _ = await kubectl(
            own, "auth", "can-i", "delete", "pods", "-n", "jhub", home=home
        )
        assert (code, out.strip()) == (1, "no")
        code, out, _ = await kubectl(own, "auth", "can-i", "--list", "-n", "jhub", home=home)
        assert code == 0 and any(
            line.split()[:1] == ["pods"] and "[list watch]" in line for line in out.splitlines()
        ), out
        code, out, err = await kubectl(own, "get", "pods", "-n", "default", home=home)
        assert (
            code == 1
            and (
                'pods is forbidden: User "system:serviceaccount:jhub:hub" cannot list resource '
                '"pods" in API group "" in the namespace "default"'
            )
            in err
        )
        code, out, _ = await kubectl(own, "get", "pods", "-n", "jhub", home=home)
        assert code == 0
        code, out, _ = await kubectl(own, "auth", "whoami", home=home)
        assert "system:serviceaccount:jhub:hub" in out and "system:serviceaccounts:jhub" in out
        admin = sim.kubeconfig_path
        as_hub = ("--as=system:serviceaccount:jhub:hub",)
        code, out, _ = await kubectl(
            admin, *as_hub, "auth", "can-i", "list", "pods", "-n", "jhub", home=home
        )
        assert out.strip() == "yes"
        code, out, _ = await kubectl(
            admin, *as_hub, "auth", "can-i", "get", "secrets", "-n", "jhub", home=home
        )
        assert out.strip() == "no"
        code, out, _ = await kubectl(admin, "auth", "can-i", "*", "*", home=home)
        assert out.strip() == "yes"
        code, out, _ = await kubectl(admin, "get", "clusterroles", "-o", "name", home=home)
        assert {
            "clusterrole.rbac.authorization.k8s.io/" + n
            for n in ("cluster-admin", "admin", "edit", "view", "system:discovery")
        } <= set(out.split())


async def test_unserved_resources_are_authorized_before_404(sim):
    token = await make_account(sim, "jhub", "hub")
    code, answer = await raw_request(sim, "GET", "/apis/storage.k8s.io/v1/csinodes", token=token)
    assert (code, answer["message"]) == (
        403,
        'csinodes.storage.k8s.io is forbidden: User "system:serviceaccount:jhub:hub" cannot '
        'list resource "csinodes" in API group "storage.k8s.io" at the cluster scope',
    )
    await grant(
        sim,
        "jhub",
        "hub",
        [{"apiGroups": ["storage.k8s.io"], "resources": ["*"], "verbs": ["*"]}],
        cluster=True,
    )
    code, _ = await raw_request(sim, "GET", "/apis/storage.k8s.io/v1/csinodes", token=token)
    assert code == 404
    # namespaces: a namespace is its own namespace; its status a subresource
    code, answer = await raw_request(sim, "GET", "/api/v1/namespaces/jhub/status", token=token)
    assert answer["message"] == (
        'namespaces "jhub" is forbidden: User "system:serviceaccount:jhub:hub" cannot get '
        'resource "namespaces/status" in API group "" in the namespace "jhub"'
    )


async def test_an_account_that_opts_out_gets_no_token_mounted(tmp_path):
    async with KubeSim(nodes=1, runtime="process", state_dir=tmp_path) as sim:
        await make_account(sim, "jhub", "hub")
        await raw_request(
            sim,
            "PATCH",
            "/api/v1/namespaces/jhub/serviceaccounts/hub",
            {"automountServiceAccountToken": False},
            content_type="application/merge-patch+json",
        )
        script = (
            "test -e /var/run/secrets/kubernetes.io/serviceaccount/token && echo yes || echo no"
        )
        for name, automount in (("inherits", None), ("asks", True)):
            pod = pod_body(name, serviceAccountName="hub")
            pod["spec"]["containers"][0]["command"] = ["sh", "-c", script + "; sleep 30"]
            if automount is not None:
                pod["spec"]["automountServiceAccountToken"] = automount
            await create(sim, "/api/v1/namespaces/jhub/pods", pod)
        seen = {}
        for _ in range(400):
            for name in ("inherits", "asks"):
                try:
                    seen[name] = (await sim.read_log("jhub", name)).strip()
                except ApiError:
                    pass
            if all(seen.get(n) for n in ("inherits", "asks")):
                break
            await asyncio.sleep(0.05)
        assert seen == {"inherits": "no", "asks": "yes"}
