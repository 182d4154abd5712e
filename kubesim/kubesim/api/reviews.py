"""The review APIs: "may I?" (authorization.k8s.io) and "who am I?"
(authentication.k8s.io). They store nothing; the answer is the request's
body with a `status` (pkg/registry/authorization/*, pkg/registry/authentication/*).
"""

from __future__ import annotations

from typing import Any

from kubesim.api.authz_attributes import Attributes, User
from kubesim.model import errors
from kubesim.model.errors import ApiError

Obj = dict[str, Any]


def attributes_of(spec: Obj) -> Attributes:
    resource = spec.get("resourceAttributes")
    if resource is not None:
        return Attributes(
            resource.get("verb", ""),
            api_group=resource.get("group", ""),
            api_version=resource.get("version", ""),
            resource=resource.get("resource", ""),
            subresource=resource.get("subresource", ""),
            namespace=resource.get("namespace", ""),
            name=resource.get("name", ""),
        )
    other = spec.get("nonResourceAttributes") or {}
    return Attributes(other.get("verb", ""), resource_request=False, path=other.get("path", ""))


def _require_attributes(rt, spec: Obj) -> None:
    # the real validation: exactly one of the two attribute kinds
    if ("resourceAttributes" in spec) == ("nonResourceAttributes" in spec):
        raise errors.invalid(
            rt,
            "",
            [
                {
                    "reason": "FieldValueRequired",
                    "message": "Required value: exactly one of nonResourceAttributes or "
                    "resourceAttributes must be specified",
                    "field": "spec.resourceAttributes",
                }
            ],
        )


def _decide(authorizer, user: User, attrs: Attributes) -> Obj:
    if user.is_master:
        return {"allowed": True, "reason": ""}
    allowed, reason = authorizer.authorize(user, attrs)
    status: Obj = {"allowed": allowed}
    if reason:
        status["reason"] = reason
    return status


def _answer(rt, body: Obj, status: Obj, namespace: str | None = None) -> Obj:
    meta: Obj = {"creationTimestamp": None}
    if namespace:
        meta["namespace"] = namespace
    return {
        "kind": rt.kind,
        "apiVersion": rt.api_version,
        "metadata": meta,
        "spec": body.get("spec") or {},
        "status": status,
    }


def review(rt, body: Obj, user: User, namespace: str | None, authn, authorizer) -> Obj:
    """The answer to a POSTed review of type `rt` from `user`."""
    spec = body.get("spec") or {}
    if rt.plural == "selfsubjectaccessreviews":
        _require_attributes(rt, spec)
        return _answer(rt, body, _decide(authorizer, user, attributes_of(spec)))
    if rt.plural in ("subjectaccessreviews", "localsubjectaccessreviews"):
        _require_attributes(rt, spec)
        attrs = attributes_of(spec)
        if namespace and attrs.namespace != namespace:
            raise errors.bad_request(
                f"spec.resourceAttributes.namespace must match namespace: {namespace}"
            )
        subject = User(spec.get("user", ""), tuple(spec.get("groups") or ()), spec.get("uid", ""))
        return _answer(rt, body, _decide(authorizer, subject, attrs), namespace)
    if rt.plural == "selfsubjectrulesreviews":
        ns = spec.get("namespace", "")
        if user.is_master:
            rules = [
                {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
                {"verbs": ["*"], "nonResourceURLs": ["*"]},
            ]
            errs: list[str] = []
        else:
            found, errs = authorizer.rules_for(user, ns)
            rules = [r.as_review_rule() for r in found]
        status: Obj = {
            "resourceRules": [r for r in rules if "nonResourceURLs" not in r],
            "nonResourceRules": [r for r in rules if "nonResourceURLs" in r],
            "incomplete": False,
        }
        if errs:
            status["evaluationError"] = "; ".join(errs)
        return _answer(rt, body, status)
    if rt.plural == "tokenreviews":
        found = authn.service_account_user(spec.get("token", ""))
        if found is None:
            return _answer(rt, body, {"authenticated": False, "user": {}})
        return _answer(rt, body, {"authenticated": True, "user": user_info(found)})
    if rt.plural == "selfsubjectreviews":
        return _answer(rt, body, {"userInfo": user_info(user)})
    raise ApiError(405, "MethodNotAllowed", "the server does not allow this method")


def user_info(user: User) -> Obj:
    info: Obj = {"username": user.name, "groups": list(user.groups)}
    if user.uid:
        info["uid"] = user.uid
    return info
