"""Pure builders for KubeIngressProxy's routes: per route an Ingress, and
the Service (and, for an IP target, Endpoints) it sends traffic to, with
upstream KubeSpawner's names, labels and annotations (so routes made by
upstream's proxy are found and removed by ours)."""

import hashlib
import ipaddress
import json
import re
import string
from urllib.parse import urlparse

import escapism

ROUTE_LABEL = "hub.jupyter.org/proxy-route"
ROUTESPEC_ANNOTATION = "hub.jupyter.org/proxy-routespec"
TARGET_ANNOTATION = "hub.jupyter.org/proxy-target"
DATA_ANNOTATION = "hub.jupyter.org/proxy-data"

# <service>[.<namespace>[.svc[.cluster.local]]]
SERVICE_DNS = re.compile(
    r"^(?P<service>[a-z0-9-]+)(\.(?P<namespace>[a-z0-9-]+)(\.svc(\.[a-z0-9.-]+)?)?)?$"
)
_ESCAPE_SAFE = set(string.ascii_lowercase + string.digits)


def generate_hashed_slug(slug: str, limit: int = 63, hash_length: int = 6) -> str:
    """``slug`` if shorter than ``limit - hash_length``, else its start plus
    ``-`` and ``hash_length`` hex digits of its SHA-256 (upstream's utils)."""
    if len(slug) < limit - hash_length:
        return slug
    digest = hashlib.sha256(slug.encode("utf-8")).hexdigest()[:hash_length]
    return f"{slug[: limit - hash_length - 1]}-{digest}".lower()


def route_object_name(routespec: str) -> str:
    """The name of a route's Ingress, Service and Endpoints."""
    escaped = escapism.escape(routespec, safe=_ESCAPE_SAFE, escape_char="-")
    return generate_hashed_slug(f"jupyter-{escaped}-route").lower()


def host_matching(host: str, wildcard: str) -> bool:
    """``host`` is ``wildcard``, or one label under a ``*.`` wildcard."""
    if not wildcard.startswith("*."):
        return host == wildcard
    return host.split(".")[1:] == wildcard.split(".")[1:]


def _hosts(routespec_host, ingress_specifications) -> list:
    """The Ingress rules' hosts: the route's own host (it replaces a wildcard
    spec it matches), then the specifications' hosts; None is any host."""
    hosts: list = []
    own_host_pending = True
    for spec in ingress_specifications:
        if routespec_host and host_matching(routespec_host, spec["host"]):
            if own_host_pending:
                hosts.append(routespec_host)
            own_host_pending = False
        elif spec["host"] not in hosts:
            hosts.append(spec["host"])
    if own_host_pending and (routespec_host or not hosts):
        hosts.insert(0, routespec_host)
    return hosts


def route_manifests(
    name: str,
    routespec: str,
    target: str,
    data: dict,
    namespace: str,
    common_labels: dict | None = None,
    ingress_extra_labels: dict | None = None,
    ingress_extra_annotations: dict | None = None,
    ingress_class_name: str | None = None,
    ingress_specifications: list | None = None,
    reuse_existing_services: bool = False,
) -> tuple[dict | None, dict | None, dict]:
    """(Endpoints or None, Service or None, Ingress) as API JSON.

    An IP target gets a selector-less ClusterIP Service with Endpoints; a
    host name an ExternalName Service, or (``reuse_existing_services``) the
    Service that name already is, in this namespace."""
    labels = {**(common_labels or {}), ROUTE_LABEL: "true"}
    annotations = {
        DATA_ANNOTATION: json.dumps(data),
        ROUTESPEC_ANNOTATION: routespec,
        TARGET_ANNOTATION: target,
    }
    meta = {"name": name, "namespace": namespace, "labels": labels, "annotations": annotations}
    route, dest = urlparse(routespec), urlparse(target)
    port = dest.port
    try:
        ip = ipaddress.ip_address(dest.hostname)
    except ValueError:
        ip = None
    endpoints = service = None
    service_name = name
    if ip is not None:
        endpoints = {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": meta,
            "subsets": [{"addresses": [{"ip": ip.compressed}], "ports": [{"port": port}]}],
        }
        service_spec = {"type": "ClusterIP", "ports": [{"port": port, "targetPort": port}]}
        service = {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": service_spec}
    else:
        match = SERVICE_DNS.match(dest.hostname or "")
        same_namespace = match and match.group("namespace") in (None, namespace)
        if reuse_existing_services and same_namespace:
            service_name = match.group("service")
        else:
            service_spec = {
                "type": "ExternalName",
                "externalName": dest.hostname,
                "ports": [{"port": port, "targetPort": port}],
            }
            service = {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": meta,
                "spec": service_spec,
            }
    backend = {"service": {"name": service_name, "port": {"number": port}}}
    path = {"path": route.path, "pathType": "Prefix", "backend": backend}
    rules = []
    for host in _hosts(route.netloc or None, ingress_specifications or []):
        rule = {"http": {"paths": [path]}}
        if host:
            rule["host"] = host
        rules.append(rule)
    spec: dict = {"rules": rules}
    if ingress_class_name:
        spec["ingressClassName"] = ingress_class_name
    tls = [
        {"hosts": [s["host"]], "secretName": s["tlsSecret"]}
        for s in ingress_specifications or []
        if "tlsSecret" in s
    ]
    if tls:
        spec["tls"] = tls
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            **meta,
            "labels": {**labels, **(ingress_extra_labels or {})},
            "annotations": {**annotations, **(ingress_extra_annotations or {})},
        },
        "spec": spec,
    }
    return endpoints, service, ingress
