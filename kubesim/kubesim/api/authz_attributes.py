"""What a request asks to do (the authorizer's attributes) and the 403 it gets.

`Attributes` mirrors k8s.io/apiserver's authorizer.AttributesRecord; the
message texts are those of apiserver's responsewriters.forbiddenMessage and
apierrors.NewForbidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kubesim.model.errors import ApiError

MASTERS = "system:masters"


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_master(self) -> bool:
        return MASTERS in self.groups


@dataclass(frozen=True)
class Attributes:
    verb: str
    resource_request: bool = True
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""  # non-resource requests


def forbidden_message(user: User, attrs: Attributes) -> str:
    if not attrs.resource_request:
        return f'User "{user.name}" cannot {attrs.verb} path "{attrs.path}"'
    resource = attrs.resource + (f"/{attrs.subresource}" if attrs.subresource else "")
    scope = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
    return (
        f'User "{user.name}" cannot {attrs.verb} resource "{resource}" '
        f'in API group "{attrs.api_group}" {scope}'
    )


def forbidden(user: User, attrs: Attributes, reason: str = "") -> ApiError:
    """403 as kube-apiserver answers a request its authorizer denied."""
    why = forbidden_message(user, attrs) + (f": {reason}" if reason else "")
    qualified = f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource
    if attrs.name:
        message = f'{qualified} "{attrs.name}" is forbidden: {why}'
    elif qualified:
        message = f"{qualified} is forbidden: {why}"
    else:
        message = f"forbidden: {why}"
    details: dict = {}
    if attrs.name:
        details["name"] = attrs.name
    if attrs.api_group:
        details["group"] = attrs.api_group
    if attrs.resource:
        details["kind"] = attrs.resource
    return ApiError(403, "Forbidden", message, details)
