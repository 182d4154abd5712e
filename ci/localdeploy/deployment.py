"""The whole system on one machine, start to stop. `ci/dev up` drives this;
the e2e tests and benchmarks use it as a library:

    with LocalDeployment(Options(state_dir=..., port=...)) as dep:
        requests.get(dep.url + "hub/api")
"""

import shutil
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from . import components, render
from .addresses import pod_address, pod_subnet, port_free
from .apply import apply_all
from .incluster import in_cluster_argv, mount_namespaces_work
from .keep import restore_claims, save_claims
from .kubeapi import KubeClient, read_kubeconfig
from .localpod import LocalPod, kubernetes_service_env, prepare_launch, services_env
from .paths import (
    DEFAULT_STATE,
    DEV_CONFIG,
    HUB_CONFIG_FILES,
    HUB_IMAGE_DIR,
    StateLayout,
    tool_path,
)
from .podenv import PodFacts
from .procs import ComponentFailed, ManagedProcess, kill_recorded
from .progress import Progress
from .simrunner import kubesim_process, start_kubesim
from .volumes import host_path, link_image_files, write_service_account

# What the hub image holds at its config root (images/hub/Dockerfile).
HUB_IMAGE_ROOT = "/usr/local/etc/jupyterhub"
# Env vars of the chart's pods that hold a path inside the image.
PATH_ENV = ("Z2JH_CONFIG_ROOT",)


@dataclass
class Options:
    state_dir: Path = DEFAULT_STATE
    port: int = 8080
    values: tuple[Path, ...] = ()  # after dev-config.yaml, later ones win
    runtime: str = "process"  # kubesim runtime for users' pods
    nodes: int = 1
    kubesim_args: tuple[str, ...] = ()
    timeout: float = 180
    base_values: tuple[Path, ...] = field(default_factory=lambda: (DEV_CONFIG,))


def _http_ok(url: str, headers: dict | None = None) -> bool:
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return resp.status == 200


class LocalDeployment:
    def __init__(self, options: Options | None = None, progress: Progress | None = None):
        self.options = options or Options()
        self.progress = progress or Progress()
        self.layout = StateLayout(Path(self.options.state_dir).resolve())
        subnet = pod_subnet(str(self.layout.root))
        self.hub_address = pod_address(subnet, 0)
        self.proxy_address = pod_address(subnet, 1)
        self.public_host = "127.0.0.1"
        self.client: KubeClient | None = None
        self.objects: list[dict] = []
        self.names: dict[str, str] = {}
        self.values: dict = {}
        self.services: dict[str, str] = {}
        self.kubesim: ManagedProcess | None = None
        self.hub: ManagedProcess | None = None
        self.proxy: ManagedProcess | None = None
        self.namespace = render.NAMESPACE
        self._claims_restored = False

    # --- public facts ------------------------------------------------------
    @property
    def base_url(self) -> str:
        return (self.values.get("hub", {}).get("baseUrl") or "/").rstrip("/") + "/"

    @property
    def url(self) -> str:
        return f"http://{self.public_host}:{self.options.port}{self.base_url}"

    @property
    def hub_url(self) -> str:
        """The hub itself, not through the proxy."""
        return f"http://{self.hub_address}:{self._service('hub', 'PORT')}{self.base_url}"

    @property
    def kubeconfig(self) -> Path:
        return self.layout.kubeconfig

    def _service(self, short: str, what: str) -> str:
        prefix = self.names[short].upper().replace("-", "_")
        return self.services[f"{prefix}_SERVICE_{what}"]

    # --- the steps -----------------------------------------------------------
    def start(self) -> "LocalDeployment":
        say = self.progress.say
        leftovers = kill_recorded(self.layout.pids)
        if leftovers:
            say("set-up", f"stopped leftovers of an earlier run: {', '.join(leftovers)}")
        self._check_ports()
        self.layout.logs.mkdir(parents=True, exist_ok=True)
        try:
            self._render()
            self._start_kubesim()
            self._apply()
            self.start_proxy()
            self.start_hub()
            self._wait_public()
        except BaseException:
            self.stop()
            raise
        return self

    def _check_ports(self) -> None:
        wanted = [(self.public_host, self.options.port)]
        for host, port in wanted:
            if not port_free(host, port):
                raise ComponentFailed(
                    f"port {host}:{port} is taken; choose another with --port, "
                    "or stop what uses it (`ci/dev down` if it is another ci/dev)"
                )

    def _render(self) -> None:
        say = self.progress.say
        generated = render.ensure_generated_values(self.layout.generated_values)
        files = [generated, *self.options.base_values, *self.options.values]
        say("render", "helm template " + " ".join(f"-f {f}" for f in files))
        text = render.render(files)
        self.layout.rendered.write_text(text)
        self.objects = render.parse_manifests(text)
        self.names = components.resource_names(self.objects)
        self.values = components.rendered_values(self.objects, self.names)
        say("render", f"{len(self.objects)} objects (saved in {self.layout.rendered})")

    def _start_kubesim(self) -> None:
        say = self.progress.say
        say(
            "kubesim",
            f"starting ({self.options.runtime} runtime, state in {self.layout.kubesim_state})",
        )
        self.kubesim = kubesim_process(
            self.layout.kubeconfig,
            self.layout.kubesim_state,
            self.layout.log("kubesim"),
            self._base_env(),
            self.layout.pids,
            runtime=self.options.runtime,
            nodes=self.options.nodes,
            extra_args=self._scheduler_args() + tuple(self.options.kubesim_args),
        )
        self.client = start_kubesim(self.kubesim, self.layout.kubeconfig, self.options.timeout)
        say("kubesim", f"ready at {self.client.creds.server} (kubeconfig {self.layout.kubeconfig})")

    def _scheduler_args(self) -> tuple[str, ...]:
        """The chart's user-scheduler is a kube-scheduler Deployment, which
        cannot run here; kubesim's scheduler serves its scheduler name in
        its place, so users' pods that ask for it are still scheduled."""
        enabled = self.values.get("scheduling", {}).get("userScheduler", {}).get("enabled")
        name = self.names.get("user-scheduler")
        return ("--scheduler-name", name) if enabled and name else ()

    def _apply(self) -> None:
        say = self.progress.say
        report = apply_all(self.client, self.objects, self.namespace)
        for line in report.skipped:
            say("apply", f"skipped {line}")
        say(
            "apply",
            f"{len(report.created)} created, {len(report.replaced)} updated, "
            f"{len(report.kept)} kept from the last run",
        )
        restored = restore_claims(self.client, self.layout.kept_claims)
        self._claims_restored = True  # from now on kubesim holds every claim we know
        if restored:
            say("apply", f"{restored} users' claims from the last run created again")

    def save_claims(self) -> None:
        """Remember users' claims for the next run (see keep.py). Not before
        the last run's claims are back in kubesim: that would forget them."""
        if self._claims_restored and self.kubesim and self.kubesim.alive():
            rendered = {
                o["metadata"]["name"] for o in self.objects if o["kind"] == "PersistentVolumeClaim"
            }
            save_claims(self.client, self.namespace, rendered, self.layout.kept_claims)

    # --- pods ci/dev runs itself -------------------------------------------
    def _base_env(self) -> dict[str, str]:
        """What an image would set: the tools on PATH, a locale."""
        return {"PATH": tool_path(), "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1"}

    def _pods(self) -> tuple[LocalPod, LocalPod]:
        hub = components.hub_pod(self.objects, self.names, self.hub_address)
        proxy = components.proxy_pod(self.objects, self.names, self.proxy_address)
        return hub, proxy

    def _facts(self, pod: LocalPod) -> PodFacts:
        """The pod's identity plus the live Secrets and ConfigMaps (a user's
        own Secret, e.g. hub.existingSecret, is there too)."""
        configmaps, secrets = components.configmaps_and_secrets(
            self.client.list("v1", "ConfigMap", self.namespace),
            self.client.list("v1", "Secret", self.namespace),
        )
        return PodFacts(
            name=f"{pod.name}-local",
            namespace=self.namespace,
            pod_ip=pod.address,
            uid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.layout.root}/{pod.name}")),
            service_account=pod.spec.get("serviceAccountName", "default"),
            labels=pod.labels,
            annotations=pod.template.get("metadata", {}).get("annotations") or {},
            secrets=secrets,
            configmaps=configmaps,
        )

    def _compute_services(self) -> None:
        hub, proxy = self._pods()
        services = [o for o in self.objects if o["kind"] == "Service"]
        published = {self.names["proxy-public"]: (self.public_host, self.options.port)}
        self.services = services_env(services, [hub, proxy], published)
        self.services.update(kubernetes_service_env(self.client.creds.server))

    def _launch(self, pod: LocalPod, image_files: dict[str, Path]):
        if not self.services:
            self._compute_services()
        pod_dir = self.layout.pod_dir(pod.name)
        fs_root = pod_dir / "fs"
        link_image_files(fs_root, image_files)
        env = self._base_env()
        env["HOME"] = str(host_path(fs_root, "/home/jovyan"))
        launch = prepare_launch(
            pod,
            self._facts(pod),
            self.services,
            fs_root,
            self.layout.claim_dir,
            path_env=PATH_ENV,
            base_env=env,
        )
        Path(launch.env["HOME"]).mkdir(parents=True, exist_ok=True)
        argv = launch.argv
        if launch.automount_token:
            creds = read_kubeconfig(self.layout.kubeconfig)
            token_dir = write_service_account(
                pod_dir / "serviceaccount", creds.token or "", creds.ca_pem or "", self.namespace
            )
            if mount_namespaces_work():
                argv = in_cluster_argv(argv, token_dir)
            else:
                # no mount namespaces (not root?): the client falls back to KUBECONFIG
                launch.env["KUBECONFIG"] = str(self.layout.kubeconfig)
        return argv, launch

    def start_proxy(self) -> None:
        say = self.progress.say
        _, proxy = self._pods()
        argv, launch = self._launch(proxy, {})
        argv = components.publish_proxy(argv, self.public_host, self.options.port, proxy.address)
        self.proxy = ManagedProcess(
            "proxy", argv, launch.env, self.layout.log("proxy"), launch.cwd, self.layout.pids
        ).start()
        api = f"http://{self._service('proxy-api', 'HOST')}:{self._service('proxy-api', 'PORT')}"
        token = launch.env.get("CONFIGPROXY_AUTH_TOKEN", "")
        self.proxy.wait_until(
            lambda: _http_ok(f"{api}/api/routes", {"Authorization": f"token {token}"}),
            self.options.timeout,
            "answering on its API",
        )
        say("proxy", f"API at {api}, public side at http://{self.public_host}:{self.options.port}")

    def start_hub(self) -> None:
        say = self.progress.say
        hub, _ = self._pods()
        image_files = {
            f"{HUB_IMAGE_ROOT}/{name}": HUB_IMAGE_DIR / name for name in HUB_CONFIG_FILES
        }
        argv, launch = self._launch(hub, image_files)
        say("hub", "starting " + " ".join(launch.argv))
        self.hub = ManagedProcess(
            "hub", argv, launch.env, self.layout.log("hub"), launch.cwd, self.layout.pids
        ).start()
        self.hub.wait_until(
            lambda: _http_ok(self.hub_url + "hub/health"), self.options.timeout, "healthy"
        )
        say("hub", f"healthy at {self.hub_url}")

    def stop_hub(self) -> None:
        if self.hub:
            self.hub.stop()

    def kill_hub(self) -> None:
        """SIGKILL the hub, as when its pod dies without warning."""
        if self.hub:
            self.hub.kill()

    def _wait_public(self) -> None:
        self.proxy.wait_until(
            lambda: _http_ok(self.url + "hub/health"),
            self.options.timeout,
            "reaching the hub through its public port",
        )

    # --- stop ----------------------------------------------------------------
    def stop(self) -> None:
        """Stop everything this deployment started: the hub first (user
        servers keep running, as on a hub upgrade), then the proxy, then
        kubesim, which stops users' pods."""
        try:
            self.save_claims()
        except Exception as err:  # noqa: BLE001 - stopping matters more
            self.progress.say("down", f"could not save users' claims: {err}")
        for proc in (self.hub, self.proxy, self.kubesim):
            if proc is not None:
                proc.stop()

    def __enter__(self) -> "LocalDeployment":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def purge(state_dir: Path) -> None:
    layout = StateLayout(Path(state_dir).resolve())
    kill_recorded(layout.pids)
    if layout.root.exists():
        shutil.rmtree(layout.root)
