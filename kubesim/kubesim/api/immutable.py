"""What an update may not change: the immutable fields kube-apiserver enforces.

Pure functions of (new object, stored object): each adds 422 causes to a
`Cause` list with the real server's field paths and message texts
(k8s.io/kubernetes pkg/apis/*/validation, `ValidateXUpdate`). They run on
main-resource updates only (PUT, every PATCH type, server-side apply); status
writes cannot touch spec, exactly as the real status strategies reset it.
"""

from __future__ import annotations

import json
from typing import Any

from kubesim.model.quantities import QuantityError, parse_quantity

IMMUTABLE = "field is immutable"


def version_at_least(version: str, minor: int) -> bool:
    major_s, _, minor_s = version.lstrip("v").partition(".")
    return (int(major_s), int(minor_s.split(".")[0] or 0)) >= (1, minor)


# ----- Go value printing -------------------------------------------------------------
# field.Invalid prints its value with %#v; a LabelSelector pointer is dereferenced
# first (field.Error.ErrorBody), so the text reads `v1.LabelSelector{MatchLabels:...}`.


def _go_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _go_strings(values: list | None) -> str:
    if values is None:
        return "[]string(nil)"
    return "[]string{" + ", ".join(_go_string(v) for v in values) + "}"


def go_label_selector(selector: dict | None) -> str:
    if selector is None:
        return "null"
    labels = selector.get("matchLabels")
    if labels is None:
        labels_text = "map[string]string(nil)"
    else:
        pairs = ", ".join(f"{_go_string(k)}:{_go_string(labels[k])}" for k in sorted(labels))
        labels_text = "map[string]string{" + pairs + "}"
    expressions = selector.get("matchExpressions")
    if expressions is None:
        expressions_text = "[]v1.LabelSelectorRequirement(nil)"
    else:
        items = ", ".join(
            "v1.LabelSelectorRequirement{"
            f"Key:{_go_string(e.get('key', ''))}, Operator:{_go_string(e.get('operator', ''))}, "
            f"Values:{_go_strings(e.get('values'))}}}"
            for e in expressions
        )
        expressions_text = "[]v1.LabelSelectorRequirement{" + items + "}"
    return f"v1.LabelSelector{{MatchLabels:{labels_text}, MatchExpressions:{expressions_text}}}"


def _go_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return _go_string(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    # The real server prints the Go struct (%#v); kubesim prints the JSON of it.
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _immutable(causes, field: str, new: Any, old: Any, printed: str | None = None) -> None:
    if new != old:
        causes.add(
            "FieldValueInvalid",
            field,
            f"Invalid value: {printed if printed is not None else _go_value(new)}: {IMMUTABLE}",
        )


def _diff(old: dict, new: dict) -> str:
    """Which top-level spec fields differ (the real server appends a cmp.Diff of Go structs)."""
    lines = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            if key in old:
                lines.append(f"-\t{key}: {_go_value(old[key])}")
            if key in new:
                lines.append(f"+\t{key}: {_go_value(new[key])}")
    return "\n".join(lines)


# ----- metadata ------------------------------------------------------------------------


def check_metadata(obj: dict, old: dict, causes) -> None:
    """ValidateObjectMetaUpdate: name, namespace and uid never change.

    A PUT with another name or namespace is refused earlier (400, checkName), a PUT with
    another uid fails its uid precondition (409); a PATCH that rewrites metadata.uid
    reaches this check.
    """
    meta, old_meta = obj.get("metadata") or {}, old.get("metadata") or {}
    for key in ("name", "namespace", "uid"):
        if key in old_meta:
            _immutable(causes, f"metadata.{key}", meta.get(key), old_meta.get(key))


# ----- workloads -----------------------------------------------------------------------


def _selector_immutable(obj: dict, old: dict, causes) -> None:
    new_sel = (obj.get("spec") or {}).get("selector")
    old_sel = (old.get("spec") or {}).get("selector")
    if new_sel != old_sel:
        _immutable(causes, "spec.selector", new_sel, old_sel, go_label_selector(new_sel))


def check_deployment_like(obj: dict, old: dict, causes, version: str) -> None:
    # apps/v1 Deployment, ReplicaSet and DaemonSet strategies: spec.selector is immutable.
    _selector_immutable(obj, old, causes)


# StatefulSet fields an update may change (ValidateStatefulSetUpdate copies these from
# the old object, then compares the rest of the spec).
_STATEFULSET_MUTABLE = (
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
)


def _statefulset_mutable(version: str) -> tuple[str, ...]:
    # revisionHistoryLimit became mutable in 1.33 (kubernetes/kubernetes#130263).
    if version_at_least(version, 33):
        return (*_STATEFULSET_MUTABLE, "revisionHistoryLimit")
    return _STATEFULSET_MUTABLE


def statefulset_forbidden_message(version: str) -> str:
    fields = ["replicas", "ordinals", "template", "updateStrategy"]
    if version_at_least(version, 33):
        fields.append("revisionHistoryLimit")
    fields.append("persistentVolumeClaimRetentionPolicy")
    quoted = ", ".join(f"'{f}'" for f in fields)
    return (
        f"Forbidden: updates to statefulset spec for fields other than {quoted} and "
        "'minReadySeconds' are forbidden"
    )


def check_statefulset(obj: dict, old: dict, causes, version: str) -> None:
    mutable = _statefulset_mutable(version)
    spec = {k: v for k, v in (obj.get("spec") or {}).items() if k not in mutable}
    old_spec = {k: v for k, v in (old.get("spec") or {}).items() if k not in mutable}
    if spec != old_spec:
        causes.add("FieldValueForbidden", "spec", statefulset_forbidden_message(version))


def check_job(obj: dict, old: dict, causes, version: str) -> None:
    # ValidateJobSpecUpdate: selector and template (and the modes below) are immutable.
    spec, old_spec = obj.get("spec") or {}, old.get("spec") or {}
    _selector_immutable(obj, old, causes)
    if spec.get("template") != old_spec.get("template"):
        _immutable(causes, "spec.template", spec.get("template"), old_spec.get("template"))
    for key in ("completionMode", "podFailurePolicy", "backoffLimitPerIndex", "managedBy"):
        if spec.get(key) != old_spec.get(key):
            _immutable(causes, f"spec.{key}", spec.get(key), old_spec.get(key))


# ----- pods ----------------------------------------------------------------------------

POD_UPDATABLE = (
    "`spec.containers[*].image`",
    "`spec.initContainers[*].image`",
    "`spec.activeDeadlineSeconds`",
    "`spec.tolerations` (only additions to existing tolerations)",
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
)


def check_pod(obj: dict, old: dict, causes, version: str) -> None:
    """ValidatePodUpdate: images, activeDeadlineSeconds, added tolerations, removed gates."""
    spec, old_spec = obj.get("spec") or {}, old.get("spec") or {}
    if spec == old_spec:
        return
    for list_name in ("containers", "initContainers"):
        new_list, old_list = spec.get(list_name) or [], old_spec.get(list_name) or []
        if len(new_list) != len(old_list):
            causes.add(
                "FieldValueForbidden",
                f"spec.{list_name}",
                "Forbidden: pod updates may not add or remove containers",
            )
            return
        for i, c in enumerate(new_list):
            if not c.get("image"):
                causes.required(f"spec.{list_name}[{i}].image")
    if not _check_active_deadline(spec, old_spec, causes):
        return
    _check_added_tolerations(spec, old_spec, causes)
    _check_deleted_gates(spec, old_spec, causes)
    munged = _munge_pod_spec(spec, old_spec)
    if munged != old_spec:
        causes.add(
            "FieldValueForbidden",
            "spec",
            "Forbidden: pod updates may not change fields other than "
            + ",".join(POD_UPDATABLE)
            + "\n"
            + _diff(old_spec, munged),
        )


def _check_active_deadline(spec: dict, old_spec: dict, causes) -> bool:
    new, old = spec.get("activeDeadlineSeconds"), old_spec.get("activeDeadlineSeconds")
    field = "spec.activeDeadlineSeconds"
    if new is not None:
        if not 0 <= new <= 2**31 - 1:
            causes.invalid(field, new, "must be between 0 and 2147483647, inclusive")
            return False
        if old is not None and old < new:
            causes.invalid(field, new, "must be less than or equal to previous value")
            return False
    elif old is not None:
        causes.add(
            "FieldValueInvalid",
            field,
            "Invalid value: null: must not update from a positive integer to nil value",
        )
    return True


def _check_added_tolerations(spec: dict, old_spec: dict, causes) -> None:
    new = spec.get("tolerations") or []
    for old in old_spec.get("tolerations") or []:
        # tolerationSeconds may change; anything else about an existing toleration may not
        if not any(
            {**old, "tolerationSeconds": t.get("tolerationSeconds")}
            == {**t, "tolerationSeconds": t.get("tolerationSeconds")}
            for t in new
        ):
            causes.add(
                "FieldValueForbidden",
                "spec.tolerations",
                "Forbidden: existing toleration can not be modified except its tolerationSeconds",
            )
            return


def _check_deleted_gates(spec: dict, old_spec: dict, causes) -> None:
    old_names = {g.get("name") for g in old_spec.get("schedulingGates") or []}
    for i, gate in enumerate(spec.get("schedulingGates") or []):
        if gate.get("name") not in old_names:
            causes.add(
                "FieldValueForbidden",
                f"spec.schedulingGates[{i}].name",
                "Forbidden: only deletion is allowed, but found new scheduling gate "
                f"'{gate.get('name')}'",
            )


def _munge_pod_spec(spec: dict, old_spec: dict) -> dict:
    """The new spec with every field an update may change set back to its old value."""
    munged = dict(spec)
    for list_name in ("containers", "initContainers"):
        if list_name in munged:
            olds = old_spec.get(list_name) or []
            munged[list_name] = [
                {**c, "image": olds[i].get("image")} if "image" in olds[i] else c
                for i, c in enumerate(munged[list_name])
            ]
    for key in ("activeDeadlineSeconds", "tolerations", "schedulingGates"):
        munged.pop(key, None)
        if key in old_spec:
            munged[key] = old_spec[key]
    old_grace = old_spec.get("terminationGracePeriodSeconds")
    if old_grace is not None and old_grace < 0 and spec.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    if old_spec.get("schedulingGates"):
        # a gated pod may gain nodeSelector entries (mutable scheduling directives)
        old_selector = old_spec.get("nodeSelector") or {}
        new_selector = spec.get("nodeSelector") or {}
        if all(new_selector.get(k) == v for k, v in old_selector.items()):
            munged.pop("nodeSelector", None)
            if "nodeSelector" in old_spec:
                munged["nodeSelector"] = old_spec["nodeSelector"]
    return munged


# ----- services, config, claims --------------------------------------------------------


def check_service(obj: dict, old: dict, causes, version: str) -> None:
    # ValidateServiceUpdate: a set clusterIP stays (an empty one was refilled from the old
    # object before validation, as the service REST storage does).
    spec, old_spec = obj.get("spec") or {}, old.get("spec") or {}
    if "ExternalName" in (spec.get("type"), old_spec.get("type")):
        return
    if old_spec.get("clusterIP"):
        _immutable(causes, "spec.clusterIP", spec.get("clusterIP"), old_spec.get("clusterIP"))


def check_secret(obj: dict, old: dict, causes, version: str) -> None:
    """ValidateSecretUpdate: the type never changes; the data neither once immutable."""
    _immutable(causes, "type", obj.get("type"), old.get("type"))
    check_immutable_data(obj, old, causes, version)


def check_immutable_data(obj: dict, old: dict, causes, version: str) -> None:
    """ValidateConfigMapUpdate / ValidateSecretUpdate with `immutable: true`."""
    if not old.get("immutable"):
        return
    why = "Forbidden: field is immutable when `immutable` is set"
    if not obj.get("immutable"):
        causes.add("FieldValueForbidden", "immutable", why)
    for key in ("data", "binaryData"):
        if (obj.get(key) or {}) != (old.get(key) or {}):
            causes.add("FieldValueForbidden", key, why)


def _storage(spec: dict) -> str | None:
    return ((spec.get("resources") or {}).get("requests") or {}).get("storage")


def storage_quantity(spec: dict):
    """A claim's requested storage as a number, or None."""
    return _quantity(_storage(spec))


def _quantity(value: str | None):
    try:
        return parse_quantity(value) if value is not None else None
    except QuantityError:
        return None


def check_pvc(obj: dict, old: dict, causes, version: str) -> None:
    """ValidatePersistentVolumeClaimUpdate: only a bound claim's requests may change."""
    spec, old_spec = dict(obj.get("spec") or {}), dict(old.get("spec") or {})
    bound = ((obj.get("status") or old.get("status")) or {}).get("phase") == "Bound"
    if not old_spec.get("volumeName"):
        old_spec.pop("volumeName", None)  # the binder sets volumeName once
        spec.pop("volumeName", None)
    if old_spec.get("storageClassName") is None and "storageClassName" not in old_spec:
        spec.pop("storageClassName", None)  # a nil class may be set once
    new_size, old_size = _storage(spec), _storage(old_spec)
    if bound and _quantity(new_size) is not None:
        spec["resources"] = _with_storage(spec.get("resources"), old_size)
    if _canonical_requests(spec) != _canonical_requests(old_spec):
        what = "resources.requests"
        if version_at_least(version, 34):
            what += " and volumeAttributesClassName"
        causes.add(
            "FieldValueForbidden",
            "spec",
            f"Forbidden: spec is immutable after creation except {what} for bound claims\n"
            + _diff(old_spec, spec),
        )
    new_q, old_q = _quantity(new_size), _quantity(old_size)
    if new_q is not None and old_q is not None and new_q < old_q:
        field = "spec.resources.requests.storage"
        if version_at_least(version, 32):
            # RecoverVolumeExpansionFailure (beta, on since 1.32): a request may drop back
            # towards status.capacity after a failed expansion, never to it or below.
            capacity = _quantity(((old.get("status") or {}).get("capacity") or {}).get("storage"))
            if capacity is None or new_q <= capacity:
                causes.add(
                    "FieldValueForbidden",
                    field,
                    "Forbidden: field can not be less than status.capacity",
                )
        else:
            causes.add(
                "FieldValueForbidden", field, "Forbidden: field can not be less than previous value"
            )


def _with_storage(resources: dict | None, storage: str | None) -> dict:
    resources = dict(resources or {})
    requests = dict(resources.get("requests") or {})
    if storage is None:
        requests.pop("storage", None)
    else:
        requests["storage"] = storage
    resources["requests"] = requests
    return resources


def _canonical_requests(spec: dict) -> dict:
    """Quantities compare by value (apiequality.Semantic): 1Gi equals 1024Mi."""
    resources = spec.get("resources")
    if not isinstance(resources, dict):
        return spec
    canonical = {}
    for part in ("requests", "limits"):
        if isinstance(resources.get(part), dict):
            canonical[part] = {k: _quantity(v) or v for k, v in resources[part].items()}
    return {**spec, "resources": {**resources, **canonical}}


UPDATE_CHECKS = {
    "pods": check_pod,
    "services": check_service,
    "configmaps": check_immutable_data,
    "secrets": check_secret,
    "persistentvolumeclaims": check_pvc,
    "deployments.apps": check_deployment_like,
    "replicasets.apps": check_deployment_like,
    "daemonsets.apps": check_deployment_like,
    "statefulsets.apps": check_statefulset,
    "jobs.batch": check_job,
}


def check_update(rt_key: str, obj: dict, old: dict, causes, version: str) -> None:
    """All immutable-field causes of updating `old` to `obj`."""
    check_metadata(obj, old, causes)
    checker = UPDATE_CHECKS.get(rt_key)
    if checker:
        checker(obj, old, causes, version)
