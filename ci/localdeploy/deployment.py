"""The whole system on one machine, start to stop: kubesim (controllers on,
process runtime) and `helm upgrade --install` of the chart into it, so every
chart pod runs as a kubesim pod. `ci/dev up` drives this; the e2e tests and
benchmarks use it as a library:

    with LocalDeployment(Options(state_dir=..., port=...)) as dep:
        requests.get(dep.url + "hub/api")
"""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from . import components, render
from .imagerules import write_image_rules
from .kubeapi import ApiError, KubeClient
from .paths import (
    CHART,
    DEFAULT_STATE,
    DEV_CONFIG,
    HELM,
    POD_VENVS,
    VENV,
    StateLayout,
    tool_path,
)
from .podprocs import container_pids
from .podvenv import pod_venv
from .ports import port_free
from .procs import ComponentFailed, ManagedProcess, kill_recorded, tail
from .progress import Progress
from .simrunner import kubesim_process, start_kubesim
from .stuckrelease import PENDING, StuckRelease, recovery, release_status


@dataclass
class Options:
    state_dir: Path = DEFAULT_STATE
    port: int = 8080
    values: tuple[Path, ...] = ()  # after dev-config.yaml, later ones win
    runtime: str = "process"  # "pause": users' pods without processes (see _paused_images)
    nodes: int = 1
    kubesim_args: tuple[str, ...] = ()
    timeout: float = 300
    base_values: tuple[Path, ...] = field(default_factory=lambda: (DEV_CONFIG,))
    chart: Path = CHART
    hub_venv: Path = VENV  # our hub image's virtualenv (see images.yaml)
    z2jh_hub_venv: Path | None = None  # z2jh's hub image's (default: hub_venv)
    helm: Path = HELM  # the helm that installs, upgrades and rolls back (3 or 4)


# Container states a pod stays in when it cannot run (kubelet reasons).
FAILING = {
    "CrashLoopBackOff",
    "CreateContainerError",
    "CreateContainerConfigError",
    "ImagePullBackOff",
    "ErrImagePull",
    "RunContainerError",
}


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.status == 200


def _ready(pod: dict) -> bool:
    if pod["metadata"].get("deletionTimestamp"):
        return False
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


class LocalDeployment:
    def __init__(self, options: Options | None = None, progress: Progress | None = None):
        self.options = options or Options()
        self.progress = progress or Progress()
        self.layout = StateLayout(Path(self.options.state_dir).resolve())
        self.public_host = "127.0.0.1"
        self.client: KubeClient | None = None
        self.objects: list[dict] = []
        self.names: dict[str, str] = {}
        self.values: dict = {}
        self.kubesim: ManagedProcess | None = None
        self.balancer: ManagedProcess | None = None
        self.namespace = render.NAMESPACE

    # --- public facts ------------------------------------------------------
    @property
    def values_files(self) -> list[Path]:
        return [*self.options.base_values, *self.options.values]

    @property
    def base_url(self) -> str:
        return (self.values.get("hub", {}).get("baseUrl") or "/").rstrip("/") + "/"

    @property
    def url(self) -> str:
        return f"http://{self.public_host}:{self.options.port}{self.base_url}"

    @property
    def kubeconfig(self) -> Path:
        return self.layout.kubeconfig

    def hub_pod(self) -> dict:
        """The hub's current pod (the Deployment's newest ready one)."""
        pods = self.pods_of("hub")
        ready = [p for p in pods if _ready(p)]
        if not ready:
            raise ComponentFailed(f"no ready hub pod; hub log:\n{self.pod_log('hub')}")
        return max(ready, key=lambda p: p["metadata"]["creationTimestamp"])

    @property
    def hub_url(self) -> str:
        """The hub itself, not through the proxy: its pod's address."""
        return f"http://{self.hub_pod()['status']['podIP']}:8081{self.base_url}"

    def pods_of(self, short: str) -> list[dict]:
        """Pods of a rendered Deployment (short name: hub, proxy, ...)."""
        deployment = render.find(self.objects, "Deployment", self.names.get(short, short))
        if deployment is None:
            raise ComponentFailed(f"the chart rendered no Deployment {short!r}")
        labels = deployment["spec"]["selector"].get("matchLabels") or {}
        selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        return self.client.list("v1", "Pod", self.namespace, label_selector=selector)

    def pid_of(self, short: str) -> int:
        """The local process of a chart Deployment's newest pod's container."""
        pods = self.pods_of(short)
        for pod in sorted(pods, key=lambda p: p["metadata"]["creationTimestamp"], reverse=True):
            pids = container_pids(self.kubesim.pid, pod["metadata"]["name"])
            if pids:
                return pids[0]
        raise ComponentFailed(f"no process of a {short} pod runs")

    def pod_log(self, short: str) -> str:
        """The last lines `kubectl logs` shows of a chart pod (for errors)."""
        try:
            pods = self.pods_of(short)
            if not pods:
                return "(no pod)"
            return self.pod_log_of(pods[-1]["metadata"]["name"], previous=False)
        except (ApiError, OSError, ComponentFailed) as err:
            return f"(no log: {err})"

    # --- the steps -----------------------------------------------------------
    def start(self) -> "LocalDeployment":
        say = self.progress.say
        leftovers = kill_recorded(self.layout.pids)
        if leftovers:
            say("set-up", f"stopped leftovers of an earlier run: {', '.join(leftovers)}")
        if not port_free(self.public_host, self.options.port):
            raise ComponentFailed(
                f"port {self.public_host}:{self.options.port} is taken; choose another with "
                "--port, or stop what uses it (`ci/dev down` if it is another ci/dev)"
            )
        self.layout.logs.mkdir(parents=True, exist_ok=True)
        try:
            self._render()
            self._start_kubesim()
            self._start_balancer()
            self.install()
            self.wait_public()
        except BaseException:
            self.stop()
            raise
        return self

    def _render(self) -> None:
        """helm template with the same files: the names and values ci/dev
        needs before the install (the user-scheduler's name, the base URL)."""
        say = self.progress.say
        text = render.render(self.values_files, chart=self.options.chart)
        self.layout.rendered.write_text(text)
        self.objects = render.parse_manifests(text)
        self.names = components.resource_names(self.objects)
        self.values = components.rendered_values(self.objects, self.names)
        say("render", f"{len(self.objects)} objects (helm template, in {self.layout.rendered})")

    def _start_kubesim(self) -> None:
        say = self.progress.say
        rules = write_image_rules(
            self.layout.image_rules,
            hub_venv=pod_venv(self.options.hub_venv, POD_VENVS),
            z2jh_hub_venv=self.options.z2jh_hub_venv
            and pod_venv(self.options.z2jh_hub_venv, POD_VENVS),
            pod_venv=pod_venv(VENV, POD_VENVS),
            paused=self._paused_images(),
        )
        say(
            "kubesim",
            f"starting (controllers, process runtime{self._runtime_note()}, image rules {rules}, "
            f"state in {self.layout.kubesim_state})",
        )
        scheduler = components.user_scheduler_name(self.values, self.names)
        extra = ("--scheduler-name", scheduler) if scheduler else ()
        self.kubesim = kubesim_process(
            self.layout.kubeconfig,
            self.layout.kubesim_state,
            self.layout.log("kubesim"),
            self._env(),
            self.layout.pids,
            rules,
            nodes=self.options.nodes,
            extra_args=extra + tuple(self.options.kubesim_args),
        )
        self.client = start_kubesim(self.kubesim, self.layout.kubeconfig, self.options.timeout)
        say("kubesim", f"ready at {self.client.creds.server} (kubeconfig {self.layout.kubeconfig})")
        if scheduler:
            say(
                "kubesim",
                f"stand-in: kubesim's scheduler serves {scheduler!r} (the user-scheduler's "
                "kube-scheduler pods run a stand-in that only answers health checks)",
            )

    def _paused_images(self) -> tuple[str, ...]:
        """With runtime "pause", users' pods run without processes (benchmarks):
        the singleuser image gets kubesim's `pause` rule; chart pods still run."""
        if self.options.runtime != "pause":
            return ()
        image = self.values.get("singleuser", {}).get("image", {})
        return (f"{image['name']}:{image['tag']}",)

    def _runtime_note(self) -> str:
        paused = self._paused_images()
        return f"; no processes for {', '.join(paused)}" if paused else ""

    def _start_balancer(self) -> None:
        """The stand-in for the cloud's load balancer of proxy-public."""
        listen = f"{self.public_host}:{self.options.port}"
        argv = [
            sys.executable,
            # -P: no working directory on sys.path, where the repository's kubesim/
            # folder would shadow the installed kubesim package (`from kubesim import`)
            "-P",
            "-m",
            "localdeploy.loadbalancer",
            "--kubeconfig",
            str(self.layout.kubeconfig),
            "--namespace",
            self.namespace,
            "--service",
            self.names["proxy-public"],
            "--listen",
            listen,
            "--timeout",
            str(self.options.timeout),
        ]
        self.balancer = ManagedProcess(
            "loadbalancer",
            argv,
            self._env(),
            self.layout.log("loadbalancer"),
            None,
            self.layout.pids,
        ).start()
        self.progress.say(
            "kubesim",
            f"stand-in: the LoadBalancer Service {self.names['proxy-public']} is published "
            f"on {listen}",
        )

    def _env(self) -> dict[str, str]:
        env = {
            "PATH": tool_path(),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "KUBECONFIG": str(self.layout.kubeconfig),
        }
        home = self.layout.helm_home
        env.update(
            HELM_CACHE_HOME=str(home / "cache"),
            HELM_CONFIG_HOME=str(home / "config"),
            HELM_DATA_HOME=str(home / "data"),
            HOME=os.environ.get("HOME", str(home)),
        )
        return env

    def helm(self, *args: str, what: str = "helm", timeout: float | None = None) -> str:
        """Run helm against this deployment's kubesim; its output goes to
        helm.log. A chart pod that keeps failing (what `kubectl get pods`
        would show a user) stops it early, with that pod's log, rather than
        after helm's whole --wait timeout."""
        argv = [str(self.options.helm), *args]
        log_path = self.layout.log("helm")
        out_path = self.layout.logs / "helm.out"
        with open(out_path, "w") as out:
            proc = subprocess.Popen(
                argv, env=self._env(), stdout=out, stderr=subprocess.STDOUT, text=True
            )
        deadline = time.monotonic() + (timeout or self.options.timeout + 60)
        failing = None
        try:
            while proc.poll() is None and not failing and time.monotonic() < deadline:
                time.sleep(0.5)
                failing = self.failing_pod()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        output = out_path.read_text()
        with open(log_path, "a") as log:
            log.write(f"\n=== {time.strftime('%H:%M:%S')} {' '.join(argv)}\n{output}")
        if failing:
            pod = failing.split()[1]
            raise ComponentFailed(
                f"{what} stopped: {failing}; last lines of its log:\n{self.pod_log_of(pod)}"
            )
        if proc.returncode != 0:
            reason = "no answer in time" if proc.returncode < 0 else f"exit {proc.returncode}"
            raise ComponentFailed(
                f"{what} failed ({reason}):\n{output.strip()[-3000:]}\n"
                f"hub pod's log:\n{self.pod_log('hub')}"
            )
        return output

    def failing_pod(self) -> str | None:
        """'pod NAME is REASON' for a chart pod whose container keeps failing
        (chart pods have an owner: a ReplicaSet, StatefulSet, Job, DaemonSet;
        users' servers have none and may fail on their own)."""
        try:
            pods = self.client.list("v1", "Pod", self.namespace)
        except (ApiError, OSError):
            return None
        for pod in pods:
            if not pod["metadata"].get("ownerReferences"):
                continue
            for status in (pod.get("status") or {}).get("containerStatuses") or []:
                waiting = (status.get("state") or {}).get("waiting") or {}
                if waiting.get("reason") in FAILING:
                    message = f": {waiting['message']}" if waiting.get("message") else ""
                    return f"pod {pod['metadata']['name']} is {waiting['reason']}{message}"
        return None

    def pod_log_of(self, pod: str, previous: bool = True) -> str:
        base = f"/api/v1/namespaces/{self.namespace}/pods/{pod}/log?tailLines=30"
        try:
            return self.client.request_text("GET", base + ("&previous=true" if previous else ""))
        except (ApiError, OSError) as err:
            return f"(no log: {err})"

    def install(self, values: tuple[Path, ...] | None = None) -> str:
        """`helm upgrade --install` (the first time an install, then an
        upgrade); returns helm's output (NOTES included)."""
        say = self.progress.say
        if values is not None:
            self.options.values = tuple(values)
        render.check_files(self.values_files)
        self._clear_pending_release()
        command = render.helm_install_command(
            self.values_files, chart=self.options.chart, timeout=self.options.timeout
        )
        say("helm", " ".join(["helm", *command[1:]]))
        output = self.helm(*command[1:], what="helm upgrade --install")
        say("helm", f"release {render.RELEASE} deployed: {self.describe_pods()}")
        return output

    def _clear_pending_release(self) -> None:
        """A release an earlier run left pending-* blocks every helm upgrade:
        clear it as an operator would (see stuckrelease.py), saying so."""
        # every status by name: helm 4 has no `--all` (helm 3's "show every status")
        statuses = ("--deployed", "--failed", "--pending", "--superseded", "--uninstalling")
        output = self.helm(
            "list", "--namespace", self.namespace, *statuses, "--output", "json", what="helm list"
        )
        # helm's warnings (e.g. about the kubeconfig's mode) share the output
        lines = [line for line in output.splitlines() if line.startswith("[")]
        status = release_status(json.loads(lines[-1]) if lines else [], render.RELEASE)
        things = self.users_things() if status in PENDING else []
        try:
            fix = recovery(status, render.RELEASE, self.namespace, things)
        except StuckRelease as err:
            raise ComponentFailed(str(err)) from None
        if fix:
            self.progress.say("helm", fix.why)
            self.progress.say("helm", " ".join(["helm", *fix.helm_args]))
            self.helm(*fix.helm_args, what=f"helm {fix.helm_args[0]}")

    def users_things(self) -> list[str]:
        """Users' claims and servers in the namespace (what the chart did not render)."""
        rendered = {
            o["metadata"]["name"] for o in self.objects if o["kind"] == "PersistentVolumeClaim"
        }
        claims = [
            f"pvc/{c['metadata']['name']}"
            for c in self.client.list("v1", "PersistentVolumeClaim", self.namespace)
            if c["metadata"]["name"] not in rendered
        ]
        servers = [
            f"pod/{p['metadata']['name']}"
            for p in self.client.list(
                "v1", "Pod", self.namespace, label_selector="component=singleuser-server"
            )
        ]
        return claims + servers

    def use_chart(self, chart: Path) -> None:
        """From now on the release is `chart` (a z2jh install moving to ours,
        or a rollback): its names and values are read again."""
        self.options.chart = Path(chart)
        self._render()

    def upgrade_to_chart(self, chart: Path) -> str:
        """`helm upgrade` of the same release to another chart, same values files."""
        self.use_chart(chart)
        return self.install()

    def describe_pods(self) -> str:
        pods = self.client.list("v1", "Pod", self.namespace)
        phases = [
            f"{p['metadata']['name']} {(p.get('status') or {}).get('phase', '?')}" for p in pods
        ]
        return ", ".join(sorted(phases)) or "no pods"

    def wait_public(self) -> None:
        """Until the hub answers /hub/health through proxy-public."""
        self.balancer.wait_until(
            lambda: _http_ok(self.url + "hub/health"),
            self.options.timeout,
            "reaching the hub through the public port",
        )

    # --- the hub pod ---------------------------------------------------------
    def kill_hub(self) -> str:
        """Delete the hub pod with no grace period, as when its node dies;
        the Deployment makes a new one. Returns the old pod's name."""
        old = self.hub_pod()["metadata"]["name"]
        path = f"/api/v1/namespaces/{self.namespace}/pods/{old}"
        self.client.request("DELETE", path, {"gracePeriodSeconds": 0})
        return old

    def wait_hub(self, old: str | None = None) -> dict:
        """Until a hub pod (other than `old`) is ready and reachable through the proxy."""
        deadline = time.monotonic() + self.options.timeout
        while True:
            try:
                pod = self.hub_pod()
                if pod["metadata"]["name"] != old and _http_ok(self.url + "hub/health"):
                    return pod
            except (ComponentFailed, OSError):
                pass
            if time.monotonic() > deadline:
                raise ComponentFailed(
                    f"no new ready hub pod after {self.options.timeout:.0f} s; "
                    f"hub log:\n{self.pod_log('hub')}"
                )
            time.sleep(0.2)

    # --- stop ----------------------------------------------------------------
    def stop(self) -> None:
        """Stop everything this deployment started: the load balancer, then
        kubesim, which stops every pod (hub, proxy, users' servers) and
        keeps every object in its state folder for the next start."""
        for proc in (self.balancer, self.kubesim):
            if proc is not None:
                proc.stop(grace=30)

    def failure(self) -> ComponentFailed | None:
        """Why the deployment no longer runs (a stand-in or kubesim exited)."""
        for proc in (self.kubesim, self.balancer):
            if proc is not None and not proc.alive():
                return proc.failure(f"exited with code {proc.proc.returncode}")
        return None

    def __enter__(self) -> "LocalDeployment":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def purge(state_dir: Path) -> None:
    layout = StateLayout(Path(state_dir).resolve())
    kill_recorded(layout.pids)
    if layout.root.exists():
        shutil.rmtree(layout.root)


__all__ = ["LocalDeployment", "Options", "purge", "tail"]
