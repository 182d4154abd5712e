"""secret-sync: keep a file (traefik's ACME storage, acme.json) in a Kubernetes Secret.

traefik keeps the certificates it gets from Let's Encrypt in one file; the
autohttps pod's filesystem is thrown away with the pod, so without this
every restart would ask for new certificates (and hit the rate limits).

    secret-sync load  SECRET FILE [--key acme.json] [--namespace NS]
    secret-sync watch SECRET FILE [--key acme.json] [--interval 2] [--label K=V]
    secret-sync sync  SECRET FILE ...   (load, then watch; for a single container)

load: copies the Secret's key into the file (mode 0600, which traefik
insists on); a missing Secret or key leaves the file alone, so traefik starts
fresh. It runs as the autohttps pod's init container, before traefik starts.

watch: polls the file and writes every change to the Secret, creating
it when missing and leaving its other keys alone. For a key ending in
".json" only complete JSON is saved: traefik rewrites the file in place, so
a poll can catch it half-written. On SIGTERM it saves once more and exits.

Exit status: 0 done (or stopped), 1 the API server failed (load), 2 cannot work
(no permission, bad arguments).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import os
import signal
import sys
import tempfile
from pathlib import Path

import aiohttp
from kubernetes_asyncio.client import CoreV1Api
from kubernetes_asyncio.client.exceptions import ApiException

from .kube import default_namespace, make_api_client

log = logging.getLogger("secret-sync")


class CannotSync(Exception):
    """A problem retrying cannot fix (missing permission)."""


def refuse(e: ApiException, action: str, secret: str, namespace: str) -> CannotSync:
    return CannotSync(
        f"the API server refused ({e.status} {e.reason}) to {action} secret {secret}"
        f" in namespace {namespace}: grant get, update and create on secrets to this"
        " program's service account"
    )


def read_file(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def write_file(path: Path, content: bytes) -> None:
    """Replace the file in one step, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def worth_saving(content: bytes | None, key: str) -> bool:
    """Non-empty, and complete JSON when the key names a JSON file."""
    if not content:
        return False
    if key.endswith(".json"):
        try:
            json.loads(content)
        except ValueError:
            return False
    return True


class SecretFile:
    """One key of one Secret, read and written through the API."""

    def __init__(self, api, namespace: str, name: str, key: str, labels: dict[str, str]):
        self.core = CoreV1Api(api)
        self.namespace = namespace
        self.name = name
        self.key = key
        self.labels = labels

    async def read(self) -> bytes | None:
        try:
            secret = await self.core.read_namespaced_secret(self.name, self.namespace)
        except ApiException as e:
            if e.status == 404:
                return None
            if e.status in (401, 403):
                raise refuse(e, "get", self.name, self.namespace) from e
            raise
        encoded = (secret.data or {}).get(self.key)
        return None if encoded is None else base64.b64decode(encoded)

    async def write(self, content: bytes) -> None:
        """Set our key, keeping the Secret's others: read, then replace (or create).

        Only get, update and create are needed (create cannot be limited by
        name in RBAC; the others can). A conflicting change made between the
        read and the replace is read again and kept.
        """
        encoded = base64.b64encode(content).decode()
        for _ in range(5):
            try:
                secret = await self.core.read_namespaced_secret(self.name, self.namespace)
            except ApiException as e:
                if e.status in (401, 403):
                    raise refuse(e, "get", self.name, self.namespace) from e
                if e.status != 404:
                    raise
                if await self._create(encoded):
                    return
                continue  # created by someone else meanwhile: update theirs
            secret.data = {**(secret.data or {}), self.key: encoded}
            try:
                await self.core.replace_namespaced_secret(self.name, self.namespace, secret)
                return
            except ApiException as e:
                if e.status in (401, 403):
                    raise refuse(e, "update", self.name, self.namespace) from e
                if e.status not in (404, 409):
                    raise
        raise ApiException(status=409, reason=f"secret {self.name} kept changing under us")

    async def _create(self, encoded: str) -> bool:
        """Create the Secret; False if it already exists."""
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": self.name, "labels": self.labels},
            "type": "Opaque",
            "data": {self.key: encoded},
        }
        try:
            await self.core.create_namespaced_secret(self.namespace, body)
        except ApiException as e:
            if e.status in (401, 403):
                raise refuse(e, "create", self.name, self.namespace) from e
            if e.status == 409:
                return False
            raise
        return True


async def load(secret: SecretFile, path: Path) -> bytes | None:
    """Secret -> file; returns what the Secret held (None: nothing stored yet)."""
    content = await secret.read()
    if content is None:
        log.info("secret %s has no key %s yet; leaving %s as it is", secret.name, secret.key, path)
        return None
    write_file(path, content)
    log.info("loaded %s from secret %s (%d bytes)", path, secret.name, len(content))
    return content


async def watch_save(
    secret: SecretFile, path: Path, interval: float, stop: asyncio.Event, saved: bytes | None
) -> None:
    """File -> Secret on every change, until `stop` is set (then one last save)."""
    transient = (ApiException, aiohttp.ClientError, OSError, asyncio.TimeoutError)
    if saved is None:
        try:
            saved = await secret.read()
        except transient as e:
            log.warning("cannot read secret %s yet (%s)", secret.name, e)
    while True:
        stopping = stop.is_set()
        content = read_file(path)
        if content != saved and worth_saving(content, secret.key):
            try:
                await secret.write(content)
            except transient as e:
                log.warning("saving to secret %s failed (%s); retrying", secret.name, e)
            else:
                saved = content
                log.info("saved %s to secret %s (%d bytes)", path, secret.name, len(content))
        if stopping:
            return
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except TimeoutError:
            pass


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="secret-sync", description="Keep a file (traefik's acme.json) in a Secret."
    )
    parser.add_argument("mode", choices=["load", "watch", "sync"])
    parser.add_argument("secret", help="name of the Secret")
    parser.add_argument("file", type=Path, help="the file to keep, e.g. /etc/acme/acme.json")
    parser.add_argument("--key", default="acme.json", help="key in the Secret")
    parser.add_argument("--namespace", default=None, help="default: $POD_NAMESPACE")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between looks")
    parser.add_argument(
        "--label",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="label for the Secret when this program creates it (repeatable)",
    )
    parser.add_argument("--kubeconfig", default=None, help="default: in-cluster credentials")
    args = parser.parse_args(argv)
    if args.interval <= 0:
        parser.error(f"--interval must be positive, not {args.interval}")
    labels = {}
    for item in args.label:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--label {item!r}: write it as KEY=VALUE")
        labels[key] = value
    args.labels = labels
    return args


async def run(args: argparse.Namespace, stop: asyncio.Event | None = None) -> int:
    """The program; `stop` ends watching (main sets it on SIGTERM/SIGINT)."""
    namespace = args.namespace or default_namespace()
    stop = stop or asyncio.Event()
    async with await make_api_client(args.kubeconfig) as api:
        secret = SecretFile(api, namespace, args.secret, args.key, args.labels)
        try:
            saved = None
            if args.mode in ("load", "sync"):
                saved = await load(secret, args.file)
            if args.mode in ("watch", "sync"):
                log.info("watching %s, saving changes to secret %s", args.file, args.secret)
                await watch_save(secret, args.file, args.interval, stop, saved)
        except CannotSync as e:
            log.error("%s", e)
            return 2
        except (TimeoutError, ApiException, aiohttp.ClientError, OSError) as e:
            log.error("cannot %s secret %s: %s", args.mode, args.secret, e)
            return 1
    return 0


async def run_until_signalled(args: argparse.Namespace) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return await run(args, stop)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    return asyncio.run(run_until_signalled(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
