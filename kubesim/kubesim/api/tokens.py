"""ServiceAccount tokens: signed, so any kubesim holding the key can check them.

Tokens are JWTs (HS256) like the real bound tokens' shape, with the claims
kube-apiserver puts there (`sub`, `kubernetes.io.namespace`, the service
account's name and uid, the bound pod's). Nothing about a token is stored:
verifying needs only the signing key, kept in the state dir, so tokens stay
valid across a restart with the same `--state-dir`. What the real
authenticator also checks lives with the caller (`authn`): the service
account (and bound pod) still exist with the uid in the token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

ISSUER = "https://kubernetes.default.svc.cluster.local"
KEY_FILE = "sa-signing.key"
_HEADER = {"alg": "HS256", "typ": "JWT"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_signing_key(state_dir: str | Path) -> bytes:
    """The key in `state_dir`, made on first use (kept across restarts)."""
    path = Path(state_dir) / KEY_FILE
    if path.exists():
        return path.read_bytes()
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


def service_account_username(namespace: str, name: str) -> str:
    return f"system:serviceaccount:{namespace}:{name}"


def service_account_groups(namespace: str) -> list[str]:
    return ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"]


class TokenIssuer:
    """Mints and verifies ServiceAccount tokens with one HMAC key."""

    def __init__(self, key: bytes | None = None):
        self._key = key or secrets.token_bytes(32)
        self._verified: dict[str, dict[str, Any]] = {}  # token -> claims (bounded)

    def use_key(self, key: bytes) -> None:
        """Sign and verify with `key` from now on (the state dir's, once known)."""
        self._key = key
        self._verified.clear()

    def mint(
        self,
        namespace: str,
        name: str,
        uid: str,
        seconds: int,
        audiences: list[str] | None = None,
        pod: dict[str, str] | None = None,
    ) -> tuple[str, int]:
        """(token, expiry as epoch seconds)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "aud": audiences or [ISSUER],
            "exp": now + seconds,
            "iat": now,
            "nbf": now,
            "iss": ISSUER,
            "jti": secrets.token_hex(8),
            "sub": service_account_username(namespace, name),
            "kubernetes.io": {
                "namespace": namespace,
                "serviceaccount": {"name": name, "uid": uid},
            },
        }
        if pod:
            claims["kubernetes.io"]["pod"] = pod
        head = _b64(json.dumps(_HEADER, separators=(",", ":")).encode())
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{head}.{body}.{self._sign(head, body)}", claims["exp"]

    def _sign(self, head: str, body: str) -> str:
        return _b64(hmac.new(self._key, f"{head}.{body}".encode(), hashlib.sha256).digest())

    def claims(self, token: str) -> dict[str, Any] | None:
        """The claims of a token this key signed (expired ones included), else None."""
        cached = self._verified.get(token)
        if cached is not None:
            return cached
        parts = token.split(".")
        if len(parts) != 3:
            return None
        head, body, signature = parts
        if not hmac.compare_digest(signature, self._sign(head, body)):
            return None
        try:
            claims = json.loads(_unb64(body))
        except ValueError:
            return None
        if len(self._verified) > 10000:
            self._verified.clear()
        self._verified[token] = claims
        return claims
