"""The kubelet of one simulated node: runs the pods bound to it.

Each pod gets a `PodWorker` (one asyncio task plus one per app container)
that goes through the real sequence: sandbox (pod IP, volumes), init
containers one after another, then the app containers (pull, create, start),
probes, restarts per restartPolicy with CrashLoopBackOff, and graceful
deletion (Killing, SIGTERM, SIGKILL after the grace period, final status, then
delete with grace 0). Status writes are coalesced: whatever changes within one
event-loop turn becomes one update, so fast pods cost few writes.

While the kubelet is paused (`pause()`), workers stop at their next API call
(no status, no events, no deletions) and the containers keep running, as when
a real kubelet loses the API server.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time

from kubesim.api.store import TERMINAL_PHASES, now_rfc3339
from kubesim.model.errors import ApiError
from kubesim.node import volumes as vol
from kubesim.node.container_env import EnvError, build_env, expand_command
from kubesim.node.kubelet_status import (
    ContainerRecord,
    carry_over_restarts,
    default_pull_policy,
    image_id,
    kubelet_conditions,
    merge_conditions,
    normalize_image,
    pod_phase,
    qos_class,
)
from kubesim.node.pod_network import is_loopback, listening_addresses
from kubesim.node.probes import Prober, http_probe, probe_setting, tcp_probe
from kubesim.node.runtime import ContainerLaunch, CreateContainerError

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0
COMPONENT = "kubelet"


def go_duration(seconds: float) -> str:
    """Roughly how Go prints a time.Duration ("523.4ms", "1.234s")."""
    if seconds < 1:
        return f"{seconds * 1000:.3f}ms".replace(".000ms", "ms")
    return f"{seconds:.3f}s"


class Kubelet:
    def __init__(self, ctx, node_name: str, node_ip: str, allocatable: dict | None = None):
        self.ctx = ctx
        self.node_name = node_name
        self.node_ip = node_ip
        # for resourceFieldRef without a limit: "whatever the node has"
        self.allocatable = allocatable or {}
        self.workers: dict[str, PodWorker] = {}
        self.images: set[str] = set()
        self.reporting = asyncio.Event()
        self.reporting.set()
        self.paused_at: float | None = None
        self._deleting: set[asyncio.Task] = set()

    # ----- fault injection

    def pause(self) -> None:
        if self.reporting.is_set():
            self.paused_at = time.monotonic()
            self.reporting.clear()

    def resume(self) -> None:
        self.paused_at = None
        self.reporting.set()

    @property
    def paused(self) -> bool:
        return not self.reporting.is_set()

    # ----- pod events from the shared informer

    def on_pod(self, event_type: str, pod: dict) -> None:
        uid = pod["metadata"]["uid"]
        worker = self.workers.get(uid)
        if event_type == "DELETED":
            if worker is not None:
                worker.removed()
            return
        if worker is not None:
            worker.update(pod)
            return
        if (pod.get("status") or {}).get("phase") in TERMINAL_PHASES:
            if pod["metadata"].get("deletionTimestamp"):
                # nothing runs any more: finish the deletion right away
                task = asyncio.get_running_loop().create_task(self._finish_deletion(pod))
                self._deleting.add(task)
                task.add_done_callback(self._deleting.discard)
            return
        worker = PodWorker(self, pod)
        self.workers[uid] = worker
        worker.start()

    async def _finish_deletion(self, pod: dict) -> None:
        await self.reporting.wait()
        meta = pod["metadata"]
        try:
            await self.ctx.store.delete(
                "pods",
                meta["name"],
                meta["namespace"],
                grace_period_seconds=0,
                preconditions={"uid": meta["uid"]},
            )
        except ApiError:
            pass

    async def emit(self, obj, event_type, reason, message, field_path=None) -> None:
        await self.reporting.wait()
        await self.ctx.recorder.emit(
            obj,
            event_type,
            reason,
            message,
            component=COMPONENT,
            host=self.node_name,
            field_path=field_path,
        )

    def worker_for(self, namespace: str, name: str):
        for worker in self.workers.values():
            meta = worker.pod["metadata"]
            if meta["name"] == name and meta["namespace"] == namespace:
                return worker
        return None

    async def close(self) -> None:
        """Stop every pod at once (kubesim shutting down): no API writes."""
        workers = list(self.workers.values())
        for worker in workers:
            worker.abandon()
        for worker in workers:
            await worker.wait_closed()
        for task in list(self._deleting):
            task.cancel()


class PodWorker:
    def __init__(self, kubelet: Kubelet, pod: dict):
        self.kubelet = kubelet
        self.ctx = kubelet.ctx
        self.pod = pod
        meta = pod["metadata"]
        self.uid = meta["uid"]
        self.name = meta["name"]
        self.namespace = meta["namespace"]
        spec = pod.get("spec") or {}
        self.restart_policy = spec.get("restartPolicy") or "Always"
        has_init = bool(spec.get("initContainers"))
        self.init = [
            ContainerRecord(c["name"], c.get("image", ""), init=True)
            for c in spec.get("initContainers") or []
        ]
        for record in self.init:
            record.set_waiting("PodInitializing")
        self.app = [
            ContainerRecord(c["name"], c.get("image", "")) for c in spec.get("containers") or []
        ]
        for record in self.app:
            record.set_waiting("PodInitializing" if has_init else "ContainerCreating")
        carry_over_restarts(self.app, pod)
        self.specs = {
            **{("init", c["name"]): c for c in spec.get("initContainers") or []},
            **{("app", c["name"]): c for c in spec.get("containers") or []},
        }
        self.handles: dict[str, object] = {}
        self.launches: dict[str, ContainerLaunch] = {}
        self.probers: dict[str, list[Prober]] = {}
        self.pod_ip: str | None = None
        self.sandbox_ready = False
        self.init_failed = False
        self.terminal = False
        self.start_time: str | None = None
        self.volume_paths: dict[str, str] = {}
        self.pod_dir = (
            os.path.join(self.ctx.state_dir, "pods", self.uid) if self.ctx.state_dir else None
        )
        self.deleting = asyncio.Event()
        self.gone = False
        self._abandoned = False
        self._dirty = False
        self._flush_task: asyncio.Task | None = None
        self._task: asyncio.Task | None = None
        self._life: asyncio.Task | None = None
        self._children: set[asyncio.Task] = set()
        self.update(pod)

    # ----- inputs

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def update(self, pod: dict) -> None:
        self.pod = pod
        if pod["metadata"].get("deletionTimestamp"):
            self.deleting.set()

    def removed(self) -> None:
        """The object is gone (force deletion): kill, clean up, write nothing."""
        self.gone = True
        self.deleting.set()

    def abandon(self) -> None:
        self._abandoned = True
        self.gone = True
        self.deleting.set()

    async def wait_closed(self) -> None:
        if self._task is not None:
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    # ----- helpers

    @property
    def store(self):
        return self.ctx.store

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._children.add(task)
        task.add_done_callback(self._children.discard)
        task.add_done_callback(self._report_failure)
        return task

    def _report_failure(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "pod %s/%s: kubelet task failed",
                self.namespace,
                self.name,
                exc_info=task.exception(),
            )

    async def emit(self, event_type, reason, message, record: ContainerRecord | None = None):
        if self.gone:
            return
        await self.kubelet.emit(
            self.pod, event_type, reason, message, record.field_path if record else None
        )

    def mark_dirty(self) -> None:
        self._dirty = True
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(0)  # let changes of this loop turn pile up into one write
        await self.kubelet.reporting.wait()
        while self._dirty and not self.gone:
            self._dirty = False
            await self.write_status()

    async def write_status(self) -> None:
        stored = self.store.peek("pods", self.name, self.namespace)
        if stored is None or stored["metadata"]["uid"] != self.uid:
            return
        phase = pod_phase(
            self.restart_policy,
            self.init,
            self.app,
            init_failed=self.init_failed,
            terminal=self.terminal,
        )
        old_status = stored.get("status") or {}
        gates = [
            g["conditionType"] for g in (self.pod.get("spec") or {}).get("readinessGates") or []
        ]
        conditions_by_type = {c.get("type"): c for c in old_status.get("conditions") or []}
        gates_ok = all((conditions_by_type.get(g) or {}).get("status") == "True" for g in gates)
        owned = kubelet_conditions(phase, self.sandbox_ready, self.init, self.app, gates_ok)
        status = {
            "phase": phase,
            "conditions": merge_conditions(old_status.get("conditions") or [], owned),
            "hostIP": self.kubelet.node_ip,
            "hostIPs": [{"ip": self.kubelet.node_ip}],
            "startTime": self.start_time or now_rfc3339(),
            "qosClass": old_status.get("qosClass") or qos_class(self.pod),
            "containerStatuses": [c.to_status() for c in self.app],
        }
        if self.pod_ip:
            status["podIP"] = self.pod_ip
            status["podIPs"] = [{"ip": self.pod_ip}]
        if self.init:
            status["initContainerStatuses"] = [c.to_status() for c in self.init]
        try:
            await self.store.update_status(
                "pods",
                self.name,
                {"metadata": {"name": self.name}, "status": status},
                self.namespace,
            )
        except ApiError as error:
            if error.code != 404:
                log.warning("status of pod %s/%s not written: %s", self.namespace, self.name, error)

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            await asyncio.sleep(seconds)

    # ----- the pod's life

    async def _run(self) -> None:
        try:
            await self.kubelet.reporting.wait()
            if not self.deleting.is_set():
                self._life = self._spawn(self._lifecycle())
            await self.deleting.wait()
            await self._shutdown()
        except asyncio.CancelledError:
            await self._kill_all()
            raise
        except Exception:
            log.exception("pod worker %s/%s failed", self.namespace, self.name)
            await self._kill_all()
        finally:
            self._cleanup()

    async def _lifecycle(self) -> None:
        spec = self.pod.get("spec") or {}
        # a pod that ran before kubesim restarted keeps its startTime
        self.start_time = (self.pod.get("status") or {}).get("startTime") or now_rfc3339()
        if spec.get("hostNetwork"):
            self.pod_ip = self.kubelet.node_ip
        else:
            busy = listening_addresses() if self.ctx.runtime.name == "process" else frozenset()
            self.pod_ip = self.ctx.pod_ips.allocate(busy)
        self.mark_dirty()
        await self._setup_volumes()
        self.sandbox_ready = True
        self.mark_dirty()
        for record in self.init:
            container = self.specs[("init", record.name)]
            if container.get("restartPolicy") == "Always":  # a sidecar: keeps running
                started = asyncio.get_running_loop().create_future()
                self._spawn(self._container_loop(record, container, started))
                await started
                continue
            if not await self._run_init_container(record, container):
                self.init_failed = True
                for other in self.app:
                    other.set_waiting("PodInitializing")
                self.mark_dirty()
                return
        for record in self.app:
            if "waiting" in record.state:
                record.set_waiting("ContainerCreating")
        self.mark_dirty()
        loops = [
            self._spawn(self._container_loop(record, self.specs[("app", record.name)]))
            for record in self.app
        ]
        await asyncio.gather(*loops)

    async def _setup_volumes(self) -> None:
        backoff = 0.5
        write = self.ctx.runtime.name == "process"
        while True:
            try:
                self.volume_paths = vol.materialize(
                    self.pod, self.pod_dir, self._volume_sources(), write=write
                )
                return
            except vol.VolumeError as error:
                await self.emit(
                    "Warning", "FailedMount", f"MountVolume.SetUp failed for volume: {error}"
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    def _volume_sources(self) -> vol.VolumeSources:
        ns = self.namespace
        store = self.store
        return vol.VolumeSources(
            get_secret=lambda name: store.peek("secrets", name, ns),
            get_configmap=lambda name: self._configmap(name),
            get_pvc=lambda name: store.peek("persistentvolumeclaims", name, ns),
            get_pv=lambda name: store.peek("persistentvolumes", name),
            api_access=self.ctx.api_access,
            node_allocatable=self.kubelet.allocatable,
        )

    def _configmap(self, name: str):
        found = self.store.peek("configmaps", name, self.namespace)
        if found is None and name == "kube-root-ca.crt" and self.ctx.api_access:
            # the root-CA publisher's ConfigMap, for the service account volume
            return {"data": {"ca.crt": self.ctx.api_access.get("ca.crt", "")}}
        return found

    def _backoff(self, record: ContainerRecord, base: float) -> float:
        # the first restart is immediate, then base, 2*base, ... up to 5 minutes
        if record.restart_count == 0:
            return 0.0
        return min(base * 2 ** (record.restart_count - 1), MAX_BACKOFF)

    async def _run_init_container(self, record: ContainerRecord, container: dict) -> bool:
        while True:
            handle = await self._start_container(record, container)
            if handle is None:
                exit_code = record.terminated["exitCode"]
            else:
                exit_code = await handle.wait()
                self.handles.pop(record.name, None)
                record.set_terminated(exit_code)
            self.mark_dirty()
            if exit_code == 0:
                return True
            if self.restart_policy == "Never":
                return False
            await self._crash_backoff(record)

    async def _crash_backoff(self, record: ContainerRecord) -> None:
        delay = self._backoff(record, self.ctx.delays.crashloop_backoff)
        record.begin_restart()
        if delay > 0:
            record.set_waiting(
                "CrashLoopBackOff",
                f"back-off {int(delay)}s restarting failed container={record.name} "
                f"pod={self.name}_{self.namespace}({self.uid})",
            )
            self.mark_dirty()
            await self.emit(
                "Warning",
                "BackOff",
                f"Back-off restarting failed container {record.name} in pod "
                f"{self.name}_{self.namespace}({self.uid})",
                record,
            )
            await asyncio.sleep(delay)

    async def _container_loop(self, record: ContainerRecord, container: dict, started=None):
        while True:
            handle = await self._start_container(record, container)
            if started is not None and not started.done():
                started.set_result(True)
            if handle is None:
                exit_code = record.terminated["exitCode"]
            else:
                self._start_probes(record, container, handle)
                exit_code = await handle.wait()
                self._stop_probes(record.name)
                if self.deleting.is_set():
                    return  # shutdown reports the final state
                self.handles.pop(record.name, None)
                record.set_terminated(exit_code)
            self.mark_dirty()
            if self.restart_policy == "Never" or (
                self.restart_policy == "OnFailure" and exit_code == 0
            ):
                if container.get("restartPolicy") != "Always":
                    return
            await self._crash_backoff(record)

    async def _pull(self, record: ContainerRecord, container: dict) -> None:
        image = container.get("image", "")
        policy = container.get("imagePullPolicy") or default_pull_policy(image)
        rule = self.ctx.image_rules.find(image)
        backoff = self.ctx.delays.image_pull_backoff
        while True:
            if policy == "Never" or (policy == "IfNotPresent" and image in self.kubelet.images):
                await self.emit(
                    "Normal",
                    "Pulled",
                    f'Container image "{image}" already present on machine',
                    record,
                )
                return
            await self.emit("Normal", "Pulling", f'Pulling image "{image}"', record)
            started = time.monotonic()
            delay = rule.pull_delay if rule and rule.pull_delay is not None else None
            await self.sleep(self.ctx.delays.pulling if delay is None else delay)
            if not (rule and rule.pull_error):
                self.kubelet.images.add(image)
                took = go_duration(time.monotonic() - started)
                await self.emit(
                    "Normal",
                    "Pulled",
                    f'Successfully pulled image "{image}" in {took} ({took} including '
                    "waiting). Image size: 0 bytes.",
                    record,
                )
                return
            message = (
                f"rpc error: code = NotFound desc = failed to pull and unpack image "
                f'"{normalize_image(image)}": {rule.pull_error}'
            )
            record.set_waiting("ErrImagePull", message)
            self.mark_dirty()
            await self.emit(
                "Warning", "Failed", f'Failed to pull image "{image}": {message}', record
            )
            await self.emit("Warning", "Failed", "Error: ErrImagePull", record)
            await asyncio.sleep(min(1.0, backoff))
            record.set_waiting("ImagePullBackOff", f'Back-off pulling image "{image}"')
            self.mark_dirty()
            await self.emit("Normal", "BackOff", f'Back-off pulling image "{image}"', record)
            await self.emit("Warning", "Failed", "Error: ImagePullBackOff", record)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _launch(self, record: ContainerRecord, container: dict) -> ContainerLaunch:
        ns = self.namespace
        store = self.store
        services = []
        env = self.ctx.kubernetes_env()
        if (self.pod.get("spec") or {}).get("enableServiceLinks", True):
            services = store.list("services", namespace=ns)[0]
            if env:  # the API server's real address wins over the "kubernetes" Service's
                services = [s for s in services if s["metadata"]["name"] != "kubernetes"]
            if self.ctx.runtime.name == "process":  # processes would really connect there
                services = [s for s in services if is_loopback(s["spec"].get("clusterIP"))]
        # the pod as the env sees it: with the IPs the status is about to carry
        view = {
            **self.pod,
            "status": {
                **(self.pod.get("status") or {}),
                "podIP": self.pod_ip,
                "podIPs": [{"ip": self.pod_ip}],
                "hostIP": self.kubelet.node_ip,
                "hostIPs": [{"ip": self.kubelet.node_ip}],
            },
        }
        env.update(
            build_env(
                view,
                container,
                get_secret=lambda name: store.peek("secrets", name, ns),
                get_configmap=self._configmap,
                services=services,
                node_allocatable=self.kubelet.allocatable,
            )
        )
        command, args = expand_command(container, env)
        security = {
            **((self.pod.get("spec") or {}).get("securityContext") or {}),
            **(container.get("securityContext") or {}),
        }
        pod_security = (self.pod.get("spec") or {}).get("securityContext") or {}
        groups = list(pod_security.get("supplementalGroups") or [])
        if pod_security.get("fsGroup") is not None:
            groups.append(pod_security["fsGroup"])
        mounts = []
        if self.ctx.runtime.name == "process":
            mounts = vol.container_mounts(
                self.pod, container, self.volume_paths, env, self.pod_dir, self.ctx.api_access
            )
        log_path = None
        if self.ctx.state_dir:
            log_path = os.path.join(
                self.ctx.state_dir,
                "logs",
                f"{ns}_{self.name}_{self.uid}",
                record.name,
                f"{record.restart_count}.log",
            )
        return ContainerLaunch(
            pod=view,
            container=container,
            init=record.init,
            pod_ip=self.pod_ip or "",
            env=env,
            command=command,
            args=args,
            has_args="args" in container,
            rule=self.ctx.image_rules.find(container.get("image", "")),
            log_path=log_path,
            pod_dir=self.pod_dir,
            mounts=mounts,
            run_as_user=security.get("runAsUser"),
            run_as_group=security.get("runAsGroup"),
            supplemental_groups=groups,
        )

    async def _start_container(self, record: ContainerRecord, container: dict):
        """Pull, create, start. None when the start itself failed (record is terminated)."""
        await self._pull(record, container)
        backoff = max(self.ctx.delays.crashloop_backoff, 0.1)
        while True:
            try:
                launch = self._launch(record, container)
                self.ctx.runtime.validate(launch)
                break
            except (EnvError, CreateContainerError, vol.VolumeError) as error:
                reason = (
                    "CreateContainerConfigError"
                    if isinstance(error, EnvError | vol.VolumeError)
                    else "CreateContainerError"
                )
                record.set_waiting(reason, str(error))
                self.mark_dirty()
                await self.emit("Warning", "Failed", f"Error: {error}", record)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
        await self.sleep(self.ctx.delays.creating)
        await self.emit("Normal", "Created", f"Created container: {record.name}", record)
        await self.sleep(self.ctx.delays.starting)
        try:
            handle = await self.ctx.runtime.start(launch)
        except CreateContainerError as error:
            record.set_terminated(128, "StartError", str(error))
            await self.emit("Warning", "Failed", f"Error: {error}", record)
            return None
        self.handles[record.name] = handle
        self.launches[record.name] = launch
        record.image_id = image_id(container.get("image", ""))
        record.set_running(handle.container_id)
        self.mark_dirty()
        await self.emit("Normal", "Started", f"Started container {record.name}", record)
        failure = await self._run_hook(record, container, handle, "postStart", 30.0)
        if failure:
            await self.emit("Warning", "FailedPostStartHook", failure, record)
            await self.emit("Normal", "Killing", "FailedPostStartHook", record)
            await handle.stop(self._grace())
        return handle

    def _grace(self) -> float:
        grace = (self.pod.get("spec") or {}).get("terminationGracePeriodSeconds")
        return 30 if grace is None else grace

    async def _run_hook(self, record, container, handle, which: str, timeout: float):
        """Run lifecycle.<which> (exec, httpGet or sleep); the failure message, or None."""
        hook = (container.get("lifecycle") or {}).get(which)
        if not hook:
            return None
        if "sleep" in hook:
            await self.sleep(min(float((hook["sleep"] or {}).get("seconds", 0)), timeout))
            return None
        if not self.ctx.runtime.probes_reach_network:
            return None  # the pause runtime has nothing to run a hook in
        where = f'Container "{record.name}" in Pod "{self.name}_{self.namespace}({self.uid})"'
        if "exec" in hook:
            command = (hook["exec"] or {}).get("command") or []
            launch = self.launches.get(record.name)
            if await self.ctx.runtime.exec_probe(launch, handle, command, timeout):
                return None
            return f"Exec lifecycle hook ({command}) for {where} failed"
        if "httpGet" in hook:
            if await http_probe(hook["httpGet"], self.pod_ip, container, timeout):
                return None
            return f"HTTP lifecycle hook ({hook['httpGet'].get('path', '/')}) for {where} failed"
        return None

    # ----- probes

    def _start_probes(self, record: ContainerRecord, container: dict, handle) -> None:
        if record.init and container.get("restartPolicy") != "Always":
            return
        self.probers[record.name] = []
        startup = container.get("startupProbe")
        if not (startup and self.ctx.runtime.probes_reach_network):
            self._start_main_probes(record, container, handle)
            return
        record.started = False  # until the startup probe passes; readiness waits for it

        def on_startup(passed: bool) -> None:
            if self.handles.get(record.name) is not handle or not record.running:
                return
            if passed:
                record.started = True
                self.mark_dirty()
                prober.stop()
                self._start_main_probes(record, container, handle)
            else:
                self._spawn(self._probe_kill(record, handle, "startup"))

        prober = Prober(startup, self._check(startup, container, handle), on_startup)
        self.probers[record.name].append(prober)

    def _start_main_probes(self, record: ContainerRecord, container: dict, handle) -> None:
        readiness = container.get("readinessProbe")
        liveness = container.get("livenessProbe")
        probers = self.probers.setdefault(record.name, [])
        network = self.ctx.runtime.probes_reach_network
        if readiness and network:

            def on_ready(passed: bool) -> None:
                if record.running and self.handles.get(record.name) is handle:
                    record.ready = passed
                    self.mark_dirty()

            probers.append(Prober(readiness, self._check(readiness, container, handle), on_ready))
        else:
            delay = self.ctx.delays.readiness
            if readiness:
                delay += probe_setting(readiness, "initialDelaySeconds")
            self._spawn(self._ready_after(record, handle, delay))
        if liveness and network:

            def on_alive(passed: bool) -> None:
                if not passed and record.running and not self.deleting.is_set():
                    self._spawn(self._probe_kill(record, handle, "liveness"))

            probers.append(
                Prober(liveness, self._check(liveness, container, handle), on_alive, initial=True)
            )

    async def _ready_after(self, record, handle, delay: float) -> None:
        await self.sleep(delay)
        if record.running and self.handles.get(record.name) is handle:
            record.ready = True
            self.mark_dirty()

    async def _probe_kill(self, record, handle, probe: str) -> None:
        await self.emit(
            "Normal",
            "Killing",
            f"Container {record.name} failed {probe} probe, will be restarted",
            record,
        )
        await self._stop(record, handle, self._grace())

    def _check(self, probe: dict, container: dict, handle):
        launch = self.launches.get(container["name"])

        async def check(timeout: float) -> bool:
            if "httpGet" in probe:
                return await http_probe(probe["httpGet"], self.pod_ip, container, timeout)
            if "tcpSocket" in probe:
                return await tcp_probe(probe["tcpSocket"], self.pod_ip, container, timeout)
            if "exec" in probe:
                command = (probe["exec"] or {}).get("command") or []
                return await self.ctx.runtime.exec_probe(launch, handle, command, timeout)
            return True  # grpc and others: not simulated

        return check

    def _stop_probes(self, name: str) -> None:
        for prober in self.probers.pop(name, []):
            prober.stop()

    # ----- the end

    async def _cancel_life(self) -> None:
        tasks = [t for t in self._children if not t.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        for name in list(self.probers):
            self._stop_probes(name)

    async def _kill_all(self) -> None:
        await self._cancel_life()
        handles = list(self.handles.values())
        for handle in handles:
            handle.kill()
        for handle in handles:
            try:
                await asyncio.wait_for(handle.wait(), 10)
            except (TimeoutError, Exception):
                pass

    async def _shutdown(self) -> None:
        await self._cancel_life()
        if self.gone:
            await self._kill_all()
            return
        await self.kubelet.reporting.wait()
        meta = self.pod["metadata"]
        grace = meta.get("deletionGracePeriodSeconds")
        if grace is None:
            grace = (self.pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
        running = [
            (r, self.handles[r.name]) for r in self.init + self.app if r.name in self.handles
        ]
        for record, _ in running:
            await self.emit("Normal", "Killing", f"Stopping container {record.name}", record)
        codes = await asyncio.gather(*(self._stop(r, h, grace) for r, h in running))
        for (record, _), code in zip(running, codes, strict=True):
            record.set_terminated(code)
        self.handles.clear()
        self.terminal = True
        self._dirty = False
        await self.kubelet.reporting.wait()
        if self.gone:
            return
        await self.write_status()
        await self.kubelet.reporting.wait()
        try:
            await self.store.delete(
                "pods",
                self.name,
                self.namespace,
                grace_period_seconds=0,
                preconditions={"uid": self.uid},
            )
        except ApiError as error:
            if error.code not in (404, 409):
                log.warning("pod %s/%s not deleted: %s", self.namespace, self.name, error)

    async def _stop(self, record: ContainerRecord, handle, grace: float) -> int:
        """preStop hook within the grace period, then SIGTERM, then SIGKILL."""
        started = time.monotonic()
        container = self.specs[("init" if record.init else "app", record.name)]
        try:
            failure = await asyncio.wait_for(
                self._run_hook(record, container, handle, "preStop", grace), max(grace, 0.001)
            )
        except TimeoutError:
            failure = None
            grace += 2  # like the kubelet: a one-off 2s extension when preStop overran
        if failure:
            await self.emit("Warning", "FailedPreStopHook", failure, record)
        return await handle.stop(max(grace - (time.monotonic() - started), 0))

    def _cleanup(self) -> None:
        if self.kubelet.workers.get(self.uid) is self:
            del self.kubelet.workers[self.uid]
        if self.pod_ip and self.pod_ip != self.kubelet.node_ip:
            self.ctx.pod_ips.release(self.pod_ip)
        self.ctx.recorder.forget(self.uid)
        if self.pod_dir and not self._abandoned:
            shutil.rmtree(self.pod_dir, ignore_errors=True)
        if self.ctx.state_dir and not self._abandoned:
            shutil.rmtree(
                os.path.join(
                    self.ctx.state_dir, "logs", f"{self.namespace}_{self.name}_{self.uid}"
                ),
                ignore_errors=True,
            )
