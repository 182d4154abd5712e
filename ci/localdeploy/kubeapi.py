"""A very small synchronous Kubernetes REST client, enough to create the
rendered objects and look at them: discovery, create, get, replace, list,
delete. It reads the kubeconfig kubesim writes."""

import base64
import json
import ssl
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml


class ApiError(RuntimeError):
    def __init__(self, status: int, body: dict | str, what: str):
        self.status = status
        self.body = body
        self.reason = body.get("reason", "") if isinstance(body, dict) else ""
        message = body.get("message", body) if isinstance(body, dict) else body
        super().__init__(f"{what}: HTTP {status} {self.reason}: {message}")


@dataclass(frozen=True)
class Credentials:
    server: str
    token: str | None
    ca_pem: str | None
    client_cert_pem: str | None = None
    client_key_pem: str | None = None


def _data_or_file(entry: dict, key: str, base: Path) -> str | None:
    if entry.get(f"{key}-data"):
        return base64.b64decode(entry[f"{key}-data"]).decode()
    if entry.get(key):
        return (base / entry[key]).read_text()
    return None


def read_kubeconfig(path: Path) -> Credentials:
    config = yaml.safe_load(Path(path).read_text())
    context_name = config.get("current-context") or config["contexts"][0]["name"]
    context = next(c["context"] for c in config["contexts"] if c["name"] == context_name)
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
    user = next(
        (u["user"] for u in config.get("users", []) if u["name"] == context.get("user")), {}
    )
    base = Path(path).parent
    token = user.get("token")
    if not token and user.get("tokenFile"):
        token = (base / user["tokenFile"]).read_text().strip()
    return Credentials(
        server=cluster["server"].rstrip("/"),
        token=token,
        ca_pem=_data_or_file(cluster, "certificate-authority", base),
        client_cert_pem=_data_or_file(user, "client-certificate", base),
        client_key_pem=_data_or_file(user, "client-key", base),
    )


def _ssl_context(creds: Credentials) -> ssl.SSLContext | None:
    if not creds.server.startswith("https://"):
        return None
    ctx = (
        ssl.create_default_context(cadata=creds.ca_pem)
        if creds.ca_pem
        else ssl.create_default_context()
    )
    if creds.client_cert_pem and creds.client_key_pem:
        # ssl only loads client certificates from files
        with tempfile.TemporaryDirectory() as tmp:
            cert, key = Path(tmp, "cert.pem"), Path(tmp, "key.pem")
            cert.write_text(creds.client_cert_pem)
            key.write_text(creds.client_key_pem)
            ctx.load_cert_chain(cert, key)
    return ctx


@dataclass(frozen=True)
class Resource:
    api_version: str
    kind: str
    plural: str
    namespaced: bool

    def collection(self, namespace: str | None) -> str:
        prefix = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        if self.namespaced:
            return f"{prefix}/namespaces/{namespace}/{self.plural}"
        return f"{prefix}/{self.plural}"


class KubeClient:
    def __init__(self, creds: Credentials, timeout: float = 30):
        self.creds = creds
        self.timeout = timeout
        self._ssl = _ssl_context(creds)
        self._resources: dict[tuple[str, str], Resource] | None = None

    @classmethod
    def from_kubeconfig(cls, path: Path) -> "KubeClient":
        return cls(read_kubeconfig(path))

    def request(self, method: str, path: str, body: dict | None = None, what: str = "") -> dict:
        return json.loads(self._send(method, path, body, what) or b"{}")

    def request_text(self, method: str, path: str, what: str = "") -> str:
        """A plain-text answer (e.g. pods/log)."""
        return self._send(method, path, None, what).decode(errors="replace")

    def _send(self, method: str, path: str, body: dict | None, what: str) -> bytes:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.creds.server + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.creds.token:
            req.add_header("Authorization", f"Bearer {self.creds.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=self._ssl) as resp:
                return resp.read()
        except urllib.error.HTTPError as err:
            raw = err.read().decode(errors="replace")
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = raw
            raise ApiError(err.code, parsed, what or f"{method} {path}") from None

    # --- discovery ---------------------------------------------------------
    def resources(self) -> dict[tuple[str, str], Resource]:
        """(apiVersion, kind) -> Resource for everything the server serves."""
        if self._resources is None:
            found = {}
            versions = ["v1"]
            for group in self.request("GET", "/apis").get("groups", []):
                versions += [v["groupVersion"] for v in group.get("versions", [])]
            for gv in versions:
                path = "/api/v1" if gv == "v1" else f"/apis/{gv}"
                for res in self.request("GET", path).get("resources", []):
                    if "/" in res["name"]:
                        continue  # subresource
                    found[(gv, res["kind"])] = Resource(
                        gv, res["kind"], res["name"], res["namespaced"]
                    )
            self._resources = found
        return self._resources

    def resource_for(self, obj: dict) -> Resource | None:
        return self.resources().get((obj["apiVersion"], obj["kind"]))

    # --- verbs ---------------------------------------------------------------
    def _resource(self, api_version: str, kind: str) -> Resource:
        res = self.resources().get((api_version, kind))
        if res is None:
            raise ApiError(404, f"the server does not serve {kind} in {api_version}", kind)
        return res

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict:
        res = self._resource(api_version, kind)
        return self.request("GET", f"{res.collection(namespace)}/{name}", what=f"get {kind} {name}")

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str = ""
    ) -> list[dict]:
        res = self._resource(api_version, kind)
        query = f"?labelSelector={urllib.parse.quote(label_selector)}" if label_selector else ""
        return self.request("GET", res.collection(namespace) + query).get("items", [])

    def create(self, obj: dict) -> dict:
        res = self._resource(obj["apiVersion"], obj["kind"])
        ns = obj["metadata"].get("namespace")
        return self.request("POST", res.collection(ns), obj, what=f"create {obj['kind']}")

    def replace(self, obj: dict) -> dict:
        res = self._resource(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        path = f"{res.collection(meta.get('namespace'))}/{meta['name']}"
        return self.request("PUT", path, obj, what=f"replace {obj['kind']} {meta['name']}")

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict:
        res = self._resource(api_version, kind)
        path = f"{res.collection(namespace)}/{name}"
        return self.request("DELETE", path, what=f"delete {kind} {name}")
