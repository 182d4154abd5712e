"""Immutable fields: what kube-apiserver refuses to change, over every write verb.

Each refusal is checked with the real status code and message text; each
allowed change is checked to go through, so the rules are neither too lax nor
too strict.
"""

import json

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.rest import ApiException

from kubesim.testing import pod_body, raw_request

SMP = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"


def workload(kind, name="w", app="w", **spec):
    body = {
        "apiVersion": "batch/v1" if kind == "Job" else "apps/v1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": app}},
            "template": {
                "metadata": {"labels": {"app": app}},
                "spec": {
                    "containers": [{"name": "c", "image": "busybox:1"}],
                    "restartPolicy": "Never" if kind == "Job" else "Always",
                },
            },
            **spec,
        },
    }
    return body


PATHS = {
    "Deployment": "/apis/apps/v1/namespaces/default/deployments",
    "ReplicaSet": "/apis/apps/v1/namespaces/default/replicasets",
    "DaemonSet": "/apis/apps/v1/namespaces/default/daemonsets",
    "StatefulSet": "/apis/apps/v1/namespaces/default/statefulsets",
    "Job": "/apis/batch/v1/namespaces/default/jobs",
    "Pod": "/api/v1/namespaces/default/pods",
    "Service": "/api/v1/namespaces/default/services",
    "ConfigMap": "/api/v1/namespaces/default/configmaps",
    "Secret": "/api/v1/namespaces/default/secrets",
    "PersistentVolumeClaim": "/api/v1/namespaces/default/persistentvolumeclaims",
}


async def create(sim, body):
    code, answer = await raw_request(sim, "POST", PATHS[body["kind"]], body)
    assert code == 201, answer
    return answer


async def write(sim, kind, name, how, change):
    """Change an object with one write verb: `change` edits a copy of the stored object.

    PUT sends the edited object; the patch verbs send a patch that makes the same edit.
    """
    path = f"{PATHS[kind]}/{name}"
    _, current = await raw_request(sim, "GET", path)
    edited = json.loads(json.dumps(current))
    change(edited)
    if how == "put":
        return await raw_request(sim, "PUT", path, edited)
    if how == "json":
        ops = [
            {"op": "replace", "path": f"/{key}", "value": edited[key]}
            for key in edited
            if key not in ("metadata", "status") and edited[key] != current.get(key)
        ]
        return await raw_request(sim, "PATCH", path, ops, JSON_PATCH)
    body = {k: v for k, v in edited.items() if k not in ("status",)}
    body["metadata"] = {"name": name}
    if how == "apply":
        body = {"apiVersion": current["apiVersion"], "kind": kind, **body}
        return await raw_request(
            sim, "PATCH", path, body, APPLY, params={"fieldManager": "test", "force": "true"}
        )
    return await raw_request(sim, "PATCH", path, body, SMP if how == "strategic" else MERGE)


VERBS = ["put", "strategic", "merge", "json", "apply"]


def relabel(obj, app="new"):
    obj["spec"]["selector"] = {"matchLabels": {"app": app}}
    obj["spec"]["template"]["metadata"]["labels"] = {"app": app}


@pytest.mark.parametrize("how", VERBS)
@pytest.mark.parametrize("kind", ["Deployment", "ReplicaSet", "DaemonSet"])
async def test_apps_selector_is_immutable_for_every_verb(sim, kind, how):
    await create(sim, workload(kind))
    code, status = await write(sim, kind, "w", how, relabel)
    assert code == 422, status
    assert status["reason"] == "Invalid"
    assert status["message"] == (
        f'{kind}.apps "w" is invalid: spec.selector: Invalid value: v1.LabelSelector'
        '{MatchLabels:map[string]string{"app":"new"}, '
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
    )
    cause = status["details"]["causes"][0]
    assert cause == {
        "reason": "FieldValueInvalid",
        "field": "spec.selector",
        "message": cause["message"],
    }
    assert status["details"]["kind"] == kind and status["details"]["group"] == "apps"
    assert sim.get(f"{kind.lower()}s.apps", "w", "default")["spec"]["selector"] == {
        "matchLabels": {"app": "w"}
    }


async def test_selector_with_expressions_prints_like_go(sim):
    await create(sim, workload("Deployment"))

    def add_expression(obj):
        obj["spec"]["selector"]["matchExpressions"] = [
            {"key": "tier", "operator": "In", "values": ["a", "b"]}
        ]

    code, status = await write(sim, "Deployment", "w", "merge", add_expression)
    assert code == 422
    assert (
        'MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:"tier", '
        'Operator:"In", Values:[]string{"a", "b"}}}}: field is immutable'
    ) in status["message"]


async def test_deployment_template_and_replicas_may_change(sim):
    await create(sim, workload("Deployment"))

    def change(obj):
        obj["spec"]["replicas"] = 3
        obj["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox:2"

    for how in VERBS:
        code, answer = await write(sim, "Deployment", "w", how, change)
        assert code == 200, (how, answer)


async def test_statefulset_spec_is_immutable_but_for_its_listed_fields(sim):
    await create(sim, workload("StatefulSet", serviceName="s"))

    def allowed(obj):
        spec = obj["spec"]
        spec["replicas"] = 2
        spec["template"]["spec"]["containers"][0]["image"] = "busybox:2"
        spec["updateStrategy"] = {"type": "OnDelete"}
        spec["minReadySeconds"] = 5
        spec["revisionHistoryLimit"] = 3  # mutable since 1.33
        spec["persistentVolumeClaimRetentionPolicy"] = {"whenDeleted": "Delete"}
        spec["ordinals"] = {"start": 1}

    code, answer = await write(sim, "StatefulSet", "w", "strategic", allowed)
    assert code == 200, answer

    def service_name(obj):
        obj["spec"]["serviceName"] = "other"

    for how in VERBS:
        code, status = await write(sim, "StatefulSet", "w", how, service_name)
        assert code == 422, how
        assert status["message"] == (
            'StatefulSet.apps "w" is invalid: spec: Forbidden: updates to statefulset spec for '
            "fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', "
            "'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and "
            "'minReadySeconds' are forbidden"
        )


async def test_statefulset_message_follows_the_served_version(kubesim_factory):
    sim = await kubesim_factory(nodes=0, version="1.31")
    await create(sim, workload("StatefulSet", serviceName="s"))

    def history(obj):
        obj["spec"]["revisionHistoryLimit"] = 3

    code, status = await write(sim, "StatefulSet", "w", "merge", history)
    assert code == 422
    assert "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and" in status["message"]


@pytest.mark.parametrize("how", VERBS)
async def test_job_selector_and_template_are_immutable(sim, how):
    await create(sim, workload("Job"))

    def image(obj):
        obj["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox:2"

    code, status = await write(sim, "Job", "w", how, image)
    assert code == 422, status
    assert status["message"].startswith('Job.batch "w" is invalid: spec.template: Invalid value:')
    assert status["message"].endswith(": field is immutable")
    code, status = await write(sim, "Job", "w", how, relabel)
    assert code == 422
    fields = [c["field"] for c in status["details"]["causes"]]
    assert fields == ["spec.selector", "spec.template"]

    def parallelism(obj):
        obj["spec"]["parallelism"] = 2

    code, answer = await write(sim, "Job", "w", how, parallelism)
    assert code == 200, answer


# ----- pods ----------------------------------------------------------------------------


POD_FORBIDDEN = (
    'Pod "p" is invalid: spec: Forbidden: pod updates may not change fields other than '
    "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
    "`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously "
    "negative)\n"
)


@pytest.mark.parametrize("how", VERBS)
async def test_pod_spec_changes_are_forbidden_for_every_verb(sim, how):
    await create(sim, pod_body("p", schedulingGates=[{"name": "g"}]))

    def restart(obj):
        obj["spec"]["restartPolicy"] = "Never"

    code, status = await write(sim, "Pod", "p", how, restart)
    assert code == 422
    assert status["message"].startswith(POD_FORBIDDEN)
    assert '+\trestartPolicy: "Never"' in status["message"]


async def test_pod_updates_the_real_server_allows(sim):
    await create(
        sim,
        pod_body(
            "p",
            activeDeadlineSeconds=100,
            schedulingGates=[{"name": "a"}, {"name": "b"}],
            tolerations=[{"key": "k", "operator": "Exists", "effect": "NoExecute"}],
        ),
    )

    def allowed(obj):
        spec = obj["spec"]
        spec["containers"][0]["image"] = "busybox:2"
        spec["activeDeadlineSeconds"] = 50
        spec["tolerations"].append({"key": "new", "operator": "Exists"})
        spec["tolerations"][0]["tolerationSeconds"] = 10  # the one change to an old one
        spec["schedulingGates"] = [{"name": "b"}]
        spec["nodeSelector"] = {"zone": "a"}  # added while gated

    code, answer = await write(sim, "Pod", "p", "put", allowed)
    assert code == 200, answer
    spec = sim.get("pods", "p", "default")["spec"]
    assert spec["containers"][0]["image"] == "busybox:2"
    assert spec["schedulingGates"] == [{"name": "b"}]


@pytest.mark.parametrize(
    "change, field, message",
    [
        (
            lambda s: s.__setitem__("activeDeadlineSeconds", 200),
            "spec.activeDeadlineSeconds",
            "Invalid value: 200: must be less than or equal to previous value",
        ),
        (
            lambda s: s.pop("activeDeadlineSeconds"),
            "spec.activeDeadlineSeconds",
            "Invalid value: null: must not update from a positive integer to nil value",
        ),
        (
            lambda s: s["tolerations"][0].__setitem__("operator", "Equal"),
            "spec.tolerations",
            "Forbidden: existing toleration can not be modified except its tolerationSeconds",
        ),
        (
            lambda s: s["schedulingGates"].append({"name": "c"}),
            "spec.schedulingGates[1].name",
            "Forbidden: only deletion is allowed, but found new scheduling gate 'c'",
        ),
        (
            lambda s: s["containers"].append({"name": "two", "image": "busybox:1"}),
            "spec.containers",
            "Forbidden: pod updates may not add or remove containers",
        ),
    ],
)
async def test_pod_update_refusals(sim, change, field, message):
    await create(
        sim,
        pod_body(
            "p",
            activeDeadlineSeconds=100,
            schedulingGates=[{"name": "a"}],
            tolerations=[{"key": "k", "operator": "Exists", "effect": "NoExecute"}],
        ),
    )
    code, status = await write(sim, "Pod", "p", "put", lambda obj: change(obj["spec"]))
    assert code == 422
    assert status["details"]["causes"][0]["field"] == field
    assert status["message"] == f'Pod "p" is invalid: {field}: {message}'


async def test_pod_status_writes_are_not_spec_updates(sim):
    await create(sim, pod_body("p"))
    code, answer = await raw_request(
        sim,
        "PATCH",
        "/api/v1/namespaces/default/pods/p/status",
        {"status": {"phase": "Running"}},
        MERGE,
    )
    assert code == 200, answer


# ----- metadata ------------------------------------------------------------------------


async def test_metadata_name_namespace_and_uid(sim, core):
    await core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    current = await core.read_namespaced_config_map("c", "default")
    current.metadata.uid = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(ApiException) as err:
        await core.replace_namespaced_config_map("c", "default", current)
    assert err.value.status == 409
    assert json.loads(err.value.body)["message"] == (
        'Operation cannot be fulfilled on configmaps "c": Precondition failed: UID in '
        "precondition: 00000000-0000-0000-0000-000000000000, UID in object meta: "
        + sim.get("configmaps", "c", "default")["metadata"]["uid"]
    )
    code, status = await raw_request(
        sim,
        "PATCH",
        "/api/v1/namespaces/default/configmaps/c",
        {"metadata": {"uid": "00000000-0000-0000-0000-000000000000"}},
        MERGE,
    )
    assert code == 422
    assert status["message"] == (
        'ConfigMap "c" is invalid: metadata.uid: Invalid value: '
        '"00000000-0000-0000-0000-000000000000": field is immutable'
    )
    code, status = await raw_request(
        sim,
        "PATCH",
        "/api/v1/namespaces/default/configmaps/c",
        {"metadata": {"name": "d"}},
        MERGE,
    )
    assert code == 400
    assert status["message"] == "the name of the object (d) does not match the name on the URL (c)"


# ----- services, secrets, configmaps ----------------------------------------------------


@pytest.mark.parametrize("how", VERBS)
async def test_service_cluster_ip_is_immutable(sim, how):
    created = await create(
        sim,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "s"},
            "spec": {"ports": [{"port": 80}]},
        },
    )
    old_ip = created["spec"]["clusterIP"]

    def move(obj):
        obj["spec"]["clusterIP"] = "127.96.200.200"

    code, status = await write(sim, "Service", "s", how, move)
    assert code == 422
    assert status["message"] == (
        'Service "s" is invalid: spec.clusterIP: Invalid value: "127.96.200.200": '
        "field is immutable"
    )

    def affinity(obj):
        obj["spec"]["sessionAffinity"] = "ClientIP"

    code, answer = await write(sim, "Service", "s", how, affinity)
    assert code == 200 and answer["spec"]["clusterIP"] == old_ip


@pytest.mark.parametrize("kind", ["ConfigMap", "Secret"])
@pytest.mark.parametrize("how", VERBS)
async def test_immutable_configmaps_and_secrets(sim, kind, how):
    data = {"a": "MQ=="}
    await create(
        sim,
        {
            "apiVersion": "v1",
            "kind": kind,
            "metadata": {"name": "x"},
            "data": data,
            "immutable": True,
        },
    )

    def change_data(obj):
        obj["data"] = {"a": "Mg=="}

    code, status = await write(sim, kind, "x", how, change_data)
    assert code == 422
    assert status["message"] == (
        f'{kind} "x" is invalid: data: Forbidden: field is immutable when `immutable` is set'
    )

    def thaw(obj):
        obj["immutable"] = False

    code, status = await write(sim, kind, "x", how, thaw)
    assert code == 422
    assert status["details"]["causes"][0]["field"] == "immutable"

    def relabel_only(obj):
        obj["metadata"]["labels"] = {"still": "allowed"}

    code, answer = await write(sim, kind, "x", "put", relabel_only)
    assert code == 200, answer


async def test_secret_type_is_immutable(sim):
    await create(sim, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "t"}})

    def retype(obj):
        obj["type"] = "kubernetes.io/tls"
        obj["data"] = {"tls.crt": "", "tls.key": ""}

    code, status = await write(sim, "Secret", "t", "put", retype)
    assert code == 422
    assert status["message"] == (
        'Secret "t" is invalid: type: Invalid value: "kubernetes.io/tls": field is immutable'
    )


# ----- claims --------------------------------------------------------------------------


async def bound_claim(sim, storage_class=None):
    body = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    if storage_class:
        body["spec"]["storageClassName"] = storage_class
    await create(sim, body)
    await sim.store.patch(
        "persistentvolumeclaims",
        "data",
        {"status": {"phase": "Bound", "capacity": {"storage": "1Gi"}}},
        "merge",
        "default",
        subresource="status",
    )


async def storage_class(api, name, expandable):
    await client.StorageV1Api(api).create_storage_class(
        {
            "metadata": {"name": name},
            "provisioner": "kubesim.io/hostpath",
            "allowVolumeExpansion": expandable,
        }
    )


def resize(size):
    def change(obj):
        obj["spec"]["resources"]["requests"]["storage"] = size

    return change


@pytest.mark.parametrize("how", VERBS)
async def test_claim_grows_only_with_an_expandable_class(sim, api, how):
    await storage_class(api, "fixed", False)
    await bound_claim(sim, "fixed")
    code, status = await write(sim, "PersistentVolumeClaim", "data", how, resize("2Gi"))
    assert code == 403
    assert status["reason"] == "Forbidden"
    assert status["message"] == (
        'persistentvolumeclaims "data" is forbidden: only dynamically provisioned pvc can be '
        "resized and the storageclass that provisions the pvc must support resize"
    )


async def test_claim_growth_shrink_and_other_changes(sim, api):
    await storage_class(api, "elastic", True)
    await bound_claim(sim, "elastic")
    code, answer = await write(sim, "PersistentVolumeClaim", "data", "merge", resize("2Gi"))
    assert code == 200, answer
    assert answer["spec"]["resources"]["requests"]["storage"] == "2Gi"
    code, answer = await write(sim, "PersistentVolumeClaim", "data", "merge", resize("2048Mi"))
    assert code == 200, answer  # the same quantity, spelt differently
    code, status = await write(sim, "PersistentVolumeClaim", "data", "merge", resize("1Gi"))
    assert code == 422
    assert status["message"] == (
        'PersistentVolumeClaim "data" is invalid: spec.resources.requests.storage: '
        "Forbidden: field can not be less than status.capacity"
    )

    def modes(obj):
        obj["spec"]["accessModes"] = ["ReadWriteMany"]

    code, status = await write(sim, "PersistentVolumeClaim", "data", "merge", modes)
    assert code == 422
    assert status["message"].startswith(
        'PersistentVolumeClaim "data" is invalid: spec: Forbidden: spec is immutable after '
        "creation except resources.requests for bound claims\n"
    )


async def test_claim_shrink_message_before_expansion_recovery(kubesim_factory):
    sim = await kubesim_factory(nodes=0, version="1.31")
    await bound_claim(sim)
    code, status = await write(sim, "PersistentVolumeClaim", "data", "put", resize("512Mi"))
    assert code == 422
    assert status["details"]["causes"][0]["message"] == (
        "Forbidden: field can not be less than previous value"
    )


async def test_unbound_claim_request_is_immutable(sim):
    await create(
        sim,
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        },
    )
    code, status = await write(sim, "PersistentVolumeClaim", "data", "merge", resize("2Gi"))
    assert code == 422
    assert "spec is immutable after creation except resources.requests" in status["message"]
