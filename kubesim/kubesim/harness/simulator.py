"""`KubeSim`: the API server, the store and the simulated nodes in one object.

async with KubeSim(nodes=3, runtime="pause") as sim:
    sim.url, sim.kubeconfig_path, sim.token
    sim.store.peek("pods", "name", "ns")       # stored objects, for assertions
    sim.requests("create", "pods")              # request counters
    sim.faults.fail(verb="create", resource="pods", status=503, count=1)
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from aiohttp import web

from kubesim.api.admission import Admission
from kubesim.api.faults import Faults
from kubesim.api.persistence import ObjectJournal
from kubesim.api.server import ApiServer
from kubesim.api.serviceaccounts import automounts, pod_token
from kubesim.api.store import Store
from kubesim.api.tokens import TokenIssuer, load_signing_key
from kubesim.control.root_ca_publisher import RootCAPublisher
from kubesim.control.storage_protection import StorageProtection
from kubesim.control.workload_controllers import WorkloadControllers
from kubesim.harness.admin_api import AdminApi
from kubesim.harness.certificates import make_certificates
from kubesim.harness.kubeconfig import kubeconfig, write_kubeconfig

log = logging.getLogger("kubesim")


class KubeSim:
    """A running simulated cluster; use as `async with KubeSim(...) as sim`."""

    def __init__(
        self,
        nodes: int = 1,
        node_cpu: str | int | float = "4",
        node_memory: str = "16Gi",
        runtime: str = "pause",
        state_dir: str | Path | None = None,
        https: bool = False,
        version: str = "1.33",
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        kubeconfig_path: str | Path | None = None,
        delays: dict[str, float] | None = None,
        scheduler_names: tuple[str, ...] | list[str] = (),
        history_size: int = 20000,
        bookmark_interval: float = 60.0,
        validate: bool = True,
        require_token: bool | None = None,
        controllers: bool = True,
        persist: bool | None = None,
        **node_options: Any,
    ):
        if runtime not in ("pause", "process"):
            raise ValueError(f"runtime={runtime!r}: use 'pause' or 'process'")
        self.options = dict(
            nodes=nodes,
            node_cpu=node_cpu,
            node_memory=node_memory,
            runtime=runtime,
            delays=delays,
            scheduler_names=tuple(scheduler_names),
            **node_options,
        )
        self.version = version
        self.https = https
        self.host = host
        self.port = port
        self._token_given = token is not None
        self.token = token or secrets.token_urlsafe(32)
        # Like kube-apiserver's old insecure port, plain HTTP needs no credentials by
        # default: client-go (kubectl) never sends a bearer token over plain HTTP.
        self.require_token = https if require_token is None else require_token
        self._state_dir_arg = Path(state_dir) if state_dir else None
        # API objects persist in an explicit state folder (kubesim.api.persistence)
        self.persist = bool(state_dir) if persist is None else persist
        if self.persist and not state_dir:
            raise ValueError("persist=True needs a state_dir to keep the objects in")
        self.journal: ObjectJournal | None = None
        self.protection: StorageProtection | None = None
        self.root_ca: RootCAPublisher | None = None
        self._kubeconfig_arg = Path(kubeconfig_path) if kubeconfig_path else None
        self.store = Store(
            history_size=history_size, bookmark_interval=bookmark_interval, version=version
        )
        if validate:
            self.store.admit = Admission(version, store=self.store)
            # the StorageObjectInUseProtection plugin: kubesim.control.storage_protection runs beside it
            self.store.admit.storage_protection = True
        self.faults = Faults()
        self.nodes: Any = None  # kubesim.harness.node_simulator.NodeSimulator once started
        self.url = ""
        self.kubeconfig_path: Path | None = None
        self.ca_path: Path | None = None
        self.state_dir: Path | None = None
        self._tmp: str | None = None
        self._runner: web.AppRunner | None = None
        self._cutter: asyncio.Task | None = None
        self.controllers = WorkloadControllers(self.store) if controllers else None
        self.issuer = TokenIssuer()
        self.api = ApiServer(
            self.store,
            version,
            self.token if self.require_token else None,
            self.faults,
            log_reader=self.read_log,
            stream_opener=self.open_stream,
            admin=AdminApi(self),
            issuer=self.issuer,
        )

    # ----- lifecycle --------------------------------------------------------------

    async def start(self) -> KubeSim:
        if self._state_dir_arg:
            self.state_dir = self._state_dir_arg
            self.state_dir.mkdir(parents=True, exist_ok=True)
            if self.persist:
                self._restore_state()
        else:
            self._tmp = tempfile.mkdtemp(prefix="kubesim-")
            self.state_dir = Path(self._tmp)
        # ServiceAccount tokens stay valid across restarts with the same state dir
        self.issuer.use_key(load_signing_key(self.state_dir))
        ssl_context = None
        ca_pem = None
        if self.https:
            tls = make_certificates(self.state_dir / "pki")
            ssl_context = tls.server_context()
            self.ca_path = tls.ca_cert
            ca_pem = tls.ca_cert.read_bytes()
        self._runner = web.AppRunner(
            self.api.make_app(), access_log=None, shutdown_timeout=1.0, handler_cancellation=True
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=ssl_context)
        await site.start()
        port = self._runner.addresses[0][1]
        self.port = port
        self.url = f"{'https' if self.https else 'http'}://{self.host}:{port}"
        self.api.server_address = f"{self.host}:{port}"
        # kube-controller-manager's cluster-wide parts, always on
        self.protection = StorageProtection(self.store)
        self.protection.start()
        self.root_ca = RootCAPublisher(self.store, ca_pem.decode() if ca_pem else "")
        self.root_ca.start()
        self.nodes = await self._start_nodes()
        if self.controllers is not None:
            await self.controllers.start()
        self.kubeconfig_path = self._kubeconfig_arg or (self.state_dir / "kubeconfig")
        write_kubeconfig(self.kubeconfig_path, kubeconfig(self.url, self.token, ca_pem))
        log.info("kubesim serving %s (kubeconfig %s)", self.url, self.kubeconfig_path)
        return self

    def _restore_state(self) -> None:
        """Bring back the objects (and the token, unless one is given) of an earlier run."""
        token_file = self.state_dir / "token"
        if not self._token_given and token_file.exists():
            self.token = token_file.read_text().strip()
            self.api.token = self.token if self.require_token else None
        token_file.write_text(self.token)
        token_file.chmod(0o600)
        self.journal = ObjectJournal(self.store, self.state_dir / "objects")
        restored = self.journal.restore()
        if restored:
            log.info("kubesim: %d objects restored from %s", restored, self.state_dir)
        self.journal.start()

    async def _start_nodes(self):
        if not self.options["nodes"]:
            return None
        try:
            from kubesim.harness.node_simulator import NodeSimulator
        except ImportError:  # the node side is optional for API-only use
            log.warning("kubesim.harness.node_simulator is not available: running without nodes")
            return None
        opts = dict(self.options)
        # How pods reach this API server (in-cluster config: env, token, ca.crt).
        opts.setdefault(
            "api_access",
            {
                "host": self.host,
                "port": self.port,
                "token_for": lambda pod: pod_token(self.store, self.issuer, pod),
                "automount_for": lambda pod: automounts(self.store, pod),
                "ca.crt": self.ca_path.read_text() if self.ca_path else "",
            },
        )
        nodes = NodeSimulator(self.store, state_dir=self.state_dir, **opts)
        await nodes.start()
        return nodes

    async def stop(self) -> None:
        if self._cutter:
            self._cutter.cancel()
            self._cutter = None
        if self.journal is not None:
            # saved before the nodes stop: their pods come back as after a power cut
            await self.journal.stop()
            self.journal = None
        if self.controllers is not None:
            await self.controllers.stop()
        for part in (self.root_ca, self.protection):
            if part is not None:
                await part.stop()
        if self.nodes is not None:
            await self.nodes.stop()
            self.nodes = None
        self.store.cut_watches()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.store.close()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    async def __aenter__(self) -> KubeSim:
        try:
            return await self.start()
        except BaseException:
            await self.stop()
            raise

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    # ----- assertions and counters ------------------------------------------------

    def get(self, resource: str, name: str, namespace: str | None = None) -> dict | None:
        """The stored object (shared snapshot, do not mutate) or None."""
        return self.store.peek(resource, name, namespace)

    def objects(
        self,
        resource: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[dict]:
        return self.store.list(resource, namespace, label_selector, field_selector)[0]

    @property
    def counters(self) -> Counter:
        """Requests per (verb, resource); resource is the plural or "pods/log"."""
        return self.api.counters

    def requests(self, verb: str | None = None, resource: str | None = None) -> int:
        return sum(
            n
            for (v, r), n in self.api.counters.items()
            if (verb is None or v == verb) and (resource is None or r == resource)
        )

    def reset_counters(self) -> None:
        self.api.counters.clear()

    def open_stream(self, pod: dict, kind: str, options):
        """pods/exec and pods/attach: see kubesim.api.exec_attach."""
        if self.nodes is None:
            from kubesim.api.exec_attach import KubeletError

            raise KubeletError(f'container not found ("{options.container}")')
        return self.nodes.open_stream(pod, kind, options)

    async def read_log(
        self, namespace: str, pod: str, container: str | None = None, **options: Any
    ) -> str:
        """A container's log as `kubectl logs` shows it ("" without nodes)."""
        if self.nodes is None:
            return ""
        return await self.nodes.read_log(namespace, pod, container, **options)

    # ----- faults -----------------------------------------------------------------

    def cut_watches(self, resource: str | None = None) -> int:
        """Close the open watch streams now; returns how many were cut."""
        return self.store.cut_watches(resource)

    def cut_watches_every(self, seconds: float | None, resource: str | None = None) -> None:
        """Cut open watch streams every `seconds` (None stops)."""
        if self._cutter:
            self._cutter.cancel()
            self._cutter = None
        if seconds:
            self._cutter = asyncio.get_running_loop().create_task(self._cut_loop(seconds, resource))

    async def _cut_loop(self, seconds: float, resource: str | None) -> None:
        while True:
            await asyncio.sleep(seconds)
            self.store.cut_watches(resource)

    def expire_next_watches(self, count: int = 1) -> None:
        """The next `count` watch requests answer with an ERROR 410 Expired event."""
        self.store.expire_next_watches += count

    def stop_watch_history(self) -> None:
        """Keep no watch history: every resume from a resourceVersion gets 410."""
        self.store.stop_history()

    def resume_watch_history(self) -> None:
        self.store.resume_history()

    def pause_kubelet(self) -> None:
        """Kubelets stop reporting (no status updates, no deletions finish)."""
        if self.nodes is not None:
            self.nodes.pause_kubelet()

    def resume_kubelet(self) -> None:
        if self.nodes is not None:
            self.nodes.resume_kubelet()
