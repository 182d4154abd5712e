"""JupyterHub Spawner that runs each user's server as a Kubernetes pod.

This module is the orchestration: it sends the manifests that
`KubeSpawnerConfig` builds to the API (through `retry`), follows the pod
through the shared reflectors, and reports to the hub. Configuration,
names and manifests live in `config`, `expansion` and `builders`.

API cost per server, in the steady state: one POST to start (plus the PVC
POST on a user's first spawn, or when the scheduler reports the claim
missing), one DELETE to stop, no reads -- the pod's progress, readiness, IP
and exit code all come from the shared watch.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import time
from typing import Any
from urllib.parse import urlparse

from jupyterhub.spawner import Spawner
from kubernetes_asyncio.client.exceptions import ApiException
from traitlets import Float, Int

from . import capacity, claimsize, models, podstatus
from ._version import __version__
from .builders import PORT_NAME, make_owner_reference
from .clients import ApiSettings, KubeAPI, shared_api
from .config import COMPONENT_LABEL, KubeSpawnerConfig
from .expansion import claim_belongs_to, legacy_pvc_names, render_name, template_fields
from .reflector import (
    EventReflector,
    PodReflector,
    ReflectorFailed,
    shared_reflector,
    stop_shared_reflectors,
)
from .retry import api_message, call_with_retries, describe_error
from .utils import maybe_await

NOTEBOOK_CONTAINER = "notebook"
DELETE_OPTIONS = {"apiVersion": "v1", "kind": "DeleteOptions"}


try:  # JupyterHub >= 6
    from jupyterhub.spawner import SpawnException
except ImportError:  # pragma: no cover - JupyterHub 5
    SpawnException = None


class SpawnFailed(Exception):
    """A start that cannot succeed; the message is shown to the user."""

    def __init__(self, message: str):
        super().__init__(message)
        # JupyterHub shows `jupyterhub_message` on the spawn-pending page
        self.jupyterhub_message = message


if SpawnException is not None:

    class CapacityUnavailable(SpawnFailed, SpawnException):
        """No node could take the server: the cluster is full, not the hub
        broken. JupyterHub counts a SpawnException as a failure, not an
        error, so these do not count towards consecutive_failure_limit (a
        login storm on a full cluster must not restart the hub)."""

        def __init__(self, message: str):
            SpawnException.__init__(self, message, reason="capacity", status_code=503)
            self.jupyterhub_message = message

        def __str__(self) -> str:
            return self.message

else:  # pragma: no cover

    class CapacityUnavailable(SpawnFailed):
        pass


class KubeSpawner(KubeSpawnerConfig, Spawner):
    """Implement a JupyterHub spawner to spawn pods in a Kubernetes cluster."""

    reflector_max_failures = Int(
        12,
        config=True,
        help="""
        Consecutive failures (with exponential backoff up to 30 s, about two
        to three minutes in all) after which a pod or event reflector gives
        up. The hub then logs a critical message and exits, so Kubernetes
        restarts it with a fresh cache instead of it serving stale pod state.
        """,
    )

    reflector_watch_timeout = Int(
        300,
        config=True,
        help="""
        Seconds a reflector's watch request stays open before the API
        server ends it and the reflector resumes from its last
        resourceVersion (no re-LIST).
        """,
    )

    event_cache_max_age = Float(
        3600,
        allow_none=True,
        config=True,
        help="""
        Seconds the hub keeps a Kubernetes event about a user's pod (by the
        event's last time; Kubernetes itself keeps events an hour). Events
        serve the progress messages and failure reasons of spawns in
        progress, so this needs to exceed only the longest spawn. Only
        events of the hub's users' pods are kept at all, whatever else runs
        in the namespace. None: no age limit.
        """,
    )

    event_cache_max_count = Int(
        10000,
        allow_none=True,
        config=True,
        help="""
        Most events the hub keeps (about 2 KB each); past it, the least
        recently updated go first. 10,000 covers a login storm of about a
        thousand users at once. None: no limit.
        """,
    )

    unschedulable_grace_period = Float(
        30,
        config=True,
        help="""
        Seconds a spawn waits while no node can run the pod before it fails
        with the scheduler's reason ("0/3 nodes are available: 3 Insufficient
        memory."). Long enough for a cluster autoscaler to react (it scans
        every 10 s); while it reports a scale-up (or Karpenter a nomination,
        or placeholder pods are being preempted for the pod) the spawn waits
        for capacity instead (see ``capacity_wait_timeout``). An
        autoscaler's NotTriggerScaleUp fails it at once. 0 fails as soon as
        the pod is unschedulable. Either failure is a capacity failure.
        """,
    )

    capacity_wait_timeout = Float(
        600,
        config=True,
        help="""
        Seconds a spawn may wait for capacity on top of ``start_timeout``:
        while its pod waits for a node that the cluster autoscaler
        (``TriggeredScaleUp``) or Karpenter (``Nominated``) is bringing up,
        or for user placeholders to be preempted, the clock of
        ``start_timeout`` stops (a progress message says so). If no node has
        come after this long, the spawn fails with the scheduler's reason.
        Spawns that fail for want of a node do not count towards
        ``consecutive_failure_limit``. To let the hub wait that long, the
        spawner reports ``start_timeout`` to the hub as ``start_timeout`` +
        this while a server starts. 0: no extra time.
        """,
    )

    poll_interval = Int(
        300,
        config=True,
        help="""
        Seconds between the hub's checks that a server still runs (JupyterHub's
        ``Spawner.poll_interval``, 30 there; its ``poll_jitter`` still applies).
        The hub learns of a stopped server from the pod watch instead: once a
        user's pod is deleted, is terminating or its notebook container
        exited, the spawner tells the hub within the watch's latency (about a
        second). So the poll is only a backstop, and 300 s is safe: poll()
        reads the same watch-fed cache, and a watch that cannot recover stops
        the hub (see ``reflector_max_failures``), so a slower poll misses
        nothing a faster one would see; what it catches is a stop the
        spawner did not pass on (a notification that failed). At 2,000
        servers it is 7 poll() calls a second instead of 67.
        ``c.KubeSpawner.poll_interval`` or ``c.Spawner.poll_interval`` set
        another value.
        """,
    )

    stop_timeout = Float(
        None,
        allow_none=True,
        config=True,
        help="""
        Seconds stop() waits for the pod to be gone after deleting it
        (default: delete_grace_period + start_timeout).
        """,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pod_uid: str | None = None
        self._start_finished: asyncio.Future | None = None
        self._start_began: float | None = None
        # set when start() begins: the hub may ask for progress() before that
        self._start_called = asyncio.Event()
        # progress messages of the spawner's own (capacity waits)
        self._notes: list[str] = []
        self._note_added: asyncio.Future | None = None
        # start_timeout as configured, while start() shows the hub a longer one
        self._usual_start_timeout: float | None = None
        # the PVC name we created (or found) -- saved in state, so later
        # spawns of this server skip the PVC POST
        self._pvc_ensured_name: str | None = None
        # the storage_capacity the claim was made with or last grown to (in
        # state): a start compares it with today's and pays a read only when
        # they differ
        self._pvc_capacity: str | None = None
        self._state_kubespawner_version: str | None = None  # set by load_state
        # (pod resourceVersion, server ip, port) poll() last compared
        self._url_checked: tuple | None = None
        # the configured scheme; a restored server may carry an older one
        self._configured_slug_scheme = self.slug_scheme
        # the pod reflector poll() reads (found on the first poll after a
        # start, since a profile may change the namespace)
        self._poll_reflector: PodReflector | None = None
        # the hub polls this server (start_polling ran, stop_polling not):
        # the pod watch then tells it of the server's end (see start_polling)
        self._hub_polling = False
        # the notebook container's exit code poll() saw before deleting the pod
        self._exit_code: int | None = None
        self._stop_notice: asyncio.Task | None = None
        self._stop_watch_setup: asyncio.Task | None = None  # (a reference keeps it alive)
        # state from before KubeSpawner 7 (z2jh 3) names no claim: look
        # for it under the legacy names before making a new, empty one
        self._legacy_pvc_lookup_due = False

    # ---- API plumbing -------------------------------------------------------

    def _api_settings(self) -> ApiSettings:
        return ApiSettings(
            host=self.k8s_api_host or None,
            ssl_ca_cert=self.k8s_api_ssl_ca_cert or None,
            verify_ssl=self.k8s_api_verify_ssl,
            request_timeout=self.k8s_api_request_timeout,
        )

    async def _api(self) -> KubeAPI:
        return await shared_api(self._api_settings())

    async def _call(
        self,
        description: str,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict | None = None,
        content_type: str = "application/json",
    ) -> dict:
        """One API request with retries for 5xx, 429 and timeouts."""
        api = await self._api()
        return await call_with_retries(
            lambda: api.request(method, path, params=params, body=body, content_type=content_type),
            retry_timeout=self.k8s_api_request_retry_timeout,
            description=description,
            logger=self.log,
        )

    @staticmethod
    def _path(resource: str, namespace: str | None = None, name: str | None = None) -> str:
        path = "/api/v1"
        if namespace:
            path += f"/namespaces/{namespace}"
        path += f"/{resource}"
        if name:
            path += f"/{name}"
        return path

    # ---- reflectors -------------------------------------------------------------

    def _reflector_namespace(self) -> str | None:
        # with user namespaces, one reflector across all of them
        return None if self.enable_user_namespaces else self.namespace

    def _pod_label_selector(self) -> str:
        return f"{COMPONENT_LABEL}={self.component_label}"

    def _on_reflector_failure(self, error: BaseException) -> None:
        """A reflector gave up: stop the hub rather than serve a stale cache."""
        self.log.critical(
            "Exiting: %s Kubernetes restarts the hub, which lists pods afresh and "
            "finds every running server again.",
            error,
        )
        sys.exit(1)

    def _reflector_args(self) -> dict:
        return dict(
            namespace=self._reflector_namespace(),
            on_failure=self._on_reflector_failure,
            max_failures=self.reflector_max_failures,
            watch_timeout=self.reflector_watch_timeout,
            logger=self.log,
        )

    async def _pods(self) -> PodReflector:
        return await shared_reflector(
            PodReflector,
            await self._api(),
            label_selector=self._pod_label_selector(),
            **self._reflector_args(),
        )

    async def _events(self) -> EventReflector:
        return await shared_reflector(
            EventReflector,
            await self._api(),
            pods=await self._pods(),
            max_age=self.event_cache_max_age,
            max_count=self.event_cache_max_count,
            **self._reflector_args(),
        )

    @property
    def pod_reflector(self) -> PodReflector | None:
        """The pod cache poll() reads (upstream's name), once poll() ran."""
        return self._poll_reflector

    @classmethod
    async def _stop_all_reflectors(cls) -> None:
        """Stop the shared reflectors (upstream's name: its test suite calls
        it between tests that configure reflectors differently)."""
        await stop_shared_reflectors()

    @property
    def _pod_key(self) -> str:
        return f"{self.namespace}/{self.pod_name}"

    # ---- start --------------------------------------------------------------

    def start(self) -> asyncio.Task:
        """Create the pod (and what it needs); the returned task, already
        running (as upstream's), gives its URL once ready. So code that calls
        start() and iterates progress() before awaiting it works."""
        loop = asyncio.get_running_loop()
        self._start_finished = loop.create_future()
        self._start_began = time.monotonic()
        self._pod_uid = None
        self._exit_code = None
        self._poll_reflector = None
        self._notes = []
        self._start_called.set()
        # the hub reads start_timeout after start() returns, for its own
        # limit: leave room for capacity waits, which ours does not count
        self._usual_start_timeout = self.start_timeout
        if self.capacity_wait_timeout > 0:
            # a few seconds more than ours, so a spawn ends with our message
            self.start_timeout = self._usual_start_timeout + self.capacity_wait_timeout + 5
        return loop.create_task(self._run_start(self._start_finished))

    async def _run_start(self, finished: asyncio.Future) -> str:
        try:
            return await self._start()
        finally:
            self.start_timeout = self._usual_start_timeout
            if not finished.done():
                finished.set_result(None)

    def _note(self, message: str) -> None:
        """A progress message of the spawner's own."""
        self._notes.append(message)
        if self._note_added is not None and not self._note_added.done():
            self._note_added.set_result(None)

    async def _start(self) -> str:
        # the profile, if apply_user_options has not applied it (an admin's
        # own apply_user_options, or a spawner started outside a hub);
        # a no-op when it has
        await self.load_user_options()
        pods = self._poll_reflector = await self._pods()
        events = await self._events() if self.events_enabled else None
        if self.enable_user_namespaces:
            await self._ensure_namespace()
        if self.storage_pvc_ensure:
            await self._ensure_pvc()
        manifest = await self._pod_manifest_for_start()
        if events is not None:
            # keep the pod's first events even if they beat the pod's own
            # watch event to the hub
            events.expect(self._pod_key)
        try:
            return await self._create_and_wait(manifest, pods, events)
        finally:
            if events is not None:
                events.unexpect(self._pod_key)

    async def _create_and_wait(
        self, manifest: dict, pods: PodReflector, events: EventReflector | None
    ) -> str:
        pod = await self._create_pod(manifest)
        try:
            await self._create_owned_objects(pod)
            if self.after_pod_created_hook:
                # a dict, as the original KubeSpawner passes it (the pod from
                # its reflector cache); the reference does not document this
                # hook. Only modify_pod_hook gets a V1Pod ("the Pod object").
                await maybe_await(self.after_pod_created_hook(self, pod))
            ready = await self._wait_until_ready(pods, events)
        except asyncio.CancelledError:
            # the hub gave up (start_timeout) and calls stop() next
            raise
        except Exception:
            await self._delete_pod_quietly()
            # whatever went wrong, check the PVC again next time (it may be
            # what was missing) instead of trusting the saved state
            self._pvc_ensured_name = None
            raise
        return self._url_for(ready)

    def _overrides(self, method: str) -> bool:
        """A subclass overrides upstream's model-returning ``method``."""
        return getattr(type(self), method) is not getattr(KubeSpawner, method)

    async def _pod_manifest_for_start(self) -> dict:
        # the models cost a conversion each way: only for subclasses that ask
        if self._overrides("get_pod_manifest"):
            return models.to_dict(await self.get_pod_manifest())
        return await self.build_pod_manifest()

    def _json_manifest(self, method: str, build, *args) -> dict:
        if self._overrides(method):
            return models.to_dict(getattr(self, method)(*args))
        return build(*args)

    async def _known_namespaces(self) -> set[str]:
        """Namespaces this hub created or found on this API server. User
        namespaces are never deleted behind our back in normal operation, so
        one POST per namespace per hub process is enough (a pod create
        answered 404 makes us forget and re-create it)."""
        api = await self._api()
        if not hasattr(api, "known_namespaces"):
            api.known_namespaces = set()
        return api.known_namespaces

    async def _ensure_namespace(self) -> None:
        known = await self._known_namespaces()
        if self.namespace in known:
            return
        try:
            await self._call(
                f"create namespace {self.namespace}",
                "POST",
                "/api/v1/namespaces",
                body=self.get_namespace_manifest(),
            )
        except ApiException as error:
            if error.status != 409:
                raise
        known.add(self.namespace)

    async def _ensure_pvc(self) -> None:
        """Create the user's PVC unless we know it exists (one POST per user);
        grow it if ``storage_capacity`` grew since."""
        if self._pvc_ensured_name != self.pvc_name:
            await self._create_or_adopt_pvc()
        if self.storage_capacity and self._pvc_capacity != self.storage_capacity:
            await self._grow_pvc()

    async def _create_or_adopt_pvc(self) -> None:
        if self._legacy_pvc_lookup_due:
            self._legacy_pvc_lookup_due = False
            if await self._adopt_legacy_pvc():
                return
        if not self.storage_capacity:
            raise ValueError(
                f"storage_pvc_ensure is set but storage_capacity is {self.storage_capacity!r}: "
                "set c.KubeSpawner.storage_capacity to the claim's size, e.g. '10Gi'"
            )
        manifest = self._json_manifest("get_pvc_manifest", self.build_pvc_manifest)
        try:
            await self._call(
                f"create PVC {self.pvc_name}",
                "POST",
                self._path("persistentvolumeclaims", self.namespace),
                body=manifest,
            )
            self.log.info("Created PVC %s/%s", self.namespace, self.pvc_name)
            self._pvc_capacity = self.storage_capacity
        except ApiException as error:
            if error.status == 409:
                self.log.debug("PVC %s/%s already exists", self.namespace, self.pvc_name)
            elif error.status == 403 and await self._pvc_exists():
                # A ResourceQuota refuses new claims once the namespace is
                # full -- even for a name that already exists. Using the
                # existing claim is what the user wants.
                self.log.info(
                    "PVC %s/%s exists; ignoring the quota's refusal to create it again",
                    self.namespace,
                    self.pvc_name,
                )
            else:
                raise
        self._pvc_ensured_name = self.pvc_name

    async def _grow_pvc(self) -> None:
        """Ask for today's storage_capacity if the claim has less (see
        ``claimsize``); whatever the answer, remember the capacity in state,
        so a class that cannot expand is logged once, not at every start."""
        claim = await self._read_pvc(self.pvc_name)
        if claim is None:
            return  # the scheduler will say so; _restore_missing_pvc makes it
        if not claimsize.growth_needed(claim, self.storage_capacity):
            self._pvc_capacity = self.storage_capacity  # as big already (or bigger)
            return
        if not claimsize.is_bound(claim):
            return  # not expandable until bound: try again at the next start
        where = f"{self.namespace}/{self.pvc_name}"
        try:
            await self._call(
                f"grow PVC {where}",
                "PATCH",
                self._path("persistentvolumeclaims", self.namespace, self.pvc_name),
                body=claimsize.growth_patch(self.storage_capacity),
                content_type="application/merge-patch+json",
            )
            self.log.info(
                "Growing PVC %s from %s to %s",
                where,
                claimsize.requested_size(claim),
                self.storage_capacity,
            )
        except ApiException as error:
            if error.status not in (403, 422):
                raise
            self.log.warning(
                "PVC %s stays at %s, not the %s storage_capacity asks for: %s "
                "(its StorageClass needs allowVolumeExpansion: true)",
                where,
                claimsize.requested_size(claim),
                self.storage_capacity,
                api_message(error),
            )
        self._pvc_capacity = self.storage_capacity

    async def _pvc_exists(self) -> bool:
        return await self._read_pvc(self.pvc_name) is not None

    async def _read_pvc(self, name: str) -> dict | None:
        return await self._read("persistentvolumeclaims", name, "PVC")

    async def _read(self, resource: str, name: str, what: str) -> dict | None:
        """One object as the API server has it now, None if there is none
        (only on rare paths: the caches may not have seen it yet)."""
        try:
            return await self._call(
                f"read {what} {self.namespace}/{name}",
                "GET",
                self._path(resource, self.namespace, name),
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    async def _adopt_legacy_pvc(self) -> bool:
        """Use the claim an older deployment made for this server (see
        ``handle_legacy_names``) if today's name has none; True if the
        server's claim is known to exist afterwards."""
        if await self._read_pvc(self.pvc_name) is not None:
            self._pvc_ensured_name = self.pvc_name
            return True
        candidates = legacy_pvc_names(self.pvc_name_template, self._name_parts(), self.pvc_name)
        for name in candidates:
            pvc = await self._read_pvc(name)
            if pvc is None:
                continue
            if not claim_belongs_to(pvc, self.user.name, self.name or ""):
                self.log.warning(
                    "Not using PVC %s/%s for %s: its annotations name another user or server",
                    self.namespace,
                    name,
                    self._log_name,
                )
                continue
            self.log.warning(
                "Using legacy PVC %s/%s for %s (no claim named %s; the name is kept in its state)",
                self.namespace,
                name,
                self._log_name,
                self.pvc_name,
            )
            self.pvc_name = self._pvc_ensured_name = name
            return True
        return False

    async def _create_pod(self, manifest: dict) -> dict:
        """POST the pod; a leftover pod of the same name is deleted first
        (the pod a retried POST already made is kept)."""
        path = self._path("pods", self.namespace)
        for attempt in range(3):
            try:
                pod = await self._call(f"create pod {self._pod_key}", "POST", path, body=manifest)
            except ApiException as error:
                if error.status == 409:
                    existing = await self._read("pods", self.pod_name, "pod")
                    if existing is not None and podstatus.made_from(existing, manifest):
                        # an earlier attempt of this very create succeeded but
                        # its answer was lost (a timeout under load): keep that
                        # pod rather than delete it and make it again
                        pod = existing
                        break
                if attempt == 2:
                    raise
                if error.status == 404 and self.enable_user_namespaces:
                    # the user's namespace was deleted since we made it
                    (await self._known_namespaces()).discard(self.namespace)
                    await self._ensure_namespace()
                    continue
                if error.status != 409:
                    raise
                self.log.warning(
                    "Pod %s already exists (a leftover of an earlier server); replacing it",
                    self._pod_key,
                )
                stale_uid = await self._delete_pod(grace_period=0)
                await self._wait_until_gone(stale_uid)
                continue
            break
        self._pod_uid = pod["metadata"]["uid"]
        self.log.info("Created pod %s (uid %s)", self._pod_key, self._pod_uid)
        return pod

    async def _create_owned_objects(self, pod: dict) -> None:
        """Internal-SSL Secret and the Service, owned by the pod so they go with it."""
        if not (self.internal_ssl or self.services_enabled):
            return
        owner = make_owner_reference(pod["metadata"]["name"], pod["metadata"]["uid"])
        if self.internal_ssl:
            secret = self._json_manifest("get_secret_manifest", self.build_secret_manifest, owner)
            await self._create_replacing(
                "secrets", secret["metadata"]["name"], secret, "internal SSL secret"
            )
        service = self._json_manifest("get_service_manifest", self.build_service_manifest, owner)
        await self._create_replacing("services", service["metadata"]["name"], service, "service")

    async def _create_replacing(self, resource: str, name: str, body: dict, what: str) -> None:
        """Create; if a leftover exists (its owner pod is gone), replace it."""
        path = self._path(resource, self.namespace)
        try:
            await self._call(f"create {what} {name}", "POST", path, body=body)
            return
        except ApiException as error:
            if error.status != 409:
                raise
        self.log.info("Replacing leftover %s %s/%s", what, self.namespace, name)
        try:
            await self._call(
                f"delete {what} {name}", "DELETE", self._path(resource, self.namespace, name)
            )
        except ApiException as error:
            if error.status != 404:
                raise
        await self._call(f"create {what} {name}", "POST", path, body=body)

    async def _wait_until_ready(self, pods: PodReflector, events: EventReflector | None) -> dict:
        """Wait for the pod to be ready, woken by its (and its events') watch
        events; fail fast when it cannot become ready. Time spent waiting
        for capacity does not count (see ``capacity``)."""
        uid = self._pod_uid
        key = self._pod_key
        usual = self._usual_start_timeout or self.start_timeout
        # from start(), as the hub's own limit
        began = self._start_began or time.monotonic()
        clock = capacity.StartClock(began, usual, self.capacity_wait_timeout)
        seen = False
        unschedulable_since = None
        claim_restored = False
        last_wait = None
        while True:
            try:
                pods.raise_if_failed()
            except ReflectorFailed as error:
                raise SpawnFailed(f"Lost track of your server: {error}") from error
            now = time.monotonic()
            pod = pods.get(key)
            if pod is not None and pod["metadata"].get("uid") != uid:
                pod = None  # still the previous pod of this name in the cache
                current = False
            else:
                current = pod is not None or seen
                seen = seen or pod is not None
            verdict, wait = podstatus.STARTING, None
            if current and pod is not None and self._own_claim_missing(pod, events):
                if not claim_restored:
                    await self._restore_missing_pvc()
                    claim_restored = True
                unschedulable_since = None
            elif current:
                verdict = self._verdict(pod, events)
                if verdict.state == "starting" and capacity.unscheduled(pod):
                    # (the common path, a pod on its way, reads no events here)
                    pod_events = events.events_for(key, uid) if events else []
                    wait = capacity.awaited_capacity(pod, pod_events)
            clock.observe(now, wait is not None)
            if wait is not None and wait != last_wait:
                self._note(
                    f"Waiting for a node: {wait.describe()}. This wait does not count "
                    f"towards the start timeout (for up to {self.capacity_wait_timeout:g} s)."
                )
            last_wait = wait
            wake_at = clock.next_check(now)
            if verdict.state == "unschedulable":
                unschedulable_since = unschedulable_since or now
                grace_end = unschedulable_since + self.unschedulable_grace_period
                if now >= grace_end:
                    verdict = podstatus.Verdict("failed", verdict.message, capacity=True)
                wake_at = min(wake_at, grace_end)
            else:
                unschedulable_since = None  # scheduling got going again
            if verdict.state == "ready":
                return pod
            if verdict.state == "failed":
                self.log.error("Start of pod %s failed: %s", key, verdict.message)
                raise (CapacityUnavailable if verdict.capacity else SpawnFailed)(verdict.message)
            if now >= clock.deadline(now):
                raise self._timed_out(clock, now, wait, pod, events)
            waits = [pods.next_change(key)]
            if events is not None and pod is not None and _not_scheduled(pod):
                # events decide only while the pod has no node (the scheduler's
                # and autoscalers' words); otherwise the pod's changes do
                waits.append(events.next_change(key))
            try:
                await asyncio.wait(
                    waits, timeout=max(wake_at - now, 0), return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for waiter in waits:
                    waiter.cancel()

    def _timed_out(self, clock, now, wait, pod, events) -> SpawnFailed:
        waited = clock.capacity_waited(now)
        if wait is None:
            return SpawnFailed(
                f"Your server did not become ready within {clock.start_timeout:g} seconds"
                + (f" (plus {waited:.0f} s waiting for a node)." if waited >= 1 else ".")
            )
        pod_events = events.events_for(self._pod_key, self._pod_uid) if events else []
        reason = podstatus.scheduler_message(pod, pod_events) if pod else ""
        return CapacityUnavailable(
            f"No node became available for your server: waited {waited:.0f} s while "
            f"{wait.describe()}. The scheduler says: {reason}"
        )

    def _own_claim_missing(self, pod: dict, events: EventReflector | None) -> bool:
        """The scheduler says this server's PVC does not exist: it was deleted
        behind the hub's back, while the saved state says it was made."""
        if not self.storage_pvc_ensure or pod["metadata"].get("uid") != self._pod_uid:
            return False
        pod_events = events.events_for(self._pod_key, self._pod_uid) if events else []
        return self.pvc_name in podstatus.missing_claims(pod, pod_events)

    async def _restore_missing_pvc(self) -> None:
        # Spawns skip the PVC POST once state says the claim exists (one API
        # write per spawn); this is where that trust is corrected.
        self.log.warning(
            "PVC %s/%s is missing (deleted behind the hub's back?); creating it again",
            self.namespace,
            self.pvc_name,
        )
        self._pvc_ensured_name = None
        await self._ensure_pvc()

    def _verdict(self, pod: dict | None, events: EventReflector | None) -> podstatus.Verdict:
        pod_events = events.events_for(self._pod_key, self._pod_uid) if events else []
        return podstatus.classify(pod, pod_events, NOTEBOOK_CONTAINER)

    def is_pod_running(self, pod) -> bool:
        """Check if the given pod is running (the reference's method): phase
        Running with an IP, not being deleted, all containers ready. ``pod``
        is a dict of the API's JSON, as the reflector caches it (a V1Pod
        model is accepted too)."""
        if pod is not None and not isinstance(pod, dict):
            pod = models.to_dict(pod)
        return podstatus.is_running(pod)

    # ---- URL --------------------------------------------------------------------

    def _get_pod_url(self, pod) -> str:
        """The server's URL for ``pod`` (upstream's name; a dict or V1Pod)."""
        return self._url_for(pod if isinstance(pod, dict) else models.to_dict(pod))

    def _url_for(self, pod: dict) -> str:
        if self.get_pod_url:
            return self.get_pod_url(self, pod)
        proto = "https" if self.internal_ssl else "http"
        host = self._connect_host(pod)
        return f"{proto}://{host}:{self._get_pod_port(pod)}"

    def _get_pod_port(self, pod: dict) -> int:
        """The port the pod's server listens on (upstream's name): its
        ``notebook-port``, which stays when ``port`` is configured anew."""
        for container in (pod.get("spec") or {}).get("containers") or []:
            for port in container.get("ports") or []:
                if port.get("name") == PORT_NAME:
                    return port["containerPort"]
        return self.port  # a pod made by a get_pod_manifest without that port name

    def _connect_host(self, pod: dict) -> str:
        # pod_connect_ip wins over the Service name, as upstream
        if self.pod_connect_ip:
            # one DNS label at a time, so an empty servername leaves no
            # dangling "-" inside the name (as upstream)
            return ".".join(
                self._expand_user_properties(part) if "{" in part else part
                for part in self.pod_connect_ip.split(".")
            )
        if self.internal_ssl or self.services_enabled:
            return self.dns_name
        ip = (pod.get("status") or {}).get("podIP") or ""
        return f"[{ip}]" if ":" in ip else ip

    # ---- progress -----------------------------------------------------------------

    async def progress(self):
        """Yield {progress, message, raw_event} for this spawn's pod events."""
        await self._start_called.wait()
        events = await self._events() if self.events_enabled else None
        seen: set[str] = set()
        progress = 0
        slow_after = self._slow_spawn_threshold()
        next_slow = (self._start_began or time.monotonic()) + slow_after if slow_after else None
        key = self._pod_key
        notes_sent = 0
        while True:
            while notes_sent < len(self._notes):
                notes_sent += 1
                yield {"progress": int(progress), "message": self._notes[notes_sent - 1]}
            if events is not None and self._pod_uid is not None:
                for event in events.events_for(key, self._pod_uid):
                    event_id = event["metadata"].get("uid") or event["metadata"]["name"]
                    if event_id in seen:
                        continue
                    seen.add(event_id)
                    progress += (90 - progress) / 3
                    yield {
                        "progress": int(progress),
                        "message": _event_message(event),
                        "raw_event": event,
                    }
            if self._start_finished.done():
                return
            self._note_added = asyncio.get_running_loop().create_future()
            waits = [self._start_finished, self._note_added]
            if events is not None:
                waits.append(events.next_change(key))
            timeout = None if next_slow is None else max(next_slow - time.monotonic(), 0)
            done, _ = await asyncio.wait(
                waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            for waiter in waits[1:]:
                waiter.cancel()
            if not done and next_slow is not None:
                elapsed = time.monotonic() - (self._start_began or time.monotonic())
                yield {
                    "progress": int(progress),
                    "message": self._slow_spawn_message(elapsed),
                }
                next_slow += self._slow_spawn_frequency()

    def _slow_spawn_threshold(self) -> float | None:
        if not self.slow_spawn_message or not self.slow_spawn_threshold:
            return None
        return self.slow_spawn_threshold

    def _slow_spawn_frequency(self) -> float:
        return self.slow_spawn_message_frequency or float("inf")

    def _slow_spawn_message(self, elapsed: float) -> str:
        return self.slow_spawn_message.format(elapsed=elapsed)

    # ---- poll / stop --------------------------------------------------------------

    async def poll(self):
        """None while the pod runs; its exit code (or 1) once it stopped or vanished."""
        # The hub polls every server often; keep this path to dict look-ups.
        pods = self._poll_reflector
        if pods is None or pods.failed is not None:
            pods = self._poll_reflector = await self._pods()
        pod = pods.get(self._pod_key)
        code = podstatus.stop_code(pod, NOTEBOOK_CONTAINER)
        if code is None:
            self._follow_pod_url(pod)
            return None
        if pod is None:
            # deleted after its container exited (by us, below): that code
            return self._exit_code if self._exit_code is not None else code
        if not pod["metadata"].get("deletionTimestamp"):
            # the container exited; the pod stays unless we delete it
            self._exit_code = code
            if self.delete_stopped_pods:
                await self._delete_pod_quietly()
        return code

    # ---- stop notices from the watch ---------------------------------------------

    def start_polling(self):
        """JupyterHub's polling, plus a notice from the pod watch: when the
        pod is deleted, terminating or its container exited, run
        poll_and_notify() at once rather than at the next poll."""
        super().start_polling()
        self._hub_polling = True
        pods = self._poll_reflector
        if pods is not None and pods.loaded:
            self._watch_for_stop(pods)
        else:  # no poll() or start() in this process yet (a hub restart)
            self._stop_watch_setup = asyncio.ensure_future(self._find_pods_and_watch())

    def stop_polling(self):
        super().stop_polling()
        self._hub_polling = False
        if self._poll_reflector is not None:
            self._poll_reflector.forget_change(self._pod_key, self._pod_changed)

    async def _find_pods_and_watch(self) -> None:
        try:
            pods = self._poll_reflector = await self._pods()
        except Exception as error:
            self.log.warning("No stop notices for %s: %s", self._log_name, describe_error(error))
            return
        if self._hub_polling:
            self._watch_for_stop(pods)

    def _watch_for_stop(self, pods: PodReflector) -> None:
        pods.on_change(self._pod_key, self._pod_changed)
        # it may have stopped before polling began
        self._pod_changed(pods.get(self._pod_key))

    def _pod_changed(self, pod: dict | None) -> None:
        """The watch changed this server's pod: tell the hub if it stopped
        (once; never while the hub itself stops the server)."""
        if not self._hub_polling or self._stop_pending or self._stop_notice is not None:
            return
        if podstatus.stop_code(pod, NOTEBOOK_CONTAINER) is None:
            return
        self._stop_notice = asyncio.ensure_future(self._notify_hub_of_stop())

    async def _notify_hub_of_stop(self) -> None:
        try:
            # polling starts before the hub has finished the spawn (proxy
            # route, stop callbacks): a server that ends in that moment is
            # reported once the spawn is done, not into the middle of it
            while self._spawn_pending:
                await asyncio.sleep(0.05)
            if self._hub_polling and not self._stop_pending:
                self.log.info("Pod %s stopped; telling the hub", self._pod_key)
                await self.poll_and_notify()
        except Exception:
            self.log.exception("Could not tell the hub that %s stopped", self._log_name)
        finally:
            self._stop_notice = None

    def _follow_pod_url(self, pod: dict) -> None:
        """If a running pod's URL is not the one the hub has (its IP changed,
        or a hub restart interrupted a launch), tell the hub (as upstream)."""
        server = getattr(self, "server", None)
        if server is None:
            return
        # the common case first (the hub polls often): this pod version was
        # checked against this URL already
        checked = (pod["metadata"].get("resourceVersion"), server.ip, server.port)
        if checked == self._url_checked:
            return
        self._url_checked = checked
        if not podstatus.is_ready(pod):
            return
        url = urlparse(self._url_for(pod))
        port = url.port or (443 if url.scheme == "https" else 80)
        if (server.ip, server.port) == (url.hostname, port):
            return
        self.log.warning(
            "Pod %s URL changed from %s:%s to %s:%s; updating the server URL",
            self._pod_key,
            server.ip,
            server.port,
            url.hostname,
            port,
        )
        server.ip, server.port = url.hostname, port
        self._url_checked = (checked[0], server.ip, server.port)
        if self.db is not None:
            self.db.commit()

    async def stop(self, now=False):
        """Delete the pod and wait until it is gone."""
        grace = 0 if now else self.delete_grace_period
        await self._pods()  # the watch must be running to see the deletion
        uid = await self._delete_pod(grace_period=grace)
        timeout = self.stop_timeout or (grace + self.start_timeout)
        await self._wait_until_gone(uid, timeout)
        if self.enable_user_namespaces and self.delete_namespace_on_stop:
            await self._delete_namespace()

    async def _delete_namespace(self) -> None:
        if self.storage_pvc_ensure:
            self.log.info("Keeping namespace %s: it holds the user's PVC", self.namespace)
            return
        try:
            await self._call(
                f"delete namespace {self.namespace}",
                "DELETE",
                f"/api/v1/namespaces/{self.namespace}",
            )
        except ApiException as error:
            if error.status != 404:
                raise
        (await self._known_namespaces()).discard(self.namespace)

    async def _delete_pod(self, grace_period: int) -> str | None:
        """DELETE the pod (404 is fine); return the uid of what was deleted."""
        try:
            pod = await self._call(
                f"delete pod {self._pod_key}",
                "DELETE",
                self._path("pods", self.namespace, self.pod_name),
                body=dict(DELETE_OPTIONS, gracePeriodSeconds=int(grace_period)),
            )
        except ApiException as error:
            if error.status == 404:
                self.log.info("Pod %s was already gone", self._pod_key)
                return None
            raise
        return ((pod or {}).get("metadata") or {}).get("uid")

    async def _wait_until_gone(self, uid: str | None, timeout: float | None = None) -> None:
        pods = await self._pods()

        def gone(pod):
            return pod is None or (uid is not None and pod["metadata"].get("uid") != uid)

        try:
            await pods.wait_for(self._pod_key, gone, timeout=timeout or self.start_timeout)
        except TimeoutError:
            raise TimeoutError(
                f"Pod {self._pod_key} still exists {timeout or self.start_timeout} s after "
                "it was deleted (is its node unreachable?)"
            ) from None

    async def _delete_pod_quietly(self) -> None:
        try:
            await self._delete_pod(grace_period=0)
        except Exception as error:
            self.log.warning("Could not delete pod %s: %s", self._pod_key, describe_error(error))

    async def delete_forever(self):
        """The user (or this named server) is deleted: remove its PVC too (delete_pvc)."""
        if not self.delete_pvc:
            return
        if self.name and self._pvc_is_shared():
            self.log.info("Keeping PVC %s: other servers of the user share it", self.pvc_name)
            return
        try:
            await self._call(
                f"delete PVC {self.pvc_name}",
                "DELETE",
                self._path("persistentvolumeclaims", self.namespace, self.pvc_name),
            )
            self.log.info("Deleted PVC %s/%s", self.namespace, self.pvc_name)
        except ApiException as error:
            if error.status != 404:
                raise
        self._pvc_ensured_name = None

    def _pvc_is_shared(self) -> bool:
        """True when a named server's claim is the user's default server's claim."""
        parts = dataclasses.replace(self._name_parts(), servername="")
        scheme = self.slug_scheme
        default_pvc = render_name(self.pvc_name_template, template_fields(parts, scheme), scheme)
        return self.pvc_name == default_pvc

    # ---- internal SSL -------------------------------------------------------------

    async def create_certs(self):
        # the certificate must name the Service DNS the hub connects to
        alt_names = [f"DNS:{self.dns_name}", f"DNS:{self.pod_name}"]
        self.ssl_alt_names = list(dict.fromkeys(list(self.ssl_alt_names) + alt_names))
        return await super().create_certs()

    # ---- state ----------------------------------------------------------------------

    def get_state(self):
        state = super().get_state()
        state["pod_name"] = self.pod_name
        state["namespace"] = self.namespace
        state["dns_name"] = self.dns_name
        state["slug_scheme"] = self.slug_scheme
        # Always saved (the issue: state keeps the PVC name). The reference
        # does not describe remember_pvc_name; as in the original KubeSpawner
        # it decides only whether load_state/clear_state *use* a saved name.
        # Not while a legacy lookup is still due (a KubeSpawner 6 server
        # stopped by this hub before its next start): today's name is then
        # unused, and saving it would skip the lookup (an empty home).
        if self.pvc_name and not self._legacy_pvc_lookup_due:
            state["pvc_name"] = self.pvc_name
        if self._pvc_ensured_name:
            state["pvc_ensured"] = self._pvc_ensured_name
        if self._pvc_capacity:
            state["pvc_capacity"] = self._pvc_capacity
        state["kubespawner_version"] = __version__  # as upstream: who wrote this state
        return state

    def load_state(self, state):
        """Find a server's objects under the names it was started with,
        whatever the templates or slug scheme say now."""
        super().load_state(state)
        self._poll_reflector = None
        if state.get("slug_scheme"):
            self.slug_scheme = state["slug_scheme"]
            self.update_names()
        for key in ("namespace", "pod_name", "dns_name"):
            if state.get(key):
                setattr(self, key, state[key])
        if state.get("pvc_name") and self.remember_pvc_name:
            self.pvc_name = state["pvc_name"]
        self._pvc_ensured_name = state.get("pvc_ensured")
        self._pvc_capacity = state.get("pvc_capacity")
        # upstream's record: None for a new server, "unknown" for state
        # saved by a KubeSpawner before 7
        self._state_kubespawner_version = (
            state.get("kubespawner_version", "unknown") if state else None
        )
        # saved by a spawner that did not record claims (KubeSpawner 6)
        self._legacy_pvc_lookup_due = bool(
            state
            and not state.get("pvc_name")
            and self.handle_legacy_names
            and self.remember_pvc_name
        )

    def clear_state(self):
        """Forget the stopped server's names (a new one uses today's templates),
        except its PVC with ``remember_pvc_name``."""
        super().clear_state()
        self._pod_uid = None
        self._start_finished = None
        self._start_called.clear()
        self.slug_scheme = self._configured_slug_scheme
        self.update_names(keep_pvc_name=self.remember_pvc_name)
        if self._pvc_ensured_name != self.pvc_name:
            self._pvc_ensured_name = None
            self._pvc_capacity = None


def _not_scheduled(pod: dict) -> bool:
    scheduled = podstatus.condition(pod, "PodScheduled")
    return scheduled is not None and scheduled.get("status") == "False"


def _event_message(event: dict) -> str:
    when = event.get("lastTimestamp") or event.get("eventTime") or ""
    kind = event.get("type") or "Normal"
    return f"{when} [{kind}] {event.get('message', '')}".strip()


__all__ = ["CapacityUnavailable", "KubeSpawner", "SpawnFailed"]
