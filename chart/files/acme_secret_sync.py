"""Keep traefik's ACME storage (acme.json) in a Kubernetes Secret.

Runs in the autohttps pod, in the hub image (which has kubernetes_asyncio):

    python acme_secret_sync.py load  SECRET FILE   # init container: Secret -> file
    python acme_secret_sync.py watch SECRET FILE   # sidecar: file -> Secret on change

Without this, every restart of the pod would ask Let's Encrypt for new
certificates, and its rate limits would soon refuse.
"""

import asyncio
import base64
import os
import sys
from pathlib import Path

from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.rest import ApiException

KEY = "acme.json"
POLL_SECONDS = 5


def secret_body(name: str, content: bytes) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "type": "Opaque",
        "data": {KEY: base64.b64encode(content).decode()},
    }


async def read_secret(api: client.CoreV1Api, namespace: str, name: str) -> bytes | None:
    try:
        secret = await api.read_namespaced_secret(name, namespace)
    except ApiException as e:
        if e.status == 404:
            return None
        raise
    data = (secret.data or {}).get(KEY)
    return base64.b64decode(data) if data else None


async def write_secret(api: client.CoreV1Api, namespace: str, name: str, content: bytes) -> None:
    body = secret_body(name, content)
    try:
        await api.replace_namespaced_secret(name, namespace, body)
    except ApiException as e:
        if e.status != 404:
            raise
        await api.create_namespaced_secret(namespace, body)


async def load(api, namespace: str, name: str, path: Path) -> None:
    content = await read_secret(api, namespace, name)
    if content:
        path.write_bytes(content)
        path.chmod(0o600)  # traefik refuses an acme.json others can read
        print(f"restored {path} from Secret {name}", flush=True)
    else:
        print(f"no certificates in Secret {name} yet", flush=True)


async def watch(api, namespace: str, name: str, path: Path) -> None:
    synced = await read_secret(api, namespace, name)
    while True:
        if path.exists():
            content = path.read_bytes()
            if content and content != synced:
                await write_secret(api, namespace, name, content)
                synced = content
                print(f"saved {path} to Secret {name}", flush=True)
        await asyncio.sleep(POLL_SECONDS)


async def main(mode: str, name: str, path: str) -> None:
    config.load_incluster_config()
    namespace = os.environ["POD_NAMESPACE"]
    async with client.ApiClient() as api_client:
        api = client.CoreV1Api(api_client)
        await {"load": load, "watch": watch}[mode](api, namespace, name, Path(path))


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("load", "watch"):
        sys.exit(__doc__)
    asyncio.run(main(*sys.argv[1:]))
