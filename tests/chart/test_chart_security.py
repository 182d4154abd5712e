"""Security of the chart's own pods: a checkov scan of the default render,
the letsencrypt HTTPS render (the autohttps pod) and the maximal values
render, side by side with Zero to JupyterHub 4.4.0's renders of the same
values in the same run; and direct checks of each pod's hardening.

ci/checkov.yaml says which checks are skipped (for both charts) and which
failures remain on each render (at most 10), each with its reason. A new
failure, or an accepted one that no longer fails, fails the test.
"""

import json
import subprocess

import pytest
import yaml

from .chart_helpers import (
    ROOT,
    VALUES_FILES,
    all_containers,
    pod_spec,
    render,
    values_key,
    workloads,
)

CHECKOV_CONFIG = yaml.safe_load((ROOT / "ci/checkov.yaml").read_text())
Z2JH = ROOT.parent / "shared/anchors/zero-to-jupyterhub-k8s-4.4.0/jupyterhub"
RENDERS = {"default": "default", "letsencrypt": "seed/31-https-letsencrypt", "maximal": "maximal"}
MOST_ACCEPTED = 10


def _template(chart, values_name) -> str:
    args = [ROOT / ".bin/helm", "template", "jhub", chart, "--namespace", "jhub"]
    if VALUES_FILES[values_name]:
        args += ["-f", VALUES_FILES[values_name]]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def checkov_failures(tmp_path_factory, request) -> dict[tuple[str, str], set[tuple[str, str]]]:
    """{(chart, render): {(check, resource)}}, from one checkov run over
    ours and Zero to JupyterHub's renders."""
    out_dir = tmp_path_factory.mktemp("checkov")
    files = {}
    for chart_name, chart in (("ours", ROOT / "chart"), ("z2jh", Z2JH)):
        for name, values_name in RENDERS.items():
            path = out_dir / f"{chart_name}-{name}.yaml"
            path.write_text(_template(chart, values_name))
            files[path.name] = (chart_name, name)
    result = subprocess.run(
        [ROOT / ".venv-tools/bin/checkov", "-d", out_dir, "--framework", "kubernetes",
         "--skip-check", ",".join(CHECKOV_CONFIG["skip"]), "-o", "json", "--quiet", "--skip-download"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    report = json.loads(result.stdout)
    report = report[0] if isinstance(report, list) else report
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 100 * len(files)
    failures = {key: set() for key in files.values()}
    for c in report["results"]["failed_checks"]:
        failures[files[c["file_path"].rsplit("/", 1)[-1]]].add((c["check_id"], c["resource"]))
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():  # printed whatever -q/-s say
        for name in RENDERS:
            ours, theirs = len(failures["ours", name]), len(failures["z2jh", name])
            print(
                f"\ncheckov {name}: ours {ours} failures, z2jh 4.4.0 {theirs}, ratio {ours / theirs:.2f}"
            )
    return failures


def accepted(name) -> dict[tuple[str, str], str]:
    return {
        tuple(key.split(" ")): reason for key, reason in CHECKOV_CONFIG["accepted"][name].items()
    }


def test_every_skip_and_accepted_failure_has_its_reason():
    assert set(CHECKOV_CONFIG) == {"skip", "accepted"}
    assert set(CHECKOV_CONFIG["accepted"]) == set(RENDERS)
    reasons = [*CHECKOV_CONFIG["skip"].values()]
    reasons += [r for name in RENDERS for r in accepted(name).values()]
    assert all(isinstance(r, str) and len(r.split()) >= 6 for r in reasons)


@pytest.mark.parametrize("name", list(RENDERS))
def test_checkov_failures_are_exactly_the_accepted_ones(checkov_failures, name):
    failures, ok = checkov_failures["ours", name], accepted(name)
    assert len(ok) <= MOST_ACCEPTED
    assert failures - ok.keys() == set(), "new checkov failures"
    assert ok.keys() - failures == set(), "fixed: remove them from ci/checkov.yaml"


@pytest.mark.parametrize("name", list(RENDERS))
def test_checkov_fails_under_a_quarter_of_zero_to_jupyterhubs_checks(checkov_failures, name):
    assert len(checkov_failures["ours", name]) < len(checkov_failures["z2jh", name]) / 4


# Pods that call the Kubernetes API (and so mount a service account token).
API_CLIENTS = {"hub", "user-scheduler", "hook-image-awaiter", "autohttps"}


@pytest.mark.parametrize("name", ["default", "maximal", "legacy", "https-manual"])
def test_every_chart_pod_is_hardened(prerendered, name):
    for w in workloads(render(values_key(name))):
        spec, component = pod_spec(w), w["metadata"]["labels"]["app.kubernetes.io/component"]
        pod_sc = spec.get("securityContext", {})
        assert spec["automountServiceAccountToken"] is (component in API_CLIENTS), component
        for c in all_containers(spec):
            if c["name"].startswith(("max-", "cloudsql")):
                continue  # containers the user added
            sc = c["securityContext"]
            where = f"{w['metadata']['name']}/{c['name']}"
            assert (
                pod_sc.get("runAsNonRoot") or sc.get("runAsNonRoot") or sc.get("runAsUser", 0) > 0
            ), where
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["capabilities"]["drop"] == ["ALL"], where
            assert sc["seccompProfile"]["type"] == "RuntimeDefault", where
            assert sc["readOnlyRootFilesystem"] is True, where
            mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
            if c["name"] in (
                "hub",
                "chp",
                "traefik",
                "kube-scheduler",
                "awaiter",
                "secret-sync",
                "load-acme",
            ):
                assert "/tmp" in mounts, where  # writable /tmp next to the read-only root


# Containers that serve something: each has both probes (what the skipped
# CKV_K8S_8/9 would ask of every container, pause containers included).
SERVING = {"hub", "chp", "traefik", "kube-scheduler"}


@pytest.mark.parametrize("name", ["default", "maximal", "seed/31-https-letsencrypt"])
def test_serving_containers_have_probes(prerendered, name):
    seen = set()
    for w in workloads(render(values_key(name))):
        for c in pod_spec(w)["containers"]:
            if c["name"] in SERVING:
                seen.add(c["name"])
                assert c.get("livenessProbe") and c.get("readinessProbe"), c["name"]
    assert seen == SERVING if name != "default" else seen == SERVING - {"traefik"}
