"""A view of a virtualenv that a pod's non-root user can run.

Pods run as their runAsUser (the hub as 1000, the awaiter as 65534), but
.venv's interpreter may be a link into a folder only root may enter (e.g.
pyenv under /root). The first exec still works (setpriv drops root's
capabilities only at that exec), every later one fails: the hub could not
start its idle culler with sys.executable. So pods get a virtualenv on the
system's own interpreter of the same Python version, whose site-packages
load .venv's (editable installs included), and whose console scripts are
.venv's with their first line pointing at it; its etc/ and share/ (Jupyter's
config and data, e.g. which server extensions are on) are .venv's."""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def reachable_by_others(path: Path) -> bool:
    """Whether a user other than root can execute `path` (every folder on the way)."""
    real = Path(os.path.realpath(path))
    for folder in real.parents:
        if not os.stat(folder).st_mode & 0o001:
            return False
    return bool(os.stat(real).st_mode & 0o001)


def system_python(version=sys.version_info) -> Path | None:
    candidate = Path(f"/usr/bin/python{version.major}.{version.minor}")
    return candidate if candidate.exists() and reachable_by_others(candidate) else None


def site_packages(venv: Path) -> Path:
    found = sorted((venv / "lib").glob("python3*/site-packages"))
    if not found:
        raise FileNotFoundError(f"{venv} has no lib/python3*/site-packages; is it a virtualenv?")
    return found[0]


def pod_venv(source: Path, folder: Path) -> Path:
    """`source` if others can run its interpreter, else its view under `folder`
    (made once per source; outside any state folder, which may be under a
    path a pod mounts over, such as /tmp)."""
    source = Path(source).resolve()
    python = system_python()
    if reachable_by_others(source / "bin" / "python3") or python is None:
        return source
    dest = Path(folder) / hashlib.sha256(str(source).encode()).hexdigest()[:12]
    if (dest / ".made-from").exists():
        return dest
    folder.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=".building-", dir=folder))
    building.chmod(0o755)  # mkdtemp makes it 0700
    _make_view(python, source, building, dest)
    try:
        building.rename(dest)
    except OSError:  # another deployment made it meanwhile
        shutil.rmtree(building, ignore_errors=True)
    return dest


def _make_view(python: Path, source: Path, building: Path, dest: Path) -> None:
    """The view, built in `building`, to be renamed to `dest`."""
    subprocess.run([str(python), "-m", "venv", "--without-pip", str(building)], check=True)
    # the venv's own paths name `building`; only pyvenv.cfg and scripts hold them
    for data in ("etc", "share"):  # jupyter's config and data paths follow sys.prefix
        if (source / data).exists():
            os.symlink(source / data, building / data)
    (site_packages(building) / "zz-pod-venv.pth").write_text(
        f"import site; site.addsitedir({str(site_packages(source))!r})\n"
    )
    for script in (source / "bin").iterdir():
        if script.name.startswith("python") or not script.is_file() or script.is_symlink():
            continue
        with open(script, "rb") as handle:
            first = handle.readline()
        if not first.startswith(b"#!") or str(source).encode() not in first:
            continue
        body = script.read_bytes().split(b"\n", 1)[1]
        target = building / "bin" / script.name
        target.write_bytes(f"#!{dest}/bin/python3\n".encode() + body)
        target.chmod(0o755)
    (building / ".made-from").write_text(str(source))
