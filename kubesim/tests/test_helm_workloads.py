"""`helm upgrade --install --wait` of a chart with every workload kind and hooks completes.

The chart holds a Deployment (Recreate), a StatefulSet, a DaemonSet and, as
`pre-install,pre-upgrade` hooks, a Job and a DaemonSet (the shape of the
jupyterhub chart's image pullers). kubesim's controllers run them all, so
helm 3 and helm 4 see their hooks complete and their `--wait` succeed; an
upgrade with a changed value replaces every pod.
"""

import pytest

from .test_helm import HELMS, helm

POD_TEMPLATE = """\
    metadata:
      labels: {app: %(app)s}
      annotations: {value: "{{ .Values.value }}"}
    spec:
      containers: [{name: c, image: "%(image)s"}]
"""
HOOK = """\
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
    helm.sh/hook-weight: "%s"
"""


def workload(kind, name, spec="", hook_weight=None):
    """An apps/v1 workload of pods labelled app=<name>, optionally a hook."""
    hook = HOOK % hook_weight if hook_weight is not None else ""
    return (
        f"apiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: {name}\n{hook}spec:\n{spec}"
        f"  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n"
        + POD_TEMPLATE
        % {"app": name, "image": "busybox:1.36"}
    )


CHART = {
    "Chart.yaml": "apiVersion: v2\nname: workloads\nversion: 0.1.0\n",
    "values.yaml": "value: one\n",
    "templates/web.yaml": workload(
        "Deployment", "web", "  replicas: 1\n  strategy: {type: Recreate}\n"
    ),
    "templates/db.yaml": workload("StatefulSet", "db", "  replicas: 2\n  serviceName: db\n"),
    "templates/agent.yaml": workload("DaemonSet", "agent"),
    "templates/hook-puller.yaml": workload("DaemonSet", "hook-puller", hook_weight="-10"),
    "templates/hook-job.yaml": """\
apiVersion: batch/v1
kind: Job
metadata:
  name: hook-awaiter
"""
    + HOOK % "0"
    + """\
spec:
  backoffLimit: 1
  template:
    metadata:
      annotations: {value: "{{ .Values.value }}"}
    spec:
      restartPolicy: Never
      containers: [{name: c, image: "busybox:job"}]
""",
}
APPS = ("web", "db", "agent")


def pods_by_app(sim):
    out = {}
    for pod in sim.objects("pods", "default"):
        app = (pod["metadata"].get("labels") or {}).get("app")
        if app in APPS and not pod["metadata"].get("deletionTimestamp"):
            out.setdefault(app, {})[pod["metadata"]["uid"]] = pod
    return out


@pytest.mark.parametrize("name", sorted(HELMS))
async def test_install_and_upgrade_with_hooks_and_wait(kubesim_factory, tmp_path, name):
    binary = HELMS[name]
    if not binary.exists():
        pytest.skip(f"{binary} not installed (ci/setup)")
    sim = await kubesim_factory(nodes=2, delays={"readiness": 0.05})
    sim.nodes.add_image_rule({"image": "busybox:job", "exit_code": 0, "run_seconds": 0.2})
    chart = tmp_path / "chart"
    for path, text in CHART.items():
        (chart / path).parent.mkdir(parents=True, exist_ok=True)
        (chart / path).write_text(text)
    hooks_done = []

    def on_change(event_type, rt, obj, old):
        if rt.key == "jobs.batch" and obj["metadata"]["name"] == "hook-awaiter":
            types = {c["type"] for c in (obj.get("status") or {}).get("conditions") or []}
            if "Complete" in types and event_type == "MODIFIED":
                hooks_done.append(obj["spec"]["template"]["metadata"]["annotations"]["value"])

    sim.store.on_change.append(on_change)
    install = ("upgrade", "--install", "wl", str(chart), "--wait", "--timeout", "90s")
    await helm(binary, sim, *install)
    first = pods_by_app(sim)
    assert {app: len(pods) for app, pods in first.items()} == {"web": 1, "db": 2, "agent": 2}
    assert sim.get("deployments.apps", "web", "default")["status"]["availableReplicas"] == 1
    assert sim.get("statefulsets.apps", "db", "default")["status"]["readyReplicas"] == 2
    assert sim.get("daemonsets.apps", "agent", "default")["status"]["numberAvailable"] == 2
    assert hooks_done == ["one"]
    # hook-succeeded: helm deleted both hooks, the controllers' pods went with them
    assert sim.get("jobs.batch", "hook-awaiter", "default") is None
    assert sim.get("daemonsets.apps", "hook-puller", "default") is None

    await helm(binary, sim, *install, "--set", "value=two")
    second = pods_by_app(sim)
    assert hooks_done == ["one", "two"]
    for app in APPS:
        assert set(second[app]).isdisjoint(first[app]), f"{app}: pods not replaced"
        assert len(second[app]) == len(first[app])
        assert {p["metadata"]["annotations"]["value"] for p in second[app].values()} == {"two"}
    sts = sim.get("statefulsets.apps", "db", "default")["status"]
    assert sts["currentRevision"] == sts["updateRevision"] and sts["updatedReplicas"] == 2
    sim.store.on_change.remove(on_change)

    await helm(binary, sim, "rollback", "wl", "1", "--wait", "--timeout", "90s")
    third = pods_by_app(sim)
    for app in APPS:
        assert {p["metadata"]["annotations"]["value"] for p in third[app].values()} == {"one"}
