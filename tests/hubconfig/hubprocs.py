"""Real processes for the slow tests: a throwaway PostgreSQL, the hub, the proxy."""

import contextlib
import glob
import json
import os
import shutil
import signal
import subprocess
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from localdeploy.ports import free_port

from .hubenv import REPO

CHP = REPO / "node_modules" / ".bin" / "configurable-http-proxy"
VENV_BIN = REPO / ".venv" / "bin"


# ------------------------------------------------------------------ PostgreSQL


@dataclass
class Postgres:
    port: int
    user: str
    password: str
    database: str

    @property
    def url(self):
        """The URL the hub gets; the password goes separately (PGPASSWORD)."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def connect(self):
        import psycopg2

        return psycopg2.connect(
            host="127.0.0.1",
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=self.database,
        )


def _pg_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (ci/setup installs Debian's postgresql)")
    return Path(found[-1]).parent


def _as_postgres(argv):
    """PostgreSQL refuses to run as root: drop to the postgres user when root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *map(str, argv)]
    return [str(a) for a in argv]


@contextlib.contextmanager
def postgres_cluster():
    """A throwaway cluster on a loopback port that asks for passwords over TCP."""
    bin_dir = _pg_bin()
    base = Path(tempfile.mkdtemp(prefix="hubconfig-pg-"))
    data, sockets = base / "data", base / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sockets, "postgres")
    port = free_port()
    pg = Postgres(port=port, user="jupyterhub", password="s3cret", database="jupyterhub")

    def run(*argv):
        subprocess.run(_as_postgres(argv), check=True, capture_output=True, text=True)

    run(bin_dir / "initdb", "-D", data, "-U", "postgres", "--auth-local=trust",
        "--auth-host=scram-sha-256")  # fmt: skip
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(bin_dir / "pg_ctl", "-D", data, "-o", options, "-l", base / "log", "-w", "start")
    try:
        sql = (
            f"CREATE ROLE {pg.user} LOGIN PASSWORD '{pg.password}'; "
            f"CREATE DATABASE {pg.database} OWNER {pg.user};"
        )
        for statement in sql.split("; "):
            run(bin_dir / "psql", "-h", sockets, "-p", port, "-U", "postgres", "-c", statement)
        yield pg
    finally:
        subprocess.run(
            _as_postgres([bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


# ------------------------------------------------------------------ hub + proxy


# No proxies from the environment: every request here goes to loopback.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def request(url, token=None, method="GET", timeout=10, body=None):
    """(status, body); status 0 when nothing answers yet. `body` is sent as JSON."""
    data = json.dumps(body).encode() if body is not None else b"" if method == "POST" else None
    req = urllib.request.Request(url, method=method, data=data)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"token {token}")
    try:
        with _OPENER.open(req, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, b""


def get(url, token=None):
    return request(url, token)


def post(url, token=None, body=None):
    return request(url, token, method="POST", body=body)


def delete(url, token=None):
    return request(url, token, method="DELETE")


class Process:
    """A child process with its output in a log file; stopped with SIGTERM."""

    def __init__(self, argv, env, cwd, log_path):
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(a) for a in argv],
            env=env,
            cwd=cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self):
        return self.log_path.read_text(errors="replace")

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=20):
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


def start_proxy(public_port, api_port, hub_url, token, workdir):
    env = {**os.environ, "CONFIGPROXY_AUTH_TOKEN": token}
    argv = [
        CHP,
        "--ip=127.0.0.1",
        f"--port={public_port}",
        "--api-ip=127.0.0.1",
        f"--api-port={api_port}",
        f"--default-target={hub_url}",
        f"--error-target={hub_url}/hub/error",
    ]
    return Process(argv, env, workdir, Path(workdir) / "proxy.log")


def hub_command_line(container):
    """The hub container's command line: its `command` and `args` (no `command`
    means the image's entrypoint, tini, runs the args, which begin with
    `jupyterhub`)."""
    line = [*container.get("command", []), *container.get("args", [])]
    assert line and line[0] == "jupyterhub", f"the hub container does not run jupyterhub: {line}"
    return line


def start_hub(root, env, workdir, command_line):
    """The Deployment's hub command line with jupyterhub from our virtualenv,
    $(Z2JH_CONFIG_ROOT) expanded."""
    env = {
        **os.environ,
        **env,
        "Z2JH_CONFIG_ROOT": str(root),
        "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
    }
    args = command_line[1:]
    argv = [VENV_BIN / "jupyterhub", *(a.replace("$(Z2JH_CONFIG_ROOT)", str(root)) for a in args)]
    return Process(argv, env, workdir, Path(workdir) / "hub.log")
