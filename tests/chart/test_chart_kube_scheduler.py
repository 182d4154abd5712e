"""The user-scheduler's kube-scheduler follows the cluster's Kubernetes version.

Kubernetes' version skew policy: kube-scheduler may match the API server's
minor version or be one older, never newer. The chart reads the version
from .Capabilities.KubeVersion (`--kube-version` stands in for the server).
"""

import re

import pytest
import yaml

from .chart_helpers import CHART, run_helm


def scheduler_image(kube_version: str, *extra: str, chart=CHART) -> str:
    out = run_helm(
        [
            "template",
            "jhub",
            str(chart),
            "--kube-version",
            kube_version,
            "--show-only",
            "templates/scheduling/user-scheduler.yaml",
            *extra,
        ]
    )
    assert out.returncode == 0, out.stderr
    deploy = next(d for d in yaml.safe_load_all(out.stdout) if d and d["kind"] == "Deployment")
    (container,) = deploy["spec"]["template"]["spec"]["containers"]
    return container["image"]


@pytest.mark.parametrize("minor", range(28, 36))
def test_each_supported_cluster_gets_its_own_minor_release(minor):
    image = scheduler_image(f"1.{minor}.3")
    name, tag = image.rsplit(":", 1)
    assert name == "registry.k8s.io/kube-scheduler"
    assert re.fullmatch(rf"v1\.{minor}\.\d+", tag), image


def test_provider_minor_versions_with_a_plus_are_read():
    # EKS and GKE report Minor "33+"; helm's --kube-version takes the semver.
    assert scheduler_image("v1.33.5-eks-1234").endswith(":v1.33.10")


def test_a_cluster_newer_than_the_table_gets_the_newest():
    newest = scheduler_image("1.37.0")
    assert scheduler_image("1.38.0") == newest  # one minor older: within the policy
    assert scheduler_image("1.45.0") == newest


def test_a_set_tag_wins_whatever_the_cluster():
    assert scheduler_image(
        "1.33.0", "--set", "scheduling.userScheduler.image.tag=v1.31.2"
    ).endswith(":v1.31.2")


def notes_for(notes_chart, kube_version: str, *extra: str) -> str:
    out = run_helm(
        [
            "template",
            "jhub",
            str(notes_chart),
            "--kube-version",
            kube_version,
            "--show-only",
            "templates/zz-notes.yaml",
            *extra,
        ]
    )
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)["data"]["notes"]


def test_notes_warn_only_outside_the_skew_policy(notes_chart):
    assert "version skew policy" not in notes_for(notes_chart, "1.33.0")
    assert "version skew policy" not in notes_for(notes_chart, "1.38.0")
    far = notes_for(notes_chart, "1.45.0")
    assert "Kubernetes v1.45.0" in far and "scheduling.userScheduler.image.tag" in far
    pinned = notes_for(notes_chart, "1.45.0", "--set", "scheduling.userScheduler.image.tag=v1.45.0")
    assert "version skew policy" not in pinned
