"""Which pod port a Service port reaches: shared by the endpoints controllers
(`kubesim.control.endpoints`) and kube-proxy (`kubesim.node.kube_proxy`)."""

from __future__ import annotations


def target_port(pod: dict, port: dict) -> int | None:
    """The Service port's targetPort on this pod: a number, or the number of the
    container port it names (None when no container has that name)."""
    target = port.get("targetPort", port["port"])
    if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
        return int(target)
    for container in (pod.get("spec") or {}).get("containers") or []:
        for item in container.get("ports") or []:
            if item.get("name") == target:
                return int(item["containerPort"])
    return None
