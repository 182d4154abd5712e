"""The pure parts of the local deployment: the helm commands, the image
rules it gives kubesim, what it reads out of the rendered chart, the load
balancer stand-in's target, the pod view of a virtualenv."""

import base64
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml

from localdeploy import components, imagerules, podvenv, render, stuckrelease
from localdeploy.loadbalancer import service_target
from localdeploy.paths import IMAGE_RULES


def test_install_is_the_users_command_with_hooks_and_wait():
    cmd = render.helm_install_command(["a.yaml", "b.yaml"], timeout=120)
    assert cmd[1:] == [
        "upgrade",
        "--install",
        "jhub",
        str(render.CHART),
        "--namespace",
        "jhub",
        "--create-namespace",
        "--values",
        "a.yaml",
        "--values",
        "b.yaml",
        "--wait",
        "--timeout",
        "120s",
    ]
    assert "--no-hooks" not in cmd


def test_template_command_carries_every_option_the_test_suites_use():
    cmd = render.helm_template_command(
        ["a.yaml"],
        helm="/opt/helm4",
        sets=["hub.x=1"],
        set_json=['proxy.y={"z":2}'],
        kube_version="1.33.0",
        show_only="templates/a.yaml",
    )
    assert cmd == [
        "/opt/helm4",
        "template",
        "jhub",
        str(render.CHART),
        "--namespace",
        "jhub",
        "--kube-version",
        "1.33.0",
        "--values",
        "a.yaml",
        "--set",
        "hub.x=1",
        "--set-json",
        'proxy.y={"z":2}',
        "--show-only",
        "templates/a.yaml",
    ]
    # what ci/dev renders: helm's own API version, nothing but the values files
    assert render.helm_template_command(["a.yaml"])[2:] == [
        "jhub",
        str(render.CHART),
        "--namespace",
        "jhub",
        "--values",
        "a.yaml",
    ]


def test_render_names_helms_refusal(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("hub: {nonsense: 1}\n")
    with pytest.raises(render.RenderError, match=r"(?s)helm template failed:\n.*nonsense"):
        render.render([bad])


def test_a_missing_values_file_is_named(tmp_path):
    with pytest.raises(render.RenderError, match="values file .*nope.yaml does not exist"):
        render.check_files([tmp_path / "nope.yaml"])


def test_parse_manifests_skips_empty_documents_and_flattens_lists():
    text = "---\n# c\n---\nkind: A\nmetadata: {name: a}\n---\nkind: BList\nitems:\n- kind: B\n  metadata: {name: b}\n"
    assert [o["kind"] for o in render.parse_manifests(text)] == ["A", "B"]
    with pytest.raises(render.RenderError):
        render.parse_manifests("- just\n- a list\n")


def test_image_rules_get_this_machines_paths_and_kubesim_accepts_them(tmp_path):
    from kubesim import ImageRules

    text = imagerules.image_rules_text(
        IMAGE_RULES.read_text(), repo=tmp_path, hub_venv=tmp_path / "hv", pod_venv=tmp_path / "pv"
    )
    assert "${" not in text
    rules = ImageRules(yaml.safe_load(text))
    hub = rules.find("ghcr.io/jupyterhub-kube/jupyterhub-k8s-hub:0.1.0")
    assert hub.env["PATH"].startswith(f"{tmp_path}/hv/bin:")
    assert hub.files["/usr/local/etc/jupyterhub"] == f"{tmp_path}/chart/files/hub"
    proxy = rules.find("quay.io/jupyterhub/configurable-http-proxy:4.6.3")
    assert proxy.env["PATH"].startswith(f"{tmp_path}/node_modules/.bin:")
    scheduler = rules.find("registry.k8s.io/kube-scheduler:v1.30.8")
    assert scheduler.env["PATH"].startswith(f"{tmp_path}/ci/localdeploy/standins:")
    assert rules.find("registry.k8s.io/pause:3.10").command


def test_a_hub_venv_without_jupyterhub_is_refused(tmp_path):
    with pytest.raises(ValueError, match="--hub-venv .*no bin/jupyterhub"):
        imagerules.write_image_rules(tmp_path / "rules.yaml", hub_venv=tmp_path)


def test_decode_secret_takes_data_and_string_data():
    secret = {"data": {"a": base64.b64encode(b"x").decode()}, "stringData": {"b": "y"}}
    assert components.decode_secret(secret) == {"a": "x", "b": "y"}


def test_the_user_scheduler_name_only_when_it_is_on():
    names = {"user-scheduler": "jhub-user-scheduler"}
    on = {"scheduling": {"userScheduler": {"enabled": True}}}
    assert components.user_scheduler_name(on, names) == "jhub-user-scheduler"
    assert components.user_scheduler_name({}, names) is None


def test_the_load_balancer_forwards_to_the_named_port():
    service = {
        "metadata": {"name": "proxy-public"},
        "spec": {
            "clusterIP": "127.96.1.2",
            "ports": [{"name": "https", "port": 443}, {"name": "http", "port": 80}],
        },
    }
    assert service_target(service, "http") == ("127.96.1.2", 80)
    assert service_target(service, "other") == ("127.96.1.2", 443)
    with pytest.raises(ValueError, match="no cluster IP"):
        service_target({"metadata": {"name": "x"}, "spec": {}})


def test_reachable_by_others_follows_links_and_folders():
    # not under pytest's tmp_path, whose parent only root may enter
    tmp_path = Path(tempfile.mkdtemp(dir="/tmp"))
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    target = closed / "python"
    target.write_text("")
    target.chmod(0o755)
    link = tmp_path / "python3"
    os.symlink(target, link)
    tmp_path.chmod(0o755)
    assert not podvenv.reachable_by_others(link)
    closed.chmod(0o755)
    assert podvenv.reachable_by_others(link)
    shutil.rmtree(tmp_path)


def test_a_pending_upgrade_or_rollback_is_rolled_back():
    for status in ("pending-upgrade", "pending-rollback"):
        fix = stuckrelease.recovery(status, "jhub", "jhub", ["pvc/claim-alice"])
        assert fix.helm_args == ("rollback", "jhub", "--namespace", "jhub", "--wait")
        assert status in fix.why and "rolling back" in fix.why


def test_a_pending_install_is_uninstalled_only_without_users_things():
    fix = stuckrelease.recovery("pending-install", "jhub", "jhub", [])
    assert fix.helm_args == ("uninstall", "jhub", "--namespace", "jhub", "--wait")
    assert "pending-install" in fix.why and "installing afresh" in fix.why
    with pytest.raises(stuckrelease.StuckRelease, match=r"pvc/claim-alice.*helm uninstall jhub"):
        stuckrelease.recovery("pending-install", "jhub", "jhub", ["pvc/claim-alice"])


def test_a_settled_release_needs_nothing():
    for status in (None, "deployed", "failed", "superseded", "uninstalled"):
        assert stuckrelease.recovery(status, "jhub", "jhub", []) is None
    listing = [
        {"name": "other", "status": "pending-install"},
        {"name": "jhub", "status": "deployed"},
    ]
    assert stuckrelease.release_status(listing, "jhub") == "deployed"
    assert stuckrelease.release_status(listing, "nope") is None
