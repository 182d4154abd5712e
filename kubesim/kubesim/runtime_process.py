"""The process runtime: each container is a local subprocess.

Command: the container's `command` + `args`; where the container leaves them
out, the image's ENTRYPOINT/CMD come from the matching image rule
(`nodeconfig.ImageRule.command/args`). With neither, the container fails with
CreateContainerError naming the image and the fix; we never guess an image's
default command.

Addresses: see `podnet` ("0.0.0.0" in env/command/args becomes the pod IP).
Python processes also get a `sitecustomize` (on PYTHONPATH) that turns
wildcard IPv4 binds into binds to the pod IP, so a server that defaults to
0.0.0.0 still gets its own address.

Volumes, two modes, chosen once at start:

- "namespace" (root with `unshare` and `setpriv`, as in our sandbox and CI):
  the process runs in its own mount namespace (`unshare --mount
  --propagation private`) where each materialised volume directory is
  bind-mounted onto its real `mountPath` (read-only when asked), so programs
  find files exactly where the pod spec says. Mount points missing on the
  host are created empty (the bind mount is private, but the directory
  itself is on the shared filesystem) and removed again on close() if still
  empty. `securityContext.runAsUser/runAsGroup` are honoured through setpriv.
- "rewrite" (anything else): no mounts; every occurrence of a mountPath in
  the env values, command, args and workingDir is replaced by the
  materialised directory. Enough for programs that take their paths from
  configuration; readOnly is not enforced and runAsUser needs root.

Image files (`ImageRule.files`, {path in the image: host path}): the image's
own files, copied afresh into the pod's folder at every container start (a
container starts from its image, not from its last run's changes), then
bind-mounted at their path before the volumes (read-only with
`readOnlyRootFilesystem`); in "rewrite" mode their paths are rewritten like
mountPaths. Volumes mounted inside such a path get their mount point in the copy.

Node.js processes get the same wildcard-bind rule as Python ones through
`NODE_OPTIONS=--require` (a `listen()` on "", "0.0.0.0" or "::" listens on
the pod IP).

Images whose rule says `pause` get no process: their containers run as in
the pause runtime (benchmarks: many users' pods beside a hub that runs).

DNS (namespace mode): each container gets the pod's resolv.conf and managed
/etc/hosts bind-mounted (`poddns`; the nameserver is `clusterdns`), and its
own UTS namespace with the pod's hostname (hostNetwork pods keep the machine's).

Output: stdout and stderr go to a log file in the CRI format the real kubelet
writes ("<RFC3339Nano> stdout F <line>"); `logs.read_log` reads it back.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from datetime import UTC, datetime

from . import poddns
from .nodeconfig import Delays
from .runtime import ContainerLaunch, CreateContainerError, Mount, new_container_id
from .runtime_pause import PauseHandle, pause_handle

_MOUNT_SCRIPT = r"""
set -e
if [ -n "$1" ]; then echo "$1" > /proc/sys/kernel/hostname; fi
shift
n=$1; shift
while [ "$n" -gt 0 ]; do
  mount --bind "$1" "$2"
  if [ "$3" = ro ]; then mount -o remount,bind,ro "$2"; fi
  shift 3; n=$((n-1))
done
cd "$1"; shift
user=$1; group=$2; groups=$3; shift 4
if [ -n "$user" ]; then
  if [ -n "$groups" ]; then
    exec setpriv --reuid="$user" --regid="$group" --groups="$groups" -- "$@"
  fi
  exec setpriv --reuid="$user" --regid="$group" --clear-groups -- "$@"
fi
exec "$@"
"""


# Imported by every Python process of a pod (PYTHONPATH): a wildcard IPv4 bind
# ("0.0.0.0" or "") becomes a bind to the pod IP, which a container's own
# network namespace would give it for free. Without it two pods whose servers
# default to 0.0.0.0:8888 (and anything else on that port) would collide.
_BIND_SHIM = """\
import socket as _socket

_POD_IP = {pod_ip!r}
_bind = _socket.socket.bind


def _pod_bind(self, address):
    if self.family == _socket.AF_INET and isinstance(address, tuple):
        if address and address[0] in ("", "0.0.0.0"):
            address = (_POD_IP, *address[1:])
    return _bind(self, address)


_socket.socket.bind = _pod_bind
"""


# The same for Node.js (NODE_OPTIONS=--require): net.Server.listen() on a
# wildcard host (or none) listens on the pod IP.
_NODE_BIND_SHIM = """\
const net = require("net");
const POD_IP = {pod_ip_json};
const WILDCARD = new Set(["", "0.0.0.0", "::", "::0"]);
const listen = net.Server.prototype.listen;
function isPort(value) {{
  return typeof value === "number" || (typeof value === "string" && /^\\d+$/.test(value));
}}
net.Server.prototype.listen = function (...args) {{
  const first = args[0];
  if (isPort(first)) {{
    const host = args[1];
    if (typeof host === "string") {{
      if (WILDCARD.has(host)) args[1] = POD_IP;
    }} else if (host === undefined || host === null) {{
      args[1] = POD_IP;
    }} else {{
      args.splice(1, 0, POD_IP);  // listen(port, backlog | callback)
    }}
  }} else if (first && typeof first === "object" && first.port !== undefined && !first.path) {{
    if (first.host === undefined || WILDCARD.has(first.host)) args[0] = {{ ...first, host: POD_IP }};
  }}
  return listen.apply(this, args);
}};
"""


SHIM_MOUNT = "/run/kubesim-net"
HOME_MOUNT = "/run/kubesim-home"  # HOME of a runAsUser process whose image gives none


def write_bind_shim(directory: str, pod_ip: str) -> str:
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "sitecustomize.py"), "w") as handle:
        handle.write(_BIND_SHIM.format(pod_ip=pod_ip))
    with open(os.path.join(directory, "bind.js"), "w") as handle:
        handle.write(_NODE_BIND_SHIM.format(pod_ip_json=json.dumps(pod_ip)))
    return directory


def copy_image_files(launch: ContainerLaunch) -> list[Mount]:
    """A fresh copy of the image's own files (the rule's `files`), as mounts."""
    rule = launch.rule
    if not rule or not rule.files:
        return []
    base = os.path.join(launch.pod_dir or "/tmp", "image-files", launch.container["name"])
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base, exist_ok=True)
    context = launch.container.get("securityContext") or {}
    read_only = bool(context.get("readOnlyRootFilesystem"))
    mounts = []
    for index, (target, source) in enumerate(sorted(rule.files.items())):
        copy = os.path.join(base, str(index))
        if os.path.isdir(source):
            shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__"))
        elif os.path.isfile(source):
            shutil.copy2(source, copy)
        else:
            image = launch.container.get("image")
            raise CreateContainerError(
                f'kubesim process runtime: image rule for "{image}" gives files {target}: '
                f"{source}, which does not exist on this machine; fix the rule's files"
            )
        mounts.append(Mount(copy, target, read_only))
    return mounts


def _inside(path: str, directory: str) -> bool:
    return path.rstrip("/").startswith(directory.rstrip("/") + "/")


def mount_order(mounts: list[Mount]) -> list[Mount]:
    """Mounts whose target would hide another mount's source go last (e.g. an
    emptyDir at /tmp while the state folder is under /tmp): a bind mount keeps
    its source once made. Not when another mount goes inside that target."""

    def hides(mount):
        others = [o for o in mounts if o is not mount]
        return any(_inside(o.source, mount.target) for o in others) and not any(
            _inside(o.target, mount.target) for o in others
        )

    late = [m for m in mounts if hides(m)]
    return [m for m in mounts if m not in late] + late


def make_mountpoints_in_copies(image_mounts: list[Mount], volume_mounts: list[Mount]) -> set:
    """Mount points of volumes inside an image-files path are made in its copy
    (the real mount point is read-only there). Returns those volumes' targets."""
    handled = set()
    for volume in volume_mounts:
        for image in image_mounts:
            if not _inside(volume.target, image.target) or not os.path.isdir(image.source):
                continue
            relative = os.path.relpath(volume.target.rstrip("/"), image.target.rstrip("/"))
            point = os.path.join(image.source, relative)
            if os.path.isdir(volume.source):
                os.makedirs(point, exist_ok=True)
            elif not os.path.exists(point):
                os.makedirs(os.path.dirname(point), exist_ok=True)
                open(point, "a").close()
            handled.add(volume.target)
    return handled


def namespaces_available() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("setpriv"):
        return False
    try:
        probe = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "true"],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


def resolve_argv(launch: ContainerLaunch) -> list[str]:
    """Kubernetes command/args over the image's ENTRYPOINT/CMD."""
    rule = launch.rule
    image_entrypoint = list(rule.command or []) if rule else []
    image_cmd = list(rule.args or []) if rule else []
    if launch.command:
        argv = launch.command + launch.args
    elif launch.has_args:
        argv = image_entrypoint + launch.args
    else:
        argv = image_entrypoint + image_cmd
    if not argv:
        image = launch.container.get("image")
        raise CreateContainerError(
            f'kubesim process runtime: image "{image}" has no known entrypoint; set '
            f"command in the container, or give NodeSimulator an image rule "
            f"{{'image': '{image}', 'command': [...]}}"
        )
    return argv


# Capabilities that let a container reconfigure the network it runs in. Here a
# container's network is this machine's own (pods only get a loopback address),
# so an iptables init container would rewrite the host's firewall.
HOST_CHANGING_CAPABILITIES = {"NET_ADMIN", "NET_RAW", "SYS_ADMIN", "ALL"}


def refuse_host_network_admin(container: dict) -> None:
    context = container.get("securityContext") or {}
    added = {c.upper() for c in (context.get("capabilities") or {}).get("add") or []}
    wanted = sorted(added & HOST_CHANGING_CAPABILITIES)
    if context.get("privileged"):
        wanted.insert(0, "privileged")
    if wanted:
        raise CreateContainerError(
            f'kubesim\'s process runtime does not run container "{container["name"]}" '
            f"({', '.join(wanted)}): without a network namespace of its own it would "
            "change this machine's network; drop that container from the pod (for the "
            "chart: singleuser.cloudMetadata.blockWithIptables: false)"
        )


def _rewrite_ip(value: str, pod_ip: str) -> str:
    return value.replace("0.0.0.0", pod_ip)


def _path_rewriter(mounts):
    """Replace mountPaths with their host directories (longest path first)."""
    pairs = sorted(((m.target.rstrip("/"), m.source) for m in mounts), key=lambda p: -len(p[0]))
    if not pairs:
        return lambda value: value
    pattern = re.compile(
        "|".join(f"(?:{re.escape(target)})(?=/|$|[^\\w.-])" for target, _ in pairs)
    )
    lookup = dict(pairs)
    return lambda value: pattern.sub(lambda m: lookup[m.group(0)], value)


def _timestamp() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond:06d}000Z"


async def _copy_stream(reader: asyncio.StreamReader, stream: str, log_file) -> None:
    while True:
        line = await reader.readline()
        if not line:
            return
        complete = line.endswith(b"\n")
        text = line[:-1] if complete else line
        log_file.write(
            f"{_timestamp()} {stream} {'F' if complete else 'P'} ".encode() + text + b"\n"
        )
        log_file.flush()


class ProcessHandle:
    def __init__(self, process: asyncio.subprocess.Process, log_file, readers):
        self.container_id = new_container_id()
        self.process = process
        self.pid = process.pid
        self._log_file = log_file
        self._readers = readers
        self._exit_code: int | None = None
        self._waiter = asyncio.get_running_loop().create_task(self._wait())

    async def _wait(self) -> int:
        returncode = await self.process.wait()
        self._signal_group(signal.SIGKILL)  # the container's other processes go with it
        if self._readers:
            _, pending = await asyncio.wait(self._readers, timeout=2)
            for task in pending:
                task.cancel()
        self._log_file.close()
        self._exit_code = 128 - returncode if returncode < 0 else returncode
        return self._exit_code

    def _signal_group(self, signum) -> None:
        try:
            os.killpg(self.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    @property
    def exited(self) -> bool:
        return self._waiter.done()

    async def wait(self) -> int:
        return await asyncio.shield(self._waiter)

    async def stop(self, grace: float) -> int:
        if not self._waiter.done():
            # Children in sessions of their own (the hub's idle culler) leave the
            # process group and, once the main process is gone, its tree: as a
            # container runtime ends every process of the container, the ones
            # found now are killed after the main process.
            family = descendants(self.pid)
            self._signal_group(signal.SIGTERM)
            if not await self._main_exits(max(grace, 0)):
                self._signal_group(signal.SIGKILL)
                await self._main_exits(10)
            _kill_all(family)
        return await self.wait()

    async def _main_exits(self, timeout: float) -> bool:
        """Whether the main process exited within `timeout`. Not self.wait():
        asyncio's wait() also waits until no process holds our stdout/stderr
        pipes, and the children left to kill still do."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.process.returncode is None:
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    def kill(self) -> None:
        if not self._waiter.done():
            family = descendants(self.pid)
            self._signal_group(signal.SIGKILL)
            _kill_all(family)


def _stat(pid) -> tuple[int, int] | None:
    """(parent pid, start time) of a process, None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return int(fields[1]), int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def descendants(pid: int) -> list[tuple[int, int]]:
    """(pid, start time) of every process below `pid` now."""
    children: dict[int, list[tuple[int, int]]] = {}
    for entry in os.listdir("/proc"):
        facts = _stat(entry) if entry.isdigit() else None
        if facts:
            children.setdefault(facts[0], []).append((int(entry), facts[1]))
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo += children.get(child[0], [])
    return found


def _kill_all(processes: list[tuple[int, int]]) -> None:
    for pid, started in processes:
        facts = _stat(pid)
        if facts and facts[1] == started:  # the same process, not a reused pid
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


class ProcessRuntime:
    name = "process"

    def __init__(self, mode: str = "auto", delays=None):
        if mode == "auto":
            mode = "namespace" if namespaces_available() else "rewrite"
        if mode not in ("namespace", "rewrite"):
            raise ValueError(f"process runtime mount mode {mode!r}: use 'namespace' or 'rewrite'")
        self.mode = mode
        self.delays = delays if delays is not None else Delays()
        self.handles: set[ProcessHandle] = set()
        self._created_paths: list[str] = []
        self._launches: dict[ProcessHandle, ContainerLaunch] = {}
        # where ClusterFirst pods send DNS queries (port 53; set by the NodeSimulator
        # once cluster DNS listens); None: they keep this machine's resolv.conf
        self.cluster_nameserver: str | None = None

    @property
    def probes_reach_network(self) -> bool:
        return True

    def _base_env(self, launch: ContainerLaunch) -> dict[str, str]:
        host_path = os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")
        # the interpreter running kubesim first, so "python", "jupyterhub" etc. resolve to it
        env = {"PATH": f"{os.path.dirname(sys.executable)}:{host_path}"}
        for key in ("LANG", "LC_ALL", "TZ"):
            if key in os.environ:
                env[key] = os.environ[key]
        env["HOSTNAME"] = poddns.pod_hostname(launch.pod) or launch.pod["metadata"]["name"]
        if launch.rule:
            env.update(launch.rule.env)
        env.update(launch.env)
        if "HOME" not in env:
            if launch.run_as_user in (None, 0):
                env["HOME"] = "/root"
            else:
                home = os.path.join(launch.pod_dir or "/tmp", "home")
                os.makedirs(home, exist_ok=True)
                os.chmod(home, 0o777)
                env["HOME"] = home
        return env

    def _track_missing(self, path: str) -> None:
        """Remember the topmost ancestor of `path` that does not exist yet (for close())."""
        missing = path
        parent = os.path.dirname(path)
        while parent and parent != missing and not os.path.exists(parent):
            missing = parent
            parent = os.path.dirname(parent)
        self._created_paths.append(missing)

    def _ensure_mountpoint(self, mount) -> None:
        target = mount.target
        if os.path.lexists(target):
            return
        self._track_missing(target)
        if os.path.isdir(mount.source):
            os.makedirs(target, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            open(target, "a").close()

    def validate(self, launch: ContainerLaunch) -> None:
        """Raise CreateContainerError before "Created" when there is nothing to run,
        or when running it would change this machine itself."""
        refuse_host_network_admin(launch.container)
        if not (launch.rule and launch.rule.pause):
            resolve_argv(launch)

    def _prepare(self, launch: ContainerLaunch):
        """argv, env, extra subprocess options and the open log file (blocking I/O)."""
        argv = [_rewrite_ip(a, launch.pod_ip) for a in resolve_argv(launch)]
        env = {k: _rewrite_ip(v, launch.pod_ip) for k, v in self._base_env(launch).items()}
        image_mounts = sorted(copy_image_files(launch), key=lambda m: len(m.target))
        mounts = image_mounts + list(launch.mounts)
        if launch.pod_dir and launch.pod_ip and not launch.pod["spec"].get("hostNetwork"):
            shim = write_bind_shim(os.path.join(launch.pod_dir, "kubesim-net"), launch.pod_ip)
            if self.mode == "namespace":
                # at a fixed path, so a runAsUser process need not traverse our state dir
                mounts.append(Mount(shim, SHIM_MOUNT, True))
                shim = SHIM_MOUNT
            env["PYTHONPATH"] = ":".join(p for p in (shim, env.get("PYTHONPATH")) if p)
            require = f"--require {shim}/bind.js"
            env["NODE_OPTIONS"] = " ".join(p for p in (require, env.get("NODE_OPTIONS")) if p)
        if self.mode == "namespace" and launch.pod_dir:
            mounts += self._dns_mounts(launch)
        own_home = os.path.join(launch.pod_dir or "/tmp", "home")
        if self.mode == "namespace" and env.get("HOME") == own_home:
            mounts.append(Mount(own_home, HOME_MOUNT, False))
            env["HOME"] = HOME_MOUNT
        rule = launch.rule
        workdir = launch.container.get("workingDir") or (rule.working_dir if rule else None) or "/"
        if self.mode == "rewrite":
            rewrite = _path_rewriter(image_mounts + list(launch.mounts))
            argv = [rewrite(a) for a in argv]
            env = {k: rewrite(v) for k, v in env.items()}
            workdir = rewrite(workdir)
            os.makedirs(workdir, exist_ok=True)
            full_argv = argv
            extra = {
                "cwd": workdir,
                "user": launch.run_as_user,
                "group": launch.run_as_group,
                "extra_groups": launch.supplemental_groups or None,
            }
        else:
            in_copies = make_mountpoints_in_copies(image_mounts, list(launch.mounts))
            for mount in mounts:
                if mount.target not in in_copies:
                    self._ensure_mountpoint(mount)
            mounts = mount_order(mounts)
            mount_args = [str(len(mounts))]
            for mount in mounts:
                mount_args += [mount.source, mount.target, "ro" if mount.read_only else "rw"]
            user = "" if launch.run_as_user is None else str(launch.run_as_user)
            group = str(launch.run_as_group if launch.run_as_group is not None else 0)
            groups = ",".join(str(g) for g in launch.supplemental_groups)
            if not os.path.exists(workdir) and not any(
                workdir == m.target or workdir.startswith(m.target.rstrip("/") + "/")
                for m in launch.mounts
            ):
                self._track_missing(workdir)
                os.makedirs(workdir, exist_ok=True)
                os.chmod(workdir, 0o777)  # the image would own it; any runAsUser may write
            full_argv = [
                "unshare",
                "--mount",
                "--uts",  # its own hostname, as each pod sandbox has
                "--propagation",
                "private",
                "--",
                "/bin/sh",
                "-c",
                _MOUNT_SCRIPT,
                "kubesim-container",
                poddns.pod_hostname(launch.pod),
                *mount_args,
                workdir,
                user,
                group,
                groups,
                "--",
                *argv,
            ]
            extra = {}
        os.makedirs(os.path.dirname(launch.log_path), exist_ok=True)
        log_file = open(launch.log_path, "ab")
        return full_argv, argv, env, extra, log_file

    def _dns_mounts(self, launch: ContainerLaunch) -> list[Mount]:
        """The pod's own /etc/resolv.conf and /etc/hosts (see `poddns`), written to
        the pod directory and bind-mounted, as the kubelet mounts them; none for a
        path the container mounts a volume at, and no hosts file on hostNetwork."""
        pod = launch.pod
        wanted = {}
        with open("/etc/resolv.conf") as handle:
            host = poddns.parse_resolv_conf(handle.read())
        wanted["resolv.conf"] = poddns.resolv_conf(pod, self.cluster_nameserver, host)
        if not pod["spec"].get("hostNetwork"):
            wanted["hosts"] = poddns.hosts_file(pod, launch.pod_ip)
        directory = os.path.join(launch.pod_dir, "kubesim-dns")
        os.makedirs(directory, exist_ok=True)
        taken = {m.target.rstrip("/") for m in launch.mounts}
        mounts = []
        for name, text in wanted.items():
            target = f"/etc/{name}"
            if target in taken:
                continue
            path = os.path.join(directory, name)
            with open(path, "w") as handle:
                handle.write(text)
            os.chmod(path, 0o644)
            mounts.append(Mount(path, target, False))
        return mounts

    async def start(self, launch: ContainerLaunch):
        if launch.rule and launch.rule.pause:
            return pause_handle(launch, self.delays)
        try:
            full_argv, argv, env, extra, log_file = await asyncio.to_thread(self._prepare, launch)
        except OSError as error:  # e.g. a mount point or working dir that cannot be made
            raise CreateContainerError(
                f'failed to create container "{launch.container["name"]}": {error}'
            ) from None
        try:
            process = await asyncio.create_subprocess_exec(
                *full_argv,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                **{k: v for k, v in extra.items() if v is not None},
            )
        except OSError as error:
            log_file.close()
            raise CreateContainerError(
                f'failed to start container "{launch.container["name"]}": exec: '
                f'"{argv[0]}": {error.strerror or error}'
            ) from None
        readers = [
            asyncio.get_running_loop().create_task(
                _copy_stream(process.stdout, "stdout", log_file)
            ),
            asyncio.get_running_loop().create_task(
                _copy_stream(process.stderr, "stderr", log_file)
            ),
        ]
        handle = ProcessHandle(process, log_file, readers)
        self.handles.add(handle)
        self._launches[handle] = launch
        handle._waiter.add_done_callback(lambda _: self._forget(handle))
        return handle

    def _forget(self, handle: ProcessHandle) -> None:
        self.handles.discard(handle)
        self._launches.pop(handle, None)

    async def exec_probe(self, launch: ContainerLaunch, handle, command, timeout: float) -> bool:
        """An exec probe: the command inside the container's mount namespace."""
        if isinstance(handle, PauseHandle):
            return True  # nothing runs, so there is nothing to fail
        if getattr(handle, "exited", True):
            return False
        argv = list(command)
        if self.mode == "namespace":
            argv = ["nsenter", "-t", str(handle.pid), "-m", "--", *argv]
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                env=self._base_env(launch),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError:
            return False
        try:
            return await asyncio.wait_for(process.wait(), timeout) == 0
        except TimeoutError:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            await process.wait()
            return False

    async def close(self) -> None:
        """Kill every process this runtime started and wait for them."""
        handles = list(self.handles)
        for handle in handles:
            handle.kill()
        for handle in handles:
            try:
                await asyncio.wait_for(handle.wait(), 10)
            except (TimeoutError, asyncio.CancelledError):
                pass
        in_use = await asyncio.to_thread(_mount_points_in_use)
        for path in reversed(self._created_paths):
            # another kubesim's containers may still have mounts there: removing the
            # directory would detach them
            if not any(m == path or m.startswith(path.rstrip("/") + "/") for m in in_use):
                _remove_empty(path)
        self._created_paths.clear()


def _mount_points_in_use() -> set[str]:
    """Mount points of every process's mount namespace (from /proc/<pid>/mountinfo)."""
    found: set[str] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/mountinfo") as table:
                for line in table:
                    fields = line.split()
                    if len(fields) > 4:
                        found.add(fields[4].replace("\\040", " "))
        except OSError:
            continue
    return found


def _remove_empty(path: str) -> None:
    """Remove a mount point we created, but only if nothing was put inside it."""
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            for entry in os.listdir(path):
                _remove_empty(os.path.join(path, entry))
            os.rmdir(path)
        elif os.path.isfile(path) and os.path.getsize(path) == 0:
            os.unlink(path)
    except OSError:
        pass
