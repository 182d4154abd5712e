"""KubeIngressProxy (not used by our chart, whose hub Role does not grant
Ingress access): a JupyterHub Proxy whose routes are Ingress objects
(each with its Service, and Endpoints for an IP target), for clusters whose
ingress controller should route users instead of configurable-http-proxy.

    c.JupyterHub.proxy_class = "kubespawner.proxy:KubeIngressProxy"

Objects, names, labels and annotations are upstream KubeSpawner's, so routes
its proxy made are listed and removed by this one. The manifests are built
in ``ingress``; this module is the I/O.
"""

from __future__ import annotations

import json

from jupyterhub.proxy import Proxy
from kubernetes_asyncio.client.exceptions import ApiException
from traitlets import Bool, Dict, Float, List, Unicode, default

from . import ingress
from .clients import ApiSettings, shared_api
from .config import hub_namespace_from_environment
from .expansion import strip_dangling_dash
from .retry import call_with_retries
from .slugs import escape_slug
from .utils import lenient_format

MERGE_PATCH = "application/merge-patch+json"
_PATHS = {
    "endpoints": "/api/v1/namespaces/{ns}/endpoints",
    "services": "/api/v1/namespaces/{ns}/services",
    "ingresses": "/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses",
}


class KubeIngressProxy(Proxy):
    """Routes users through Kubernetes Ingress objects."""

    # the ingress controller is the proxy: nothing for the hub to start
    should_start = False

    namespace = Unicode(
        config=True,
        help="Namespace of the route objects (default: the hub's namespace).",
    )

    @default("namespace")
    def _namespace_default(self):
        return hub_namespace_from_environment()

    component_label = Unicode(
        "singleuser-server",
        config=True,
        help="Value of the component labels of the route objects.",
    )
    common_labels = Dict(
        {
            "app.kubernetes.io/name": "jupyterhub",
            "app.kubernetes.io/managed-by": "kubespawner",
            "app": "jupyterhub",
            "heritage": "jupyterhub",
        },
        config=True,
        help="Labels on every route object (templates expanded).",
    )
    ingress_extra_labels = Dict(
        config=True, help="Extra labels on each Ingress (templates expanded)."
    )
    ingress_extra_annotations = Dict(
        config=True,
        help="Extra annotations on each Ingress, e.g. for the controller (templates expanded).",
    )
    ingress_class_name = Unicode("nginx", config=True, help="The Ingresses' ``ingressClassName``.")
    ingress_specifications = List(
        config=True,
        help="""
        ``[{"host": "*.example.com", "tlsSecret": "secret"}, ...]``: hosts
        (``*.`` wildcards) the Ingresses answer for, with optional TLS secrets.
        A route with its own host replaces the wildcard it matches.
        """,
    )
    reuse_existing_services = Bool(
        False,
        config=True,
        help="""
        Route straight to a target that is already a Service of this
        namespace (``http://<service>[.<namespace>...]:<port>``, as with the
        spawner's ``services_enabled``) instead of making an ExternalName
        Service for it.
        """,
    )
    k8s_api_host = Unicode(
        config=True, help="The API server's URL (default: in-cluster/kubeconfig)."
    )
    k8s_api_ssl_ca_cert = Unicode(config=True, help="CA bundle for the API server.")
    k8s_api_verify_ssl = Bool(None, allow_none=True, config=True, help="Verify the API's TLS.")
    k8s_api_request_timeout = Float(3, config=True, help="Seconds per API request.")
    k8s_api_request_retry_timeout = Float(
        30, config=True, help="Seconds within which failing API requests are retried."
    )

    async def _api(self):
        return await shared_api(
            ApiSettings(
                host=self.k8s_api_host or None,
                ssl_ca_cert=self.k8s_api_ssl_ca_cert or None,
                verify_ssl=self.k8s_api_verify_ssl,
                request_timeout=self.k8s_api_request_timeout,
            )
        )

    async def _call(self, description: str, method: str, path: str, **kwargs) -> dict:
        api = await self._api()
        return await call_with_retries(
            lambda: api.request(method, path, **kwargs),
            retry_timeout=self.k8s_api_request_retry_timeout,
            description=description,
            logger=self.log,
        )

    def _route_path(self, resource: str, name: str | None = None) -> str:
        path = _PATHS[resource].format(ns=self.namespace)
        return f"{path}/{name}" if name else path

    # ---- templates -------------------------------------------------------------

    def _fields(self, routespec: str, data: dict) -> dict:
        hub_namespace = hub_namespace_from_environment()
        user, server, service = (data.get(k) or "" for k in ("user", "server_name", "services"))
        return {
            "username": escape_slug(user),
            "unescaped_username": user,
            "servername": escape_slug(server),
            "unescaped_servername": server,
            "servicename": escape_slug(service),
            "unescaped_servicename": service,
            "routespec": ingress.route_object_name(routespec),
            "unescaped_routespec": routespec,
            "hubnamespace": "user" if hub_namespace == "default" else hub_namespace,
        }

    def _expand(self, value, fields: dict):
        if isinstance(value, str):
            return strip_dangling_dash(value, lenient_format(value, fields))
        if isinstance(value, dict):
            return {k: self._expand(v, fields) for k, v in value.items()}
        if isinstance(value, list):
            return [self._expand(v, fields) for v in value]
        return value

    # ---- the Proxy API ------------------------------------------------------------

    async def add_route(self, routespec, target, data):
        name = ingress.route_object_name(routespec)
        fields = self._fields(routespec, data)
        labels = self._expand(dict(self.common_labels), fields)
        labels.update({"app.kubernetes.io/component": self.component_label})
        labels["component"] = self.component_label
        endpoints, service, route = ingress.route_manifests(
            name=name,
            routespec=routespec,
            target=target,
            data=data,
            namespace=self.namespace,
            common_labels=labels,
            ingress_extra_labels=self._expand(dict(self.ingress_extra_labels), fields),
            ingress_extra_annotations=self._expand(dict(self.ingress_extra_annotations), fields),
            ingress_class_name=self.ingress_class_name or None,
            ingress_specifications=self._expand(list(self.ingress_specifications), fields),
            reuse_existing_services=self.reuse_existing_services,
        )
        for resource, body in (("endpoints", endpoints), ("services", service)):
            if body is None:
                await self._delete_quietly(resource, name)
            else:
                await self._apply(resource, name, body)
        await self._apply("ingresses", name, route)

    async def _apply(self, resource: str, name: str, body: dict) -> None:
        """Create, or bring an existing object (an earlier route) up to date."""
        try:
            await self._call(
                f"create {resource} {name}", "POST", self._route_path(resource), body=body
            )
            self.log.info("Created %s/%s", resource, name)
        except ApiException as error:
            if error.status != 409:
                raise
            await self._call(
                f"patch {resource} {name}",
                "PATCH",
                self._route_path(resource, name),
                body=body,
                content_type=MERGE_PATCH,
            )
            self.log.info("Updated %s/%s", resource, name)

    async def _delete_quietly(self, resource: str, name: str) -> None:
        try:
            await self._call(
                f"delete {resource} {name}",
                "DELETE",
                self._route_path(resource, name),
                body={"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0},
            )
        except ApiException as error:
            if error.status != 404:
                raise

    async def delete_route(self, routespec):
        name = ingress.route_object_name(routespec)
        # the Ingress first: no traffic to a half-removed route
        for resource in ("ingresses", "services", "endpoints"):
            await self._delete_quietly(resource, name)

    async def get_all_routes(self):
        """Every route, from the Ingresses this proxy labels (one LIST)."""
        listing = await self._call(
            "list route ingresses",
            "GET",
            self._route_path("ingresses"),
            params={
                "labelSelector": f"{ingress.ROUTE_LABEL}=true,component={self.component_label}"
            },
        )
        routes = {}
        for item in listing.get("items", []):
            annotations = item["metadata"].get("annotations") or {}
            routespec = annotations.get(ingress.ROUTESPEC_ANNOTATION)
            if routespec is None:
                continue
            routes[routespec] = {
                "routespec": routespec,
                "target": annotations.get(ingress.TARGET_ANNOTATION),
                "data": json.loads(annotations.get(ingress.DATA_ANNOTATION) or "{}"),
            }
        return routes
