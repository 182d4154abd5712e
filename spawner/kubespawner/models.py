"""kubernetes_asyncio model objects, for the hooks that promise them.

The spawner works on plain dicts (the API's JSON) everywhere. The exception
is ``modify_pod_hook``: the reference says it gets "the Pod object" and
returns it, and hooks written for the original KubeSpawner edit a ``V1Pod``
by attribute (``pod.spec.containers[0].env.append(...)``). These helpers
convert between the two forms without any API connection.
"""

from __future__ import annotations

from typing import Any

from kubernetes_asyncio import client as k8s_client


class _Codec(k8s_client.ApiClient):
    """The ApiClient's JSON <-> model conversion without its connection pool
    (a real ApiClient opens an aiohttp session that needs a running loop and
    closing; converting needs neither)."""

    def __init__(self):  # no super().__init__: that opens the session
        self.configuration = k8s_client.Configuration.get_default_copy()
        self.client_side_validation = self.configuration.client_side_validation

    def to_model(self, data: dict, kind: str):
        # the ApiClient's deserializer, minus its "parse a response" wrapper
        return self._ApiClient__deserialize(data, kind)


_codec: _Codec | None = None


def _get_codec() -> _Codec:
    global _codec
    if _codec is None:
        _codec = _Codec()
    return _codec


def to_model(data: dict, kind: str = "V1Pod"):
    """A manifest dict (camelCase JSON) as a kubernetes_asyncio model object."""
    return _get_codec().to_model(data, kind)


def to_dict(obj: Any) -> Any:
    """A model object (or a dict/list holding some) as the API's JSON."""
    return _get_codec().sanitize_for_serialization(obj)


def dropped_fields(original: Any, converted: Any, path: str = "") -> list[str]:
    """Paths (``spec.containers[0].foo``) set in ``original`` that a round trip
    through the models lost: fields this kubernetes_asyncio does not know."""
    lost: list[str] = []
    if isinstance(original, dict) and isinstance(converted, dict):
        for key, value in original.items():
            where = f"{path}.{key}" if path else str(key)
            if key not in converted:
                if value is not None:  # null means unset: nothing is lost
                    lost.append(where)
            else:
                lost.extend(dropped_fields(value, converted[key], where))
    elif isinstance(original, list) and isinstance(converted, list):
        for i, (a, b) in enumerate(zip(original, converted, strict=False)):
            lost.extend(dropped_fields(a, b, f"{path}[{i}]"))
    return lost


# Upstream KubeSpawner builds its V1Pod from models whose nested values stay
# the dicts they were given (``pod.spec.volumes[0].persistent_volume_claim``
# is ``{"claimName": ...}``, the pod's securityContext a dict), and code
# written for it subscripts them. A shape says how deep to make models: a
# dict maps a JSON field to the shape of its value (a model whose fields not
# named stay as they are), FULL makes a model all the way down.
FULL = "full"
_PREFERRED = "preferredDuringSchedulingIgnoredDuringExecution"
_REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"
_POD_AFFINITY = {_PREFERRED: {}, _REQUIRED: {}}
UPSTREAM_SHAPES = {
    "V1Pod": {
        "metadata": FULL,
        "spec": {
            "containers": {
                "ports": FULL,
                "resources": FULL,
                "volumeMounts": FULL,
                "env": {},
                "lifecycle": {},
            },
            "initContainers": {},
            "volumes": {},
            "tolerations": {},
            "imagePullSecrets": {},
            "affinity": {
                "nodeAffinity": {_PREFERRED: {}, _REQUIRED: {"nodeSelectorTerms": {}}},
                "podAffinity": _POD_AFFINITY,
                "podAntiAffinity": _POD_AFFINITY,
            },
        },
    },
    "V1PersistentVolumeClaim": {"metadata": FULL, "spec": {"resources": FULL}},
    # ownerReferences as given (upstream passes them through)
    "V1Service": {"metadata": {}, "spec": FULL},
    "V1Secret": {"metadata": {}},
}


def _shaped(data: Any, kind: str, shape) -> Any:
    if shape == FULL or not isinstance(data, dict):
        return to_model(data, kind)
    model_class = getattr(k8s_client, kind)
    fields = {}
    for attribute, json_name in model_class.attribute_map.items():
        if json_name not in data:
            continue
        value = data[json_name]
        if json_name in shape and value is not None:
            field_type = model_class.openapi_types[attribute]
            if field_type.startswith("list["):
                value = [_shaped(item, field_type[5:-1], shape[json_name]) for item in value]
            else:
                value = _shaped(value, field_type, shape[json_name])
        fields[attribute] = value
    return model_class(**fields)


def to_upstream_model(data: dict, kind: str):
    """A manifest as the model upstream KubeSpawner's ``get_*_manifest``
    returns: its nested values dicts where upstream leaves them dicts."""
    return _shaped(data, kind, UPSTREAM_SHAPES.get(kind, FULL))
