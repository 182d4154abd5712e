"""The process runtime: each container is a local subprocess.

Command: the container's `command` + `args`; where the container leaves them
out, the image's ENTRYPOINT/CMD come from the matching image rule
(`nodeconfig.ImageRule.command/args`). With neither, the container fails with
CreateContainerError naming the image and the fix; we never guess an image's
default command.

Addresses: see `pod_network` ("0.0.0.0" in env/command/args becomes the pod IP).
Python processes also get a `sitecustomize` (on PYTHONPATH), and Node.js
ones a `--require` shim (NODE_OPTIONS), that turn wildcard binds into binds
to the pod IP, so a server that defaults to 0.0.0.0 still gets its own address.

Volumes, two modes, chosen once at start:

- "namespace" (root with `unshare` and `setpriv`, as in our sandbox and CI):
  the process runs in its own mount namespace (`unshare --mount
  --propagation private`) where each materialised volume directory is
  bind-mounted onto its real `mountPath` (read-only when asked), so programs
  find files exactly where the pod spec says. Mount points missing on the
  host are created empty (the bind mount is private, but the directory
  itself is on the shared filesystem) and removed again on close() if still
  empty. `securityContext.runAsUser/runAsGroup` are honoured through setpriv.
  The container also gets its own PID namespace (`--pid --fork
  --kill-child`). Why a PID namespace for "a container is its main
  process": when its init (_CONTAINER_SCRIPT) exits, the kernel kills every
  process in it, setsid'd and double-forked ones included, with no polling;
  a cgroup would need delegation from the machine's cgroup manager, and
  PR_SET_CHILD_SUBREAPER only collects orphans, it kills none.
- "rewrite" (anything else): no namespaces, no mounts (a main process's
  setsid'd children keep its pipes and so its container running); every
  occurrence of a mountPath in
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
/etc/hosts bind-mounted (`pod_dns_files`; the nameserver is `cluster_dns`), and its
own UTS namespace with the pod's hostname (hostNetwork pods keep the machine's).

Output: stdout and stderr go to a log file in the CRI format the real kubelet
writes ("<RFC3339Nano> stdout F <line>"); `cri_logs.read_log` reads it back.
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
from dataclasses import dataclass
from datetime import UTC, datetime

from kubesim.node import pod_dns_files
from kubesim.node.node_settings import Delays
from kubesim.node.pause_runtime import PauseHandle, pause_handle
from kubesim.node.runtime import ContainerLaunch, CreateContainerError, Mount, new_container_id

# Runs as PID 1 of the container's own PID namespace (see ProcessRuntime): the
# mounts, then the container's command as its child with the container's
# stdin; exits with the command's status. When this init exits the kernel kills
# everything else in the namespace, setsid'd or double-forked. It traps no
# signal: the kernel drops a PID 1's default-action signals, so stop() signals
# the command itself (a trap forwarding them would lose those that arrive
# between the fork and the exec, while the child still has the shell's handlers).
_CONTAINER_SCRIPT = r"""
set -e
if [ -n "$1" ]; then echo "$1" > /proc/sys/kernel/hostname; fi
shift
n=$1; shift
while [ "$n" -gt 0 ]; do
  mount --bind "$1" "$2"
  if [ "$3" = ro ]; then mount -o remount,bind,ro "$2"; fi
  shift 3; n=$((n-1))
done
mount -t proc proc /proc 2>/dev/null || true
cd "$1"; shift
user=$1; group=$2; groups=$3; shift 4
if [ -n "$user" ]; then
  if [ -n "$groups" ]; then
    set -- setpriv --reuid="$user" --regid="$group" --groups="$groups" -- "$@"
  else
    set -- setpriv --reuid="$user" --regid="$group" --clear-groups -- "$@"
  fi
fi
set +e
exec 3<&0
"$@" <&3 3<&- &
exec 3<&-
wait $!
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

# Inside a pod, localhost is the pod's own network namespace: a sidecar or a
# hub-managed service reaching `localhost:8081` meets the pod's own server.
# Here those servers listen on the pod IP, so a connect to the loopback address
# on one of the pod's declared container ports goes there (other loopback
# ports, e.g. a host process the pod was pointed at, are left alone).
_POD_PORTS = frozenset({pod_ports!r})
_connect = _socket.socket.connect
_connect_ex = _socket.socket.connect_ex


def _own_address(sock, address):
    if isinstance(address, tuple) and len(address) >= 2 and address[1] in _POD_PORTS:
        if sock.family == _socket.AF_INET and address[0] in ("127.0.0.1", "localhost"):
            return (_POD_IP, *address[1:])
        if sock.family == _socket.AF_INET6 and address[0] in ("::1", "localhost"):
            return ("::ffff:" + _POD_IP, *address[1:])
    return address


def _pod_connect(self, address):
    return _connect(self, _own_address(self, address))


def _pod_connect_ex(self, address):
    return _connect_ex(self, _own_address(self, address))


_socket.socket.connect = _pod_connect
_socket.socket.connect_ex = _pod_connect_ex
# Pods here are IPv4 single-stack on one shared host: a `::` wildcard bind would
# take its port from every other pod (tornado binds 0.0.0.0 and :: for an empty
# address, so two JupyterHubs with `hub_bind_url = "http://:8081"` collide).
# Servers that ask (tornado's bind_sockets, for one) then bind IPv4 only.
_socket.has_ipv6 = False
"""


SHIM_MOUNT = "/run/kubesim-net"
HOME_MOUNT = "/run/kubesim-home"  # HOME of a runAsUser process whose image gives none


# The same for Node.js processes (NODE_OPTIONS=--require): configurable-http-proxy
# listens on every interface by default, which would take its ports from every pod.
_NODE_BIND_SHIM = """\
const net = require("net");
const POD_IP = {pod_ip};
const wildcard = (host) => host === undefined || host === null || ["", "0.0.0.0", "::"].includes(host);
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {{
  const first = args[0];
  if (first !== null && typeof first === "object" && first.port !== undefined && first.path === undefined) {{
    if (wildcard(first.host)) args[0] = Object.assign({{}}, first, {{ host: POD_IP }});
  }} else if (typeof first === "number" || (typeof first === "string" && /^\\d+$/.test(first))) {{
    if (typeof args[1] === "string" || args[1] === undefined || args[1] === null) {{
      if (wildcard(args[1])) args[1] = POD_IP;
    }} else {{
      args.splice(1, 0, POD_IP);
    }}
  }}
  return listen.apply(this, args);
}};
"""


def pod_container_ports(pod: dict) -> list[int]:
    """The TCP ports the pod's containers declare (they share one network)."""
    spec = pod.get("spec") or {}
    return sorted(
        {
            port["containerPort"]
            for container in (spec.get("initContainers") or []) + (spec.get("containers") or [])
            for port in container.get("ports") or []
            if isinstance(port.get("containerPort"), int)
            and (port.get("protocol") or "TCP") == "TCP"
        }
    )


def write_bind_shim(directory: str, pod_ip: str, pod_ports: list[int] = ()) -> str:
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "sitecustomize.py"), "w") as handle:
        handle.write(_BIND_SHIM.format(pod_ip=pod_ip, pod_ports=sorted(pod_ports)))
    with open(os.path.join(directory, "bind.js"), "w") as handle:
        handle.write(_NODE_BIND_SHIM.format(pod_ip=json.dumps(pod_ip)))
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


async def _copy_stream(reader: asyncio.StreamReader, stream: str, log_file, listeners) -> None:
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
        for listener in list(listeners):
            listener(stream, line)


@dataclass
class ExecContext:
    """What a process started in a running container (pods/exec) inherits from it."""

    mode: str  # "namespace" or "rewrite" (see the module docstring)
    env: dict[str, str]
    workdir: str
    run_as_user: int | None
    run_as_group: int | None
    supplemental_groups: list[int]


def _children(pid: int) -> list[int]:
    """Live processes whose parent is `pid` (/proc/PID/task/TID/children is not on
    every kernel)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # a zombie (state Z) takes a signal without effect: it is no live child
        if len(fields) > 1 and int(fields[1]) == pid and fields[0] != b"Z":
            found.append(int(entry))
    return found


def _namespace_pid(pid: int) -> int:
    """The PID a process has in its own (innermost) PID namespace."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("NSpid:"):
                    return int(line.split()[-1])
    except (OSError, ValueError):
        pass
    return 1 << 30


class ProcessHandle:
    """A running container. In namespace mode `pid` is `unshare`, whose one child is
    the container's init (PID 1 of its PID namespace); see _CONTAINER_SCRIPT."""

    def __init__(self, process: asyncio.subprocess.Process, log_file, context, container):
        self.container_id = new_container_id()
        self.process = process
        self.pid = process.pid
        self.context: ExecContext = context
        self.container = container
        self.listeners: set = set()  # callables (stream, bytes) of attached clients
        self.attached = 0  # attach sessions so far (stdinOnce closes stdin after the first)
        self._log_file = log_file
        loop = asyncio.get_running_loop()
        self._readers = [
            loop.create_task(_copy_stream(process.stdout, "stdout", log_file, self.listeners)),
            loop.create_task(_copy_stream(process.stderr, "stderr", log_file, self.listeners)),
        ]
        self._init_pid: int | None = None
        self._exit_code: int | None = None
        self._waiter = loop.create_task(self._wait())

    async def _wait(self) -> int:
        returncode = await self.process.wait()
        self._signal_group(signal.SIGKILL)  # rewrite mode: the container's other processes
        _, pending = await asyncio.wait(self._readers, timeout=2)
        for task in pending:
            task.cancel()
        self._log_file.close()
        self._exit_code = 128 - returncode if returncode < 0 else returncode
        return self._exit_code

    def init_pid(self) -> int | None:
        """The container's PID 1 (namespace mode), or None once it is gone."""
        if self.context.mode != "namespace" or self._waiter.done():
            return None
        if self._init_pid is None or not os.path.exists(f"/proc/{self._init_pid}"):
            children = _children(self.pid)
            self._init_pid = children[0] if children else None
        return self._init_pid

    def _signal_group(self, signum) -> None:
        try:
            os.killpg(self.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def main_pid(self) -> int | None:
        """The container's command: the init's first child (orphans it adopts come later)."""
        init = self.init_pid()
        children = _children(init) if init is not None else []
        return min(children, key=_namespace_pid) if children else None

    async def _terminate(self) -> None:
        """SIGTERM to the container's command, as the kubelet sends it to PID 1."""
        if self.context.mode != "namespace":
            self._signal_group(signal.SIGTERM)
            return
        # a container still starting has no command yet: wait for it (or its end)
        while not self._waiter.done():
            main = self.main_pid()
            if main is not None:
                try:
                    os.kill(main, signal.SIGTERM)
                    return
                except ProcessLookupError:
                    pass
            await asyncio.sleep(0.01)

    @property
    def exited(self) -> bool:
        return self._waiter.done()

    async def wait(self) -> int:
        return await asyncio.shield(self._waiter)

    async def stop(self, grace: float) -> int:
        if not self._waiter.done():
            deadline = asyncio.get_running_loop().time() + max(grace, 0)
            try:
                async with asyncio.timeout_at(deadline):
                    await self._terminate()
                    await asyncio.shield(self._waiter)
            except TimeoutError:
                self._signal_group(signal.SIGKILL)
        return await self.wait()

    def kill(self) -> None:
        # unshare and the init share our process group; --kill-child and the PID
        # namespace take care of everything the container started
        if not self._waiter.done():
            self._signal_group(signal.SIGKILL)


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
        env["HOSTNAME"] = pod_dns_files.pod_hostname(launch.pod) or launch.pod["metadata"]["name"]
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

    def _image_workdir_mount(self, launch: ContainerLaunch, workdir: str) -> list[Mount]:
        """The image's WORKDIR (an image rule's working_dir) is the container's own, as
        the image's files are: a fresh directory per container over it, so two
        containers of one image (two hubs writing jupyterhub.sqlite) never share it."""
        targets = {m.target.rstrip("/") for m in launch.mounts}
        rule_dir = launch.rule.working_dir if launch.rule else None
        own = not launch.container.get("workingDir") and rule_dir and workdir == rule_dir
        if not own or not launch.pod_dir:
            return []
        if any(workdir == t or workdir.startswith(t + "/") for t in targets):
            return []
        path = os.path.join(launch.pod_dir, "workdir", launch.container["name"])
        os.makedirs(path, exist_ok=True)
        os.chmod(path, 0o777)  # the image would own it; any runAsUser may write
        return [Mount(path, workdir, False)]

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
            shim = write_bind_shim(
                os.path.join(launch.pod_dir, "kubesim-net"),
                launch.pod_ip,
                pod_container_ports(launch.pod),
            )
            if self.mode == "namespace":
                # at a fixed path, so a runAsUser process need not traverse our state dir
                mounts.append(Mount(shim, SHIM_MOUNT, True))
                shim = SHIM_MOUNT
            env["PYTHONPATH"] = ":".join(p for p in (shim, env.get("PYTHONPATH")) if p)
            require = f"--require {os.path.join(shim, 'bind.js')}"
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
            mounts += self._image_workdir_mount(launch, workdir)
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
                "--pid",
                "--fork",
                "--kill-child",  # unshare killed -> the init killed -> the namespace
                "--",
                "/bin/sh",
                "-c",
                _CONTAINER_SCRIPT,
                "kubesim-container",
                pod_dns_files.pod_hostname(launch.pod),
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
        context = ExecContext(
            self.mode,
            env,
            workdir,
            launch.run_as_user,
            launch.run_as_group,
            list(launch.supplemental_groups),
        )
        return full_argv, argv, context, extra, log_file

    def _dns_mounts(self, launch: ContainerLaunch) -> list[Mount]:
        """The pod's own /etc/resolv.conf and /etc/hosts (see `pod_dns_files`), written to
        the pod directory and bind-mounted, as the kubelet mounts them; none for a
        path the container mounts a volume at, and no hosts file on hostNetwork."""
        pod = launch.pod
        wanted = {}
        with open("/etc/resolv.conf") as handle:
            host = pod_dns_files.parse_resolv_conf(handle.read())
        wanted["resolv.conf"] = pod_dns_files.resolv_conf(pod, self.cluster_nameserver, host)
        if not pod["spec"].get("hostNetwork"):
            wanted["hosts"] = pod_dns_files.hosts_file(pod, launch.pod_ip)
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
            full_argv, argv, context, extra, log_file = await asyncio.to_thread(
                self._prepare, launch
            )
        except OSError as error:  # e.g. a mount point or working dir that cannot be made
            raise CreateContainerError(
                f'failed to create container "{launch.container["name"]}": {error}'
            ) from None
        try:
            process = await asyncio.create_subprocess_exec(
                *full_argv,
                env=context.env,
                # `stdin: true` keeps a pipe open for pods/attach
                stdin=asyncio.subprocess.PIPE
                if launch.container.get("stdin")
                else asyncio.subprocess.DEVNULL,
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
        handle = ProcessHandle(process, log_file, context, launch.container)
        self.handles.add(handle)
        self._launches[handle] = launch
        handle._waiter.add_done_callback(lambda _: self._forget(handle))
        return handle

    def _forget(self, handle: ProcessHandle) -> None:
        self.handles.discard(handle)
        self._launches.pop(handle, None)

    def open_stream(self, handle: ProcessHandle, kind: str, options):
        """pods/exec or pods/attach (podstream.StreamOptions): starts the session."""
        from kubesim.node import process_exec

        if kind == "attach":

            async def attach():
                return process_exec.AttachSession(
                    handle, options.stdin, options.stdout, options.stderr
                )

            return attach

        async def execute():
            return await process_exec.start_exec(
                handle, options.command, options.stdin, options.stdout, options.stderr, options.tty
            )

        return execute

    async def exec_probe(self, launch: ContainerLaunch, handle, command, timeout: float) -> bool:
        """An exec probe: the command inside the container's mount namespace."""
        if isinstance(handle, PauseHandle):
            return True  # nothing runs, so there is nothing to fail
        if getattr(handle, "exited", True):
            return False
        argv = list(command)
        init = handle.init_pid()
        if init is not None:  # in the container's namespaces, so it dies with the container
            argv = ["nsenter", "-t", str(init), "-m", "-p", "-u", "--", *argv]
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
