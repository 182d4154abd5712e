"""Upstream KubeSpawner 7.1.0's own test suite against kubesim.

Starts kubesim (process runtime, `images.yaml`), writes the kubeconfig the
suite loads (`KUBECONFIG`), copies the suite from ../shared (read-only) to a
work folder with `pytest.ini` beside it, and runs it with the conformance
virtualenv's pytest. Prints the pass/fail counts; a failure not listed in
`excluded.yaml` for this spawner (or a listed `unsupported` test that passes)
fails the run. `--spawner upstream` (the default) tests upstream's package,
`--spawner ours` our `kubespawner` (spawner/).

Called by ci/test-conformance, which builds the virtualenvs. `--ci` (the
stage ci/test runs) is the full run: 84-234 s in our runs, by the machine's load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SUITE = ROOT.parent / "shared" / "anchors" / "kubespawner-7.1.0" / "tests"


def start_kubesim(work: Path, venv: Path) -> tuple[subprocess.Popen, Path]:
    rules = work / "images.yaml"
    text = (HERE / "images.yaml").read_text()
    rules.write_text(text.replace("@VENV@", str(venv)).replace("@ROOT@", str(ROOT)))
    kubeconfig = work / "kubeconfig"
    log = open(work / "kubesim.log", "wb")
    process = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "python"),
            "-m",
            "kubesim",
            "--port",
            "0",
            "--write-kubeconfig",
            str(kubeconfig),
            "--runtime",
            "process",
            "--image-rules",
            str(rules),
            "--state-dir",
            str(work / "kubesim"),
            "--log-level",
            "INFO",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while not kubeconfig.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"kubesim did not start; see {work / 'kubesim.log'}")
        time.sleep(0.1)
    return process, kubeconfig


def load_excluded(spawner: str) -> dict[str, dict]:
    """The entries of excluded.yaml that apply to ``spawner`` (an entry's
    ``spawner``: upstream, ours, or both, the default)."""
    entries = yaml.safe_load((HERE / "excluded.yaml").read_text()) or []
    for entry in entries:
        if entry.get("kind") not in ("unsupported", "timing"):
            raise SystemExit(
                f"ci/conformance/excluded.yaml: {entry.get('test')}: kind "
                f"{entry.get('kind')!r} must be unsupported or timing"
            )
        if entry.get("spawner", "both") not in ("upstream", "ours", "both"):
            raise SystemExit(
                f"ci/conformance/excluded.yaml: {entry.get('test')}: spawner "
                f"{entry.get('spawner')!r} must be upstream, ours or both (the default)"
            )
    return {
        entry["test"]: entry
        for entry in entries
        if entry.get("spawner", "both") in (spawner, "both")
    }


def results(junit: Path) -> dict[str, str]:
    """test id (file::name) -> passed / failed / skipped."""
    found = {}
    for case in ET.parse(junit).iter("testcase"):
        module = case.get("classname", "").split(".")[-1]
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed"
            elif child.tag == "skipped":
                outcome = "skipped"
        found[f"{module}.py::{case.get('name')}"] = outcome
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spawner", choices=("upstream", "ours"), default="upstream")
    parser.add_argument("--venv", type=Path, required=True)
    parser.add_argument("--ci", action="store_true", help="ci/test's stage: the full run")
    parser.add_argument("--keep", type=Path, help="work folder to keep (default: a temp dir)")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments, e.g. -k ssl")
    options = parser.parse_args()
    options.venv = options.venv.resolve()
    work = options.keep or Path(tempfile.mkdtemp(prefix="kubesim-conformance-"))
    work.mkdir(parents=True, exist_ok=True)
    tests = work / "tests"
    shutil.rmtree(tests, ignore_errors=True)
    shutil.copytree(SUITE, tests)
    shutil.copy(HERE / "pytest.ini", work / "pytest.ini")
    kubesim, kubeconfig = start_kubesim(work, options.venv.resolve())
    junit = work / "junit.xml"
    env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "HOME": str(work / "home"),
        "PATH": f"{options.venv.resolve() / 'bin'}:{os.environ.get('PATH', '')}",
    }
    started = time.monotonic()
    try:
        run = subprocess.run(
            [
                str(options.venv / "bin" / "pytest"),
                "-c",
                str(work / "pytest.ini"),
                "--rootdir",
                str(work),
                "-q",
                "-rfE",
                "--junitxml",
                str(junit),
                str(tests),
                *options.pytest_args,
            ],
            cwd=work,
            env=env,
        )
    finally:
        kubesim.send_signal(signal.SIGTERM)
        try:
            kubesim.wait(30)
        except subprocess.TimeoutExpired:
            kubesim.kill()
    took = time.monotonic() - started
    if not junit.exists():  # e.g. the suite's conftest does not import with this spawner
        print(
            f"[conformance] spawner={options.spawner}: 0 passed: the suite did not load "
            f"(pytest exit {run.returncode}, its error above)"
        )
        return 1
    outcome = results(junit)
    counts = {
        k: sum(1 for v in outcome.values() if v == k) for k in ("passed", "failed", "skipped")
    }
    print(
        f"[conformance] spawner={options.spawner}: {counts['passed']} passed, "
        f"{counts['failed']} failed, {counts['skipped']} skipped of {len(outcome)} "
        f"in {took:.0f} s (work folder {work})"
    )
    excluded = load_excluded(options.spawner)
    unexpected = sorted(t for t, v in outcome.items() if v == "failed" and t not in excluded)
    fixed = sorted(
        t
        for t, v in outcome.items()
        if v == "passed" and excluded.get(t, {}).get("kind") == "unsupported"
    )
    for test in unexpected:
        print(f"[conformance] FAILED (not in ci/conformance/excluded.yaml): {test}")
    for test in fixed:
        print(f"[conformance] passes now, remove from ci/conformance/excluded.yaml: {test}")
    for test in sorted(t for t in excluded if outcome.get(t) == "failed"):
        entry = excluded[test]
        print(f"[conformance] failed as listed ({entry['kind']}): {test}: {entry['reason']}")
    if not options.keep and not unexpected:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if unexpected or fixed else 0


if __name__ == "__main__":
    sys.exit(main())
