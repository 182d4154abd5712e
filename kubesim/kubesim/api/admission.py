"""What the API server does to a body before storing it: defaults, then validation.

Defaults are the ones clients observe (pod restartPolicy, dnsPolicy,
schedulerName, imagePullPolicy; service clusterIP and port protocol; ...).
Validation is the served version's OpenAPI schema (strict: unknown fields
are a 400 "strict decoding error", like kube-apiserver with
fieldValidation=Strict), then the name, label and annotation rules and the
required fields the schema cannot express (422 Invalid naming the field).
"""

from __future__ import annotations

import contextvars
import itertools
import random
import re
from typing import Any

from kubesim.api import immutable, podsecurity, schemas, warning_headers
from kubesim.api.defaults import apply_defaults, carry_server_defaults, fold_string_data
from kubesim.model import errors
from kubesim.model.errors import ApiError

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
    "an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
QUALIFIED_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
    "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)

# Per-request field validation level (Strict, Warn or Ignore), set by the HTTP layer
# from ?fieldValidation=; Warn and Ignore drop the unknown-field check.
FIELD_VALIDATION: contextvars.ContextVar[str] = contextvars.ContextVar(
    "field_validation", default="Strict"
)

# Set by the HTTP layer: API requests are checked against the OpenAPI schema. The
# node side's own writes (status, events) skip that walk; it is tested on its own and
# the schema walk dominates the cost of 10,000-pod benchmarks.
SCHEMA_CHECK: contextvars.ContextVar[bool] = contextvars.ContextVar("schema_check", default=False)

# Which name rule each resource's metadata.name follows.
NAME_RULES = {
    "namespaces": "label",
    "services": "dns1035",
    "clusterroles": "path",
    "clusterrolebindings": "path",
    "roles": "path",
    "rolebindings": "path",
}


class Cause(list):
    """Collects 422 causes while walking an object."""

    def add(self, reason: str, field: str, message: str) -> None:
        self.append({"reason": reason, "message": message, "field": field})

    def invalid(self, field: str, value: Any, why: str) -> None:
        self.add("FieldValueInvalid", field, f"Invalid value: {_go_repr(value)}: {why}")

    def required(self, field: str, why: str = "") -> None:
        self.add("FieldValueRequired", field, "Required value" + (f": {why}" if why else ""))


def _go_repr(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value + '"'
    return repr(value)


class Admission:
    """Callable installed as `store.admit`: defaults then validates, or raises ApiError."""

    def __init__(self, version: str = "1.33", strict: bool = True, store=None):
        self.version = version
        self.strict = strict
        self.store = store  # for admission that looks at other objects (default class)
        self._node_ports = itertools.count(30000)
        # Cluster IPs come from loopback (127.96.0.0/16), not 10.96.0.0/12 as on a
        # real cluster: a client here that follows a Service IP must never send
        # traffic off this machine, and kubesim's kube-proxy can serve loopback.
        # From a random start, as pod IPs (podnet): several simulators on one
        # machine must not hand the same Service IP to their kube-proxies.
        first = random.randrange(10, 0xFFFF - 10)
        self._cluster_ips = (
            f"127.96.{(i >> 8) & 255}.{i & 255}"
            for i in itertools.chain(range(first, 0xFFFF), range(10, first))
            if i & 255 not in (0, 255)
        )

    def __call__(self, rt, obj: dict, old: dict | None, operation: str) -> None:
        if operation == "CREATE":
            apply_defaults(rt, obj, self)
        elif operation == "UPDATE" and old is not None:
            carry_server_defaults(rt, obj, old)
        if rt.key == "secrets" and operation != "UPDATE_STATUS":
            fold_string_data(obj)
        if rt.key == "services" and operation != "UPDATE_STATUS":
            self._allocate_node_ports(obj, old)
        self.validate(rt, obj, old, operation)
        if operation in ("CREATE", "UPDATE"):
            self._pod_security(rt, obj, old, operation)
        if SCHEMA_CHECK.get() and (FIELD_VALIDATION.get() != "Strict" or not self.strict):
            validator = schemas.fast_validator(self.version, rt.kind, rt.api_version, True)
            if validator is not None:
                validator.prune(obj)  # unknown fields are dropped, as typed decoding does

    # ----- Pod Security admission (a validating plugin: after defaults and validation) ---

    def _pod_security(self, rt, obj: dict, old: dict | None, operation: str) -> None:
        if rt.key == "namespaces":
            self._namespace_policy(rt, obj, old)
            return
        if rt.key != "pods" and rt.key not in podsecurity.WORKLOADS:
            return
        meta = obj.get("metadata") or {}
        namespace = self.store.peek("namespaces", meta.get("namespace")) if self.store else None
        labels = ((namespace or {}).get("metadata") or {}).get("labels")
        if not podsecurity.has_policy_labels(labels):
            return  # no labels: privileged everywhere, the plugin's default
        policy, _ = podsecurity.parse_policy(labels)
        if rt.key == "pods":
            if old is not None and not podsecurity.significant_pod_update(obj, old):
                return
            spec = obj.get("spec") or {}
            violations = podsecurity.evaluate(policy.enforce.level, meta, spec)
            if violations:
                raise errors.forbidden(
                    rt, meta.get("name", ""), podsecurity.refusal(policy.enforce, violations)
                )
            template = (meta, spec)
        else:
            # workloads are never refused: warn (and audit) only, as the real plugin does
            template = podsecurity.pod_template(rt.key, obj)
            if template is None:
                return
            if old is not None and podsecurity.pod_template(rt.key, old) == template:
                return
        violations = podsecurity.evaluate(policy.warn.level, *template)
        if violations:
            warning_headers.warn(podsecurity.warning(policy.warn, violations))

    def _namespace_policy(self, rt, obj: dict, old: dict | None) -> None:
        name = obj["metadata"].get("name", "")
        labels = obj["metadata"].get("labels") or {}
        old_labels = ((old or {}).get("metadata") or {}).get("labels") or {}
        if old is not None and _policy_labels(labels) == _policy_labels(old_labels):
            return  # unchanged policy labels are never re-checked
        policy, causes = podsecurity.parse_policy(labels)
        if causes:
            raise errors.invalid(rt, name, causes)
        if old is None or self.store is None:
            return
        old_policy, _ = podsecurity.parse_policy(old_labels)
        if podsecurity.needs_pod_dry_run(old_policy, policy):
            pods, _ = self.store.list("pods", name)
            for text in podsecurity.existing_pod_warnings(name, policy.enforce, pods):
                warning_headers.warn(text)

    def _allocate_node_ports(self, obj: dict, old: dict | None) -> None:
        spec = obj.get("spec") or {}
        if spec.get("type") not in ("NodePort", "LoadBalancer"):
            return
        old_ports = {
            (p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
            for p in ((old or {}).get("spec") or {}).get("ports") or []
        }
        for port in spec.get("ports") or []:
            if not port.get("nodePort"):
                kept = old_ports.get((port.get("port"), port.get("protocol", "TCP")))
                port["nodePort"] = kept or next(self._node_ports)

    def default_storage_class(self) -> str | None:
        if self.store is None:
            return None
        for sc in self.store.list("storageclasses")[0]:
            annotations = sc["metadata"].get("annotations") or {}
            if annotations.get("storageclass.kubernetes.io/is-default-class") == "true":
                return sc["metadata"]["name"]
        return None

    # ----- validation -------------------------------------------------------------

    def validate(self, rt, obj: dict, old: dict | None, operation: str) -> None:
        if SCHEMA_CHECK.get():
            self._check_schema(rt, obj)
        causes = Cause()
        meta = obj.get("metadata") or {}
        name = meta.get("name", "")
        if operation == "CREATE":
            _check_name(rt, name, causes)
            if meta.get("generateName"):
                _check_name(
                    rt,
                    meta["generateName"].rstrip("-") or "a",
                    causes,
                    field="metadata.generateName",
                )
        _check_labels(meta.get("labels") or {}, causes)
        _check_annotations(meta.get("annotations") or {}, causes)
        checker = _KIND_CHECKS.get(rt.key)
        if checker:
            checker(obj, old, causes)
        if operation == "UPDATE" and old is not None:
            immutable.check_update(rt.key, obj, old, causes, self.version)
        if causes:
            raise errors.invalid(rt, name, causes)
        if operation == "UPDATE" and rt.key == "persistentvolumeclaims" and old is not None:
            self._check_pvc_resize(rt, obj, old)

    def _check_pvc_resize(self, rt, obj: dict, old: dict) -> None:
        """The PersistentVolumeClaimResize admission plugin (after validation, 403)."""
        new_size = immutable.storage_quantity(obj.get("spec") or {})
        old_size = immutable.storage_quantity(old.get("spec") or {})
        if new_size is None or old_size is None or new_size <= old_size:
            return
        name = obj["metadata"]["name"]
        if (old.get("status") or {}).get("phase") != "Bound":
            raise errors.forbidden(rt, name, "Only bound persistent volume claims can be expanded")
        class_name = (obj.get("spec") or {}).get("storageClassName")
        storage_class = (
            self.store.peek("storageclasses", class_name) if self.store and class_name else None
        )
        if not (storage_class or {}).get("allowVolumeExpansion"):
            raise errors.forbidden(
                rt,
                name,
                "only dynamically provisioned pvc can be resized and the storageclass that "
                "provisions the pvc must support resize",
            )

    def _check_schema(self, rt, obj: dict) -> None:
        strict = self.strict and FIELD_VALIDATION.get() == "Strict"
        validator = schemas.fast_validator(self.version, rt.kind, rt.api_version, strict)
        if validator is None:
            return
        error = validator.first_error(obj)
        if error is None:
            return
        field = _field_path(error.absolute_path)
        if error.validator == "additionalProperties":
            extra = sorted(set(error.instance) - set(error.schema.get("properties") or {}))
            unknown = ", ".join(f'unknown field "{field + "." if field else ""}{k}"' for k in extra)
            raise errors.bad_request(f"strict decoding error: {unknown}")
        if error.validator == "type":
            raise errors.bad_request(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                f"json: cannot unmarshal {_json_type(error.instance)} into field {field} of "
                f"type {_schema_type(error.schema)}"
            )
        causes = Cause()
        name = (obj.get("metadata") or {}).get("name", "")
        if error.validator == "required":
            missing = re.findall(r"'([^']+)' is a required property", error.message)
            for key in missing or ["?"]:
                causes.required(f"{field}.{key}" if field else key)
        elif error.validator == "enum":
            allowed = ", ".join(_go_repr(v) for v in error.validator_value if v is not None)
            causes.add(
                "FieldValueNotSupported",
                field,
                f"Unsupported value: {_go_repr(error.instance)}: supported values: {allowed}",
            )
        else:
            causes.invalid(field, error.instance, error.message)
        raise errors.invalid(rt, name, causes)


def _policy_labels(labels: dict) -> dict:
    return {k: v for k, v in labels.items() if k.startswith(podsecurity.LABEL_PREFIX)}


def _field_path(path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _schema_type(schema: dict) -> str:
    t = schema.get("type")
    if isinstance(t, list):
        t = [x for x in t if x != "null"]
        t = t[0] if t else "value"
    return {"array": "[]", "object": "map", "integer": "int32", "boolean": "bool"}.get(
        t, t or "value"
    )


def _check_name(rt, name: str, causes: Cause, field: str = "metadata.name") -> None:
    if not name:
        return
    rule = NAME_RULES.get(rt.key, "subdomain")
    if rule == "path":
        if name in (".", "..") or "/" in name or "%" in name:
            causes.invalid(field, name, "may not contain '/' or '%' and may not be '.' or '..'")
        return
    if rule == "label":
        if len(name) > 63:
            causes.invalid(field, name, "must be no more than 63 characters")
        elif not DNS1123_LABEL.match(name):
            causes.invalid(field, name, LABEL_MSG)
    elif rule == "dns1035":
        if len(name) > 63:
            causes.invalid(field, name, "must be no more than 63 characters")
        elif not DNS1035_LABEL.match(name):
            causes.invalid(field, name, DNS1035_MSG)
    else:
        if len(name) > 253:
            causes.invalid(field, name, "must be no more than 253 characters")
        elif not DNS1123_SUBDOMAIN.match(name):
            causes.invalid(field, name, SUBDOMAIN_MSG)


def _check_qualified_key(key: str, field: str, causes: Cause) -> None:
    prefix, slash, name = key.rpartition("/")
    if slash:
        if not prefix or len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix):
            causes.invalid(field, key, "prefix part " + SUBDOMAIN_MSG)
            return
    if not name:
        causes.invalid(field, key, "name part must be non-empty")
    elif len(name) > 63:
        causes.invalid(field, key, "name part must be no more than 63 characters")
    elif not QUALIFIED_NAME.match(name):
        causes.invalid(field, key, QUALIFIED_MSG)


def _check_labels(labels: dict, causes: Cause) -> None:
    for key, value in labels.items():
        _check_qualified_key(key, "metadata.labels", causes)
        if value is None:
            continue
        if len(value) > 63:
            causes.invalid("metadata.labels", value, "must be no more than 63 characters")
        elif not LABEL_VALUE.match(value):
            causes.invalid("metadata.labels", value, LABEL_VALUE_MSG)


def _check_annotations(annotations: dict, causes: Cause) -> None:
    total = 0
    for key, value in annotations.items():
        _check_qualified_key(key.lower(), "metadata.annotations", causes)
        total += len(key) + len(value or "")
    if total > 256 * 1024:
        causes.add(
            "FieldValueTooLong", "metadata.annotations", "Too long: must have at most 262144 bytes"
        )


# ----- kind-specific checks ---------------------------------------------------------


def _check_containers(spec: dict, causes: Cause) -> None:
    seen: set[str] = set()
    for list_name in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(list_name) or []):
            field = f"spec.{list_name}[{i}]"
            name = c.get("name", "")
            if not name:
                causes.required(f"{field}.name")
            elif not DNS1123_LABEL.match(name) or len(name) > 63:
                causes.invalid(f"{field}.name", name, LABEL_MSG)
            elif name in seen:
                causes.add("FieldValueDuplicate", f"{field}.name", f'Duplicate value: "{name}"')
            seen.add(name)
            if not c.get("image"):
                causes.required(f"{field}.image")
            for j, port in enumerate(c.get("ports") or []):
                number = port.get("containerPort")
                if isinstance(number, int) and not 0 < number < 65536:
                    causes.invalid(
                        f"{field}.ports[{j}].containerPort",
                        number,
                        "must be between 1 and 65535, inclusive",
                    )
            for j, env in enumerate(c.get("env") or []):
                if not env.get("name"):
                    causes.required(f"{field}.env[{j}].name")
    if not spec.get("containers"):
        causes.required("spec.containers")
    volume_names: set[str] = set()
    for i, v in enumerate(spec.get("volumes") or []):
        name = v.get("name", "")
        if name in volume_names:
            causes.add(
                "FieldValueDuplicate", f"spec.volumes[{i}].name", f'Duplicate value: "{name}"'
            )
        volume_names.add(name)
    for list_name in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(list_name) or []):
            for j, mount in enumerate(c.get("volumeMounts") or []):
                if mount.get("name") not in volume_names:
                    causes.add(
                        "FieldValueNotFound",
                        f"spec.{list_name}[{i}].volumeMounts[{j}].name",
                        f'Not found: "{mount.get("name")}"',
                    )


CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
CONFIG_KEY_MSG = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
    "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
)


def _check_config_keys(obj: dict, old: dict | None, causes: Cause) -> None:
    """ConfigMap and Secret keys (IsConfigMapKey): a volume writes each as a
    file name, so no "/" and no "." or ".." prefix."""
    for section in ("data", "binaryData", "stringData"):
        for key in obj.get(section) or {}:
            field = f"{section}[{key}]"
            if len(key) > 253:
                causes.invalid(field, key, "must be no more than 253 characters")
            if not CONFIG_KEY.match(key):
                causes.invalid(field, key, CONFIG_KEY_MSG)
            if key in (".", ".."):
                causes.invalid(field, key, f"must not be '{key}'")
            elif key.startswith(".."):
                causes.invalid(field, key, "must not start with '..'")


def _check_descending_path(value: str, field: str, causes: Cause) -> None:
    """validateLocalDescendingPath: relative, no '..' element."""
    if value.startswith("/"):
        causes.invalid(field, value, "must be a relative path")
    if ".." in value.split("/"):
        causes.invalid(field, value, "must not contain '..'")


def _check_volume_paths(spec: dict, causes: Cause, prefix: str = "spec") -> None:
    """Key-to-path items of Secret/ConfigMap volumes and containers' subPath."""
    for i, volume in enumerate(spec.get("volumes") or []):
        for kind in ("configMap", "secret"):
            for j, item in enumerate((volume.get(kind) or {}).get("items") or []):
                field = f"{prefix}.volumes[{i}].{kind}.items[{j}]"
                if not item.get("key"):
                    causes.required(f"{field}.key")
                path = item.get("path") or ""
                if not path:
                    causes.required(f"{field}.path")
                _check_descending_path(path, f"{field}.path", causes)
                if path.startswith("..") and not path.startswith("../"):
                    causes.invalid(f"{field}.path", path, "must not start with '..'")
    for list_name in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(list_name) or []):
            for j, mount in enumerate(c.get("volumeMounts") or []):
                if mount.get("subPath"):
                    field = f"{prefix}.{list_name}[{i}].volumeMounts[{j}].subPath"
                    _check_descending_path(mount["subPath"], field, causes)


def _check_enum(value: Any, field: str, allowed: tuple[str, ...], causes: Cause) -> None:
    if value is not None and value not in allowed:
        causes.add(
            "FieldValueNotSupported",
            field,
            f"Unsupported value: {_go_repr(value)}: supported values: "
            + ", ".join(_go_repr(a) for a in allowed),
        )


def _check_pod_enums(spec: dict, causes: Cause, prefix: str = "spec") -> None:
    _check_enum(
        spec.get("restartPolicy"),
        f"{prefix}.restartPolicy",
        ("Always", "OnFailure", "Never"),
        causes,
    )
    _check_enum(
        spec.get("dnsPolicy"),
        f"{prefix}.dnsPolicy",
        ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"),
        causes,
    )
    # kube-apiserver lists the supported values sorted (sets.List)
    _check_enum(
        (spec.get("securityContext") or {}).get("fsGroupChangePolicy"),
        f"{prefix}.securityContext.fsGroupChangePolicy",
        ("Always", "OnRootMismatch"),
        causes,
    )
    for list_name in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(list_name) or []):
            _check_enum(
                c.get("imagePullPolicy"),
                f"{prefix}.{list_name}[{i}].imagePullPolicy",
                ("Always", "IfNotPresent", "Never"),
                causes,
            )


def _check_pod(obj: dict, old: dict | None, causes: Cause) -> None:
    spec = obj.get("spec") or {}
    _check_containers(spec, causes)
    _check_volume_paths(spec, causes)
    _check_pod_enums(spec, causes)


def _check_service(obj: dict, old: dict | None, causes: Cause) -> None:
    spec = obj.get("spec") or {}
    _check_enum(
        spec.get("type"),
        "spec.type",
        ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort"),
        causes,
    )
    for i, port in enumerate(spec.get("ports") or []):
        number = port.get("port")
        if isinstance(number, int) and not 0 < number < 65536:
            causes.invalid(
                f"spec.ports[{i}].port", number, "must be between 1 and 65535, inclusive"
            )
        if len(spec.get("ports")) > 1 and not port.get("name"):
            causes.required(f"spec.ports[{i}].name")


def _check_pvc(obj: dict, old: dict | None, causes: Cause) -> None:
    spec = obj.get("spec") or {}
    if not spec.get("accessModes"):
        causes.required("spec.accessModes")
    if not ((spec.get("resources") or {}).get("requests") or {}).get("storage"):
        causes.required("spec.resources[storage]")


def _check_deployment_like(obj: dict, old: dict | None, causes: Cause) -> None:
    spec = obj.get("spec") or {}
    selector = spec.get("selector")
    if not selector:
        causes.required("spec.selector")
        return
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            causes.invalid(
                "spec.template.metadata.labels",
                labels,
                "`selector` does not match template `labels`",
            )
            break
    pod_spec = (spec.get("template") or {}).get("spec") or {}
    inner = Cause()
    _check_containers(pod_spec, inner)
    _check_volume_paths(pod_spec, inner)
    for cause in inner:
        cause["field"] = cause["field"].replace("spec.", "spec.template.spec.", 1)
        causes.append(cause)


_KIND_CHECKS = {
    "pods": _check_pod,
    "services": _check_service,
    "persistentvolumeclaims": _check_pvc,
    "configmaps": _check_config_keys,
    "secrets": _check_config_keys,
    "deployments.apps": _check_deployment_like,
    "statefulsets.apps": _check_deployment_like,
    "daemonsets.apps": _check_deployment_like,
    "replicasets.apps": _check_deployment_like,
}


__all__ = ["Admission", "ApiError", "apply_defaults"]
