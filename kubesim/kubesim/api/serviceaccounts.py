"""ServiceAccounts in pods: the admission check, and the token the kubelet mounts.

Admission (plugin/pkg/admission/serviceaccount): a pod names an account
(`default` when unset) that must exist, else 403 `error looking up service
account NS/NAME: serviceaccount "NAME" not found`. The kubelet's projected
token is a TokenRequest bound to the pod; kube-apiserver's
--service-account-extend-token-expiration (on by default) makes such tokens
valid for a year, which is what lets kubesim skip the kubelet's rotation.
"""

from __future__ import annotations

from kubesim.api.tokens import TokenIssuer
from kubesim.model import errors

KUBELET_TOKEN_SECONDS = 365 * 24 * 3600


def check_pod_service_account(store, pod: dict, namespace: str | None) -> None:
    spec = pod.get("spec") or {}
    name = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    ns = namespace or (pod.get("metadata") or {}).get("namespace") or ""
    if store.peek("namespaces", ns) is None:
        return  # NamespaceLifecycle admission runs first: the create answers 404
    if store.peek("serviceaccounts", name, ns) is None:
        raise errors.forbidden(
            store.resource("pods"),
            (pod.get("metadata") or {}).get("name") or "",
            f'error looking up service account {ns}/{name}: serviceaccount "{name}" not found',
        )


class MissingServiceAccount(Exception):
    """The pod's account is gone: the kubelet cannot get a token (FailedMount)."""


def pod_token(store, issuer: TokenIssuer, pod: dict) -> str:
    """A token for the pod's ServiceAccount, bound to the pod."""
    meta = pod["metadata"]
    ns = meta.get("namespace", "")
    name = (pod.get("spec") or {}).get("serviceAccountName") or "default"
    account = store.peek("serviceaccounts", name, ns)
    if account is None:
        raise MissingServiceAccount(f'serviceaccounts "{name}" not found')
    token, _ = issuer.mint(
        ns,
        name,
        account["metadata"]["uid"],
        KUBELET_TOKEN_SECONDS,
        pod={"name": meta["name"], "uid": meta["uid"]},
    )
    return token


def automounts(store, pod: dict) -> bool:
    """The ServiceAccount's automountServiceAccountToken (a pod's own value wins)."""
    name = (pod.get("spec") or {}).get("serviceAccountName") or "default"
    account = store.peek("serviceaccounts", name, pod["metadata"].get("namespace", ""))
    return (account or {}).get("automountServiceAccountToken") is not False
