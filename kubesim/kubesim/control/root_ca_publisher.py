"""The root CA publisher: a `kube-root-ca.crt` ConfigMap in every namespace.

As kube-controller-manager's root-ca-cert-publisher: each namespace gets the
ConfigMap with the cluster's CA under `ca.crt` and the real description
annotation; one deleted or edited is put back. With plain HTTP kubesim has no
CA, and `ca.crt` is empty.
"""

from __future__ import annotations

import logging
from typing import Any

from kubesim.api.store_workers import StoreWorker

log = logging.getLogger(__name__)
Obj = dict[str, Any]
NAME = "kube-root-ca.crt"
DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal "
    "endpoints such as the internal service IP or kubernetes.default.svc. No other usage is "
    "guaranteed across distributions of Kubernetes clusters."
)


def root_ca_configmap(namespace: str, ca_pem: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": NAME,
            "namespace": namespace,
            "annotations": {"kubernetes.io/description": DESCRIPTION},
        },
        "data": {"ca.crt": ca_pem},
    }


class RootCAPublisher(StoreWorker):
    def __init__(self, store, ca_pem: str):
        super().__init__(store)
        self.ca_pem = ca_pem

    def initial(self) -> list[str]:
        return [ns["metadata"]["name"] for ns in self.store.list("namespaces")[0]]

    def on_change(self, event_type: str, rt, obj: Obj, old: Obj | None) -> None:
        meta = obj["metadata"]
        if rt.key == "namespaces" and event_type == "ADDED":
            self.enqueue(meta["name"])
        elif rt.key == "configmaps" and meta["name"] == NAME and event_type != "ADDED":
            self.enqueue(meta["namespace"])

    def failed(self, namespace: str, error) -> None:
        # a namespace being deleted refuses new content: nothing to publish there
        if error.code not in (403, 404, 409):
            log.warning("%s in %s: %s", NAME, namespace, error.message)

    async def sync(self, namespace: str) -> None:
        ns = self.store.peek("namespaces", namespace)
        if ns is None or ns["metadata"].get("deletionTimestamp"):
            return
        wanted = root_ca_configmap(namespace, self.ca_pem)
        current = self.store.peek("configmaps", NAME, namespace)
        if current is None:
            await self.store.create("configmaps", wanted, namespace)
        elif current.get("data") != wanted["data"] or (
            (current["metadata"].get("annotations") or {}).get("kubernetes.io/description")
            != DESCRIPTION
        ):
            wanted["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            await self.store.replace("configmaps", NAME, wanted, namespace)
