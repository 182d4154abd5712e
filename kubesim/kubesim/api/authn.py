"""Who a request is from: the admin token, a ServiceAccount token, impersonation.

- The kubeconfig's token is the cluster admin (group `system:masters`).
- A token this kubesim signed (`tokens.TokenIssuer`) is its ServiceAccount,
  as long as the account (and the pod it is bound to) still exists with the
  uid in the token, and it has not expired: kube-apiserver's bound-token
  checks. Otherwise 401.
- Without a token over plain HTTP (`require_token=False`), any request is the
  admin, like the old insecure port; over HTTPS it is 401.
- `Impersonate-User` / `Impersonate-Group` switch to that user when the
  requester may `impersonate` them (k8s.io/apiserver's WithImpersonation).
"""

from __future__ import annotations

import time

from kubesim.api.authz_attributes import MASTERS, Attributes, User, forbidden
from kubesim.api.tokens import TokenIssuer, service_account_groups
from kubesim.model.errors import ApiError

ADMIN_USER = "kubesim-admin"
AUTHENTICATED = "system:authenticated"
ADMIN = User(ADMIN_USER, (MASTERS, AUTHENTICATED))


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


class Authenticator:
    def __init__(self, store, issuer: TokenIssuer, admin_token: str, require_token: bool):
        self.store = store
        self.issuer = issuer
        self.admin_token = admin_token
        self.require_token = require_token
        self._accounts = store.resource("serviceaccounts")
        self._pods = store.resource("pods")

    def authenticate(self, authorization: str) -> User:
        token = authorization[7:] if authorization.startswith("Bearer ") else ""
        if token == self.admin_token:
            return ADMIN
        claims = self.issuer.claims(token) if token else None
        if claims is not None:
            return self._service_account(claims)
        if self.require_token:
            raise unauthorized()
        return ADMIN  # plain HTTP: no credentials needed (as before RBAC)

    def service_account_user(self, token: str) -> User | None:
        """The user of a ServiceAccount token, None when invalid (TokenReview)."""
        claims = self.issuer.claims(token)
        if claims is None:
            return None
        try:
            return self._service_account(claims)
        except ApiError:
            return None

    def _service_account(self, claims: dict) -> User:
        if claims.get("exp", 0) < time.time():
            raise unauthorized()
        info = claims.get("kubernetes.io") or {}
        ns = info.get("namespace", "")
        sa = info.get("serviceaccount") or {}
        found = self.store.peek(self._accounts, sa.get("name", ""), ns)
        if found is None or found["metadata"]["uid"] != sa.get("uid"):
            raise unauthorized()  # a deleted (or re-made) account's tokens are void
        pod = info.get("pod")
        if pod:
            bound = self.store.peek(self._pods, pod.get("name", ""), ns)
            if bound is None or bound["metadata"]["uid"] != pod.get("uid"):
                raise unauthorized()
        return User(claims["sub"], (*service_account_groups(ns), AUTHENTICATED), sa.get("uid", ""))

    def impersonate(self, user: User, headers, authorizer) -> User:
        """The user named by Impersonate-* headers, if `user` may act as them."""
        name = headers.get("Impersonate-User")
        groups = headers.getall("Impersonate-Group", []) if hasattr(headers, "getall") else []
        if not name:
            if groups:
                raise ApiError(
                    500, "InternalError", "requested impersonation of groups without a user"
                )
            return user
        checks = [
            Attributes("impersonate", api_group="", resource="groups", name=g) for g in groups
        ]
        parts = name.split(":")
        if len(parts) == 4 and name.startswith("system:serviceaccount:"):
            ns = parts[2]
            checks.append(
                Attributes("impersonate", resource="serviceaccounts", namespace=ns, name=parts[3])
            )
            groups = [*service_account_groups(ns), *groups]
        else:
            checks.append(Attributes("impersonate", resource="users", name=name))
        if not user.is_master:
            for attrs in checks:
                allowed, reason = authorizer.authorize(user, attrs)
                if not allowed:
                    raise forbidden(user, attrs, reason)
        if name != "system:anonymous" and AUTHENTICATED not in groups:
            groups = [*groups, AUTHENTICATED]
        return User(name, tuple(dict.fromkeys(groups)))
