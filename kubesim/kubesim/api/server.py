"""The HTTP face of the store: Kubernetes REST paths, verbs and wire formats.

One catch-all aiohttp handler parses the path (core `/api/v1/...` and
`/apis/<group>/<version>/...`, namespaced or cluster-wide, with an optional
subresource), works out the verb the way kube-apiserver does (a GET on a
collection with watch=true is "watch"), counts it, applies injected faults,
then dispatches to the store. Every error leaves as a `Status` object.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import yaml
from aiohttp import web

from kubesim.api import (
    discovery,
    exec_attach,
    log_requests,
    openapi,
    protobuf,
    reviews,
    tables,
    warning_headers,
)
from kubesim.api.admission import FIELD_VALIDATION, SCHEMA_CHECK
from kubesim.api.authn import ADMIN, Authenticator
from kubesim.api.authz_attributes import Attributes, User, forbidden
from kubesim.api.evictions import check_eviction
from kubesim.api.faults import Faults
from kubesim.api.fieldmanager import FIELD_MANAGER, FORCE
from kubesim.api.rbac import Authorizer
from kubesim.api.rbac_bootstrap import ensure_bootstrap_policy
from kubesim.api.requestinfo import request_attributes
from kubesim.api.serviceaccounts import check_pod_service_account
from kubesim.api.store import SHARED_RESULTS, Store, dumps, now_rfc3339
from kubesim.api.tokens import TokenIssuer
from kubesim.model import errors
from kubesim.model.errors import ApiError
from kubesim.model.resources import REVIEW_GROUPS, ResourceType

log = logging.getLogger("kubesim.api.server")

PUBLIC_PATHS = ("/version", "/healthz", "/livez", "/readyz")
DEFAULT_WATCH_TIMEOUT = 1800.0  # kube-apiserver's --min-request-timeout
# Types whose DELETE answers with the deleted object instead of a Success Status.
RETURN_DELETED_OBJECT = {"pods", "services"}

LogReader = Callable[..., Awaitable[str]]


@dataclass
class Route:
    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None

    @property
    def resource_label(self) -> str:
        return f"{self.rt.plural}/{self.subresource}" if self.subresource else self.rt.plural


_dumps = dumps


def json_response(obj: Any, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(
        body=_dumps(obj), status=status, content_type="application/json", headers=headers
    )


def error_response(err: ApiError) -> web.Response:
    return json_response(err.to_status(), err.code, err.headers or None)


def success_status(rt: ResourceType, name: str, uid: str | None = None) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": rt.plural}
    if rt.group:
        details["group"] = rt.group
    if uid:
        details["uid"] = uid
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    }


def _bool(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes")


def _int(query, key: str) -> int | None:
    value = query.get(key)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise errors.bad_request(f"{key}: invalid integer {value!r}") from None


def field_manager(request: web.Request) -> str | None:
    """?fieldManager=, else the client's program name from its User-Agent, as the real
    server defaults it (prefixFromUserAgent)."""
    name = request.query.get("fieldManager")
    if name:
        return name
    agent = request.headers.get("User-Agent", "")
    return agent.split("/")[0][:128] or None


def check_apply_options(query) -> None:
    """ValidatePatchOptions for apply: a field manager is required, force only with apply."""
    if not query.get("fieldManager"):
        raise ApiError(
            422,
            "Invalid",
            'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required '
            "for apply patch",
            {
                "group": "meta.k8s.io",
                "kind": "PatchOptions",
                "causes": [
                    {
                        "reason": "FieldValueRequired",
                        "message": "Required value: is required for apply patch",
                        "field": "fieldManager",
                    }
                ],
            },
        )


class ApiServer:
    """Builds the aiohttp application serving one store."""

    def __init__(
        self,
        store: Store,
        version: str = "1.33",
        token: str | None = None,
        faults: Faults | None = None,
        log_reader: LogReader | None = None,
        admin: Any = None,
        stream_opener: Callable | None = None,
        issuer: TokenIssuer | None = None,
    ):
        self.store = store
        self.version = version
        self.issuer = issuer or TokenIssuer()
        self.authn = Authenticator(store, self.issuer, token or "", require_token=token is not None)
        self.token = token
        self.authorizer = Authorizer(store)
        # refused requests, for tests and diagnostics: (user, attributes)
        self.denials: deque[tuple[User, Attributes]] = deque(maxlen=1000)
        self.on_denied: list[Callable[[User, Attributes], None]] = []
        ensure_bootstrap_policy(store)
        self.faults = faults or Faults()
        self.counters: Counter[tuple[str, str]] = Counter()
        self.log_reader = log_reader
        self.admin = admin  # kubesim.harness.admin_api.AdminApi or None
        self.stream_opener = stream_opener  # pods/exec, pods/attach (kubesim.api.exec_attach)
        self.server_address = "127.0.0.1:0"
        self._streams: set[web.StreamResponse] = set()

    @property
    def token(self) -> str | None:
        """The admin (kubeconfig) token; None when none is required."""
        return self._token

    @token.setter
    def token(self, token: str | None) -> None:
        # one source for the authenticator too: a token restored from the state
        # dir after start-up must log in as the admin
        self._token = token
        self.authn.admin_token = token or ""
        self.authn.require_token = token is not None

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    # ----- entry ------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        response: web.StreamResponse
        try:
            response = await self._handle(request)
        except ApiError as err:
            response = error_response(err)
        except web.HTTPException:
            raise
        except Exception as exc:  # a bug: answer like the real server, keep serving
            log.exception("internal error on %s %s", request.method, request.path_qs)
            response = error_response(ApiError(500, "InternalError", f"kubesim: {exc!r}"))
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s %s %.1fms",
                request.method,
                request.path_qs,
                response.status,
                (time.monotonic() - started) * 1000,
            )
        return response

    def _user(self, request: web.Request) -> User | None:
        """The requesting user (after impersonation); None on a public path without one."""
        try:
            user = self.authn.authenticate(request.headers.get("Authorization", ""))
        except ApiError:
            if request.path in PUBLIC_PATHS:
                return None
            raise
        return self.authn.impersonate(user, request.headers, self.authorizer)

    def _authorize(self, user: User | None, attrs: Attributes) -> None:
        if user is None or user.is_master:
            return
        allowed, reason = self.authorizer.authorize(user, attrs)
        if not allowed:
            self.denials.append((user, attrs))
            for callback in self.on_denied:
                callback(user, attrs)
            raise forbidden(user, attrs, reason)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        user = self._user(request)
        path = request.path.rstrip("/") or "/"
        parts = [p for p in path.split("/") if p]
        if parts and parts[0] == "kubesim" and self.admin is not None:
            if user is not None and not user.is_master:  # kubesim's own API: admins only
                raise forbidden(user, Attributes(request.method.lower(), False, path=path))
            return await self.admin.handle(request, parts[1:])
        if user is not None and not user.is_master and path not in PUBLIC_PATHS:
            self._authorize(user, request_attributes(request.method, path, request.query))
        if request.method == "GET":
            if path in ("/healthz", "/livez", "/readyz"):
                # plain text, as kube-apiserver's health checks answer
                return web.Response(text="ok", content_type="text/plain")
            if path == "/version":
                # kube-apiserver writes /version indented (responsewriters.WriteRawJSON)
                return web.Response(
                    text=json.dumps(discovery.version_info(self.version), indent=2),
                    content_type="application/json",
                )
            doc = self._discovery(path, parts)
            if doc is not None:
                return json_response(doc)
        route = self._route(parts)
        if route is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        verb = self._verb(request, route)
        self.counters[(verb, route.resource_label)] += 1
        latency, fault, answer_latency = self.faults.check(
            verb, route.resource_label, route.name, route.namespace
        )
        if latency:
            await asyncio.sleep(latency)
        if fault is not None:
            raise fault
        if verb not in route.rt.verbs and not route.subresource:
            raise errors.method_not_allowed()
        warnings: list[str] = []
        if verb == "patch" and "apply-patch" in request.content_type:
            check_apply_options(request.query)
        tokens = (
            FIELD_VALIDATION.set(request.query.get("fieldValidation", "Strict")),
            SCHEMA_CHECK.set(True),
            SHARED_RESULTS.set(True),
            warning_headers.WARNINGS.set(warnings),
            FIELD_MANAGER.set(field_manager(request)),
            FORCE.set(_bool(request.query.get("force"))),
        )
        try:
            response = await self._dispatch(request, route, verb, user)
            for text in warnings:
                response.headers.add("Warning", warning_headers.header_value(text))
            if answer_latency:
                await asyncio.sleep(answer_latency)
            return response
        finally:
            for var, token in zip(
                (
                    FIELD_VALIDATION,
                    SCHEMA_CHECK,
                    SHARED_RESULTS,
                    warning_headers.WARNINGS,
                    FIELD_MANAGER,
                    FORCE,
                ),
                tokens,
                strict=True,
            ):
                var.reset(token)

    # ----- discovery --------------------------------------------------------------

    def _discovery(self, path: str, parts: list[str]) -> Any:
        registry = self.store.registry
        if path == "/api":
            return discovery.api_versions(self.server_address)
        if path == "/apis":
            return discovery.api_group_list(registry)
        if path == "/openapi/v3":
            return openapi.v3_root(registry)
        if path.startswith("/openapi/v3/"):
            return openapi.v3_group_version(registry, path[len("/openapi/v3/") :])
        if len(parts) == 2 and parts[0] == "api":
            return discovery.resource_list(registry, "", parts[1])
        if len(parts) == 2 and parts[0] == "apis":
            return discovery.api_group(registry, parts[1])
        if len(parts) == 3 and parts[0] == "apis":
            return discovery.resource_list(registry, parts[1], parts[2])
        return None

    def _route(self, parts: list[str]) -> Route | None:
        if len(parts) >= 2 and parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        lookup = self.store.registry.lookup
        namespace = None
        if (
            len(rest) >= 3
            and rest[0] == "namespaces"
            and lookup(group, version, rest[2])
            and not (group == "" and rest[2] in ("status", "finalize"))
        ):
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            return None
        rt = lookup(group, version, rest[0])
        if rt is None:
            return None
        if rt.namespaced is False and namespace is not None:
            return None
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub is not None and sub not in rt.subresources:
            return None
        return Route(rt, namespace, name, sub)

    def _verb(self, request: web.Request, route: Route) -> str:
        method = request.method
        if method == "GET":
            if route.name is None:
                return "watch" if _bool(request.query.get("watch")) else "list"
            return "get"
        if method == "POST":
            return "create"
        if method == "PUT":
            return "update"
        if method == "PATCH":
            return "patch"
        if method == "DELETE":
            return "delete" if route.name else "deletecollection"
        raise errors.method_not_allowed()

    # ----- dispatch ---------------------------------------------------------------

    async def _dispatch(self, request: web.Request, route: Route, verb: str, user: User | None):
        rt, ns, name, sub = route.rt, route.namespace, route.name, route.subresource
        if rt.namespaced and ns is None and verb not in ("list", "watch", "deletecollection"):
            if not (verb == "create" and route.rt.plural == "bindings"):
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
        dry_run = request.query.get("dryRun") == "All"
        if rt.group in REVIEW_GROUPS:
            body = await self._body(request, rt)
            answer = reviews.review(rt, body, user or ADMIN, ns, self.authn, self.authorizer)
            return json_response(answer, 201)
        if sub == "log":
            return await self._pod_log(request, route)
        if sub in ("exec", "attach"):
            return await self._pod_stream(request, route)
        if sub in ("binding", "eviction") or rt.plural == "bindings":
            return await self._pod_action(request, route)
        if sub == "scale":
            return await self._scale(request, route, verb)
        if sub == "token":
            return await self._token_request(request, route)
        if verb == "get":
            obj = self.store.peek(rt, name, ns)
            if obj is None:
                raise errors.not_found(rt, name)
            if tables.wants_table(request.headers.get("Accept", "")):
                return json_response(
                    tables.table(
                        rt.key,
                        [obj],
                        obj["metadata"]["resourceVersion"],
                        request.query.get("includeObject", "Metadata"),
                    )
                )
            return web.Response(body=self.store.encode(obj), content_type="application/json")
        if verb == "list":
            return self._list(request, rt, ns)
        if verb == "watch":
            return await self._watch(request, rt, ns)
        if verb == "create":
            body = await self._body(request, rt)
            if rt.plural == "pods" and not rt.group:
                check_pod_service_account(self.store, body, ns)
            created = await self.store.create(rt, body, ns, dry_run=dry_run)
            return self._object_response(created, 201)
        if verb == "update":
            body = await self._body(request, rt)
            if sub == "status":
                obj = await self.store.update_status(rt, name, body, ns, dry_run=dry_run)
            elif sub == "finalize":
                obj = await self._finalize_namespace(name, body)
            else:
                obj = await self.store.replace(rt, name, body, ns, dry_run=dry_run)
            return self._object_response(obj)
        if verb == "patch":
            patch = await self._patch_body(request)
            existed = self.store.peek(rt, name, ns) is not None
            obj = await self.store.patch(
                rt, name, patch, request.content_type, ns, subresource=sub, dry_run=dry_run
            )
            return self._object_response(obj, 200 if existed else 201)
        if verb == "delete":
            return await self._delete(request, rt, name, ns, dry_run)
        if verb == "deletecollection":
            return await self._delete_collection(request, rt, ns, dry_run)
        raise errors.method_not_allowed()

    def _object_response(self, obj: dict[str, Any], status: int = 200) -> web.Response:
        """A stored snapshot as JSON, encoded once for this answer and every watcher."""
        return web.Response(
            body=self.store.encode(obj), status=status, content_type="application/json"
        )

    async def _body(self, request: web.Request, rt: ResourceType) -> dict[str, Any]:
        raw = await request.read()
        content_type = request.content_type
        if "protobuf" in content_type:
            body = protobuf.decode(raw)
            return self._check_kind(body, rt)
        try:
            body = yaml.safe_load(raw) if "yaml" in content_type else json.loads(raw or b"null")
        except (ValueError, yaml.YAMLError) as exc:
            raise errors.bad_request(f"the request body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise errors.bad_request("the request body must be a JSON object")
        return self._check_kind(body, rt)

    def _check_kind(self, body: dict[str, Any], rt: ResourceType) -> dict[str, Any]:
        kind = body.get("kind")
        if kind and kind != rt.kind and rt.plural != "bindings":
            raise errors.bad_request(
                f'{kind} in version "{rt.version}" cannot be handled as a {rt.kind}: the kind '
                f"in the data ({kind}) does not match the expected kind ({rt.kind})"
            )
        api_version = body.get("apiVersion")
        if api_version and api_version != rt.api_version and rt.plural != "bindings":
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({rt.api_version})"
            )
        return body

    async def _patch_body(self, request: web.Request) -> Any:
        raw = await request.read()
        try:
            if "yaml" in request.content_type:
                return yaml.safe_load(raw)
            return json.loads(raw or b"null")
        except (ValueError, yaml.YAMLError) as exc:
            raise errors.bad_request(f"the patch is not valid JSON: {exc}") from None

    # ----- list and watch ---------------------------------------------------------

    def _list(self, request: web.Request, rt: ResourceType, ns: str | None) -> web.Response:
        q = request.query
        items, rv, cont, remaining = self.store.list_page(
            rt,
            ns,
            q.get("labelSelector"),
            q.get("fieldSelector"),
            _int(q, "limit"),
            q.get("continue") or None,
        )
        if tables.wants_table(request.headers.get("Accept", "")):
            return json_response(
                tables.table(
                    rt.key,
                    items,
                    rv,
                    q.get("includeObject", "Metadata"),
                    continue_token=cont,
                    remaining=remaining,
                )
            )
        meta: dict[str, Any] = {"resourceVersion": rv}
        if cont:
            meta["continue"] = cont
        if remaining is not None:
            meta["remainingItemCount"] = remaining
        # Encode items once without building a second dict per object.
        head = _dumps({"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": meta})
        body = head[:-1] + b',"items":[' + b",".join(map(self.store.encode, items)) + b"]}"
        return web.Response(body=body, content_type="application/json")

    async def _watch(self, request: web.Request, rt: ResourceType, ns: str | None):
        q = request.query
        timeout = _int(q, "timeoutSeconds")
        watch = self.store.watch(
            rt,
            ns,
            q.get("labelSelector"),
            q.get("fieldSelector"),
            q.get("resourceVersion") or None,
            timeout_seconds=float(timeout) if timeout else DEFAULT_WATCH_TIMEOUT,
            allow_bookmarks=_bool(q.get("allowWatchBookmarks")),
            send_initial_events=_bool(q.get("sendInitialEvents")) or None,
        )
        response = web.StreamResponse(
            status=200,
            headers={
                "Content-Type": "application/json",
                "Cache-Control": "no-cache, private",
            },
        )
        response.enable_chunked_encoding()
        await response.prepare(request)
        self._streams.add(response)
        as_table = tables.wants_table(request.headers.get("Accept", ""))
        include = q.get("includeObject", "Metadata")
        headers_sent = False
        try:
            async for event_type, obj in watch:
                if as_table and event_type not in ("ERROR", "BOOKMARK"):
                    obj = tables.table(
                        rt.key,
                        [obj],
                        obj["metadata"]["resourceVersion"],
                        include,
                        headers=not headers_sent,
                    )
                    headers_sent = True
                await response.write(
                    b'{"type":"'
                    + event_type.encode()
                    + b'","object":'
                    + self.store.encode(obj)
                    + b"}\n"
                )
        except (ConnectionResetError, asyncio.CancelledError):
            watch.close()
            raise
        finally:
            watch.close()
            self._streams.discard(response)
        try:
            await response.write_eof()
        except ConnectionResetError:
            pass
        return response

    # ----- delete -----------------------------------------------------------------

    async def _delete_options(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        options: dict[str, Any] = {}
        if raw and "protobuf" in request.content_type:
            options = protobuf.decode(raw)
        elif raw:
            try:
                options = json.loads(raw) or {}
            except ValueError:
                raise errors.bad_request("DeleteOptions body is not valid JSON") from None
        q = request.query
        if q.get("gracePeriodSeconds") not in (None, ""):
            options["gracePeriodSeconds"] = _int(q, "gracePeriodSeconds")
        if q.get("propagationPolicy"):
            options["propagationPolicy"] = q["propagationPolicy"]
        if q.get("orphanDependents") not in (None, ""):
            options["orphanDependents"] = _bool(q["orphanDependents"])
        if "orphanDependents" in options and "propagationPolicy" not in options:
            options["propagationPolicy"] = "Orphan" if options["orphanDependents"] else None
        if q.get("dryRun") == "All" or "All" in (options.get("dryRun") or []):
            options["dryRun"] = True
        return options

    async def _delete(self, request, rt, name, ns, dry_run):
        options = await self._delete_options(request)
        obj, removed = await self.store.delete(
            rt,
            name,
            ns,
            grace_period_seconds=options.get("gracePeriodSeconds"),
            propagation_policy=options.get("propagationPolicy"),
            preconditions=options.get("preconditions"),
            dry_run=dry_run or bool(options.get("dryRun")),
        )
        if removed and rt.plural not in RETURN_DELETED_OBJECT:
            return json_response(success_status(rt, name, obj["metadata"].get("uid")))
        return json_response(obj)

    async def _delete_collection(self, request, rt, ns, dry_run):
        options = await self._delete_options(request)
        q = request.query
        items, rv = self.store.list(rt, ns, q.get("labelSelector"), q.get("fieldSelector"))
        deleted = []
        for obj in list(items):
            meta = obj["metadata"]
            try:
                result, _ = await self.store.delete(
                    rt,
                    meta["name"],
                    meta.get("namespace"),
                    grace_period_seconds=options.get("gracePeriodSeconds"),
                    propagation_policy=options.get("propagationPolicy"),
                    dry_run=dry_run or bool(options.get("dryRun")),
                )
                deleted.append(result)
            except ApiError as err:
                if err.code != 404:
                    raise
        return json_response(
            {
                "kind": rt.list_kind,
                "apiVersion": rt.api_version,
                "metadata": {"resourceVersion": self.store.resource_version},
                "items": deleted,
            }
        )

    # ----- subresources -----------------------------------------------------------

    async def _finalize_namespace(self, name: str, body: dict) -> dict:
        rt = self.store.resource("namespaces")
        obj = self.store.get_nowait(rt, name)
        obj.setdefault("spec", {})["finalizers"] = (body.get("spec") or {}).get("finalizers", [])
        return await self.store.replace(rt, name, obj)

    async def _pod_action(self, request: web.Request, route: Route) -> web.Response:
        raw = await request.read()
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise errors.bad_request("the request body is not valid JSON") from None
        pods = self.store.resource("pods")
        ns = route.namespace or (body.get("metadata") or {}).get("namespace")
        name = route.name or (body.get("metadata") or {}).get("name")
        if route.subresource == "eviction":
            options = body.get("deleteOptions") or {}
            obj = self.store.peek(pods, name, ns)
            if obj is None:
                raise errors.not_found(pods, name)
            check_eviction(self.store, obj)
            await self.store.delete(
                pods,
                name,
                ns,
                grace_period_seconds=options.get("gracePeriodSeconds"),
                preconditions=options.get("preconditions"),
            )
            return json_response(
                {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}, 201
            )
        target = (body.get("target") or {}).get("name")
        if not target:
            raise errors.invalid(
                self.store.resource("bindings"),
                name or "",
                [
                    {
                        "reason": "FieldValueRequired",
                        "message": "Required value",
                        "field": "target.name",
                    }
                ],
            )
        await self.store.bind(name, ns, target)
        return json_response(
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "code": 201,
            },
            201,
        )

    async def _scale(self, request: web.Request, route: Route, verb: str) -> web.Response:
        rt, name, ns = route.rt, route.name, route.namespace
        if verb in ("update", "patch"):
            raw = await request.read()
            body = json.loads(raw or b"{}")
            if verb == "patch":
                replicas = (body.get("spec") or {}).get("replicas")
            else:
                replicas = (body.get("spec") or {}).get("replicas")
            if replicas is not None:
                await self.store.patch(rt, name, {"spec": {"replicas": replicas}}, "merge", ns)
        obj = self.store.get_nowait(rt, name, ns)
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        selector = ",".join(
            f"{k}={v}" for k, v in ((spec.get("selector") or {}).get("matchLabels") or {}).items()
        )
        return json_response(
            {
                "kind": "Scale",
                "apiVersion": "autoscaling/v1",
                "metadata": {
                    k: obj["metadata"][k]
                    for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                    if k in obj["metadata"]
                },
                "spec": {"replicas": spec.get("replicas", 0)},
                "status": {"replicas": status.get("replicas", 0), "selector": selector},
            }
        )

    async def _token_request(self, request: web.Request, route: Route) -> web.Response:
        """TokenRequest (pkg/registry/core/serviceaccount/storage/token.go)."""
        account = self.store.get_nowait(route.rt, route.name, route.namespace)
        raw = await request.read()
        body = json.loads(raw or b"{}")
        spec = body.get("spec") or {}
        seconds = spec.get("expirationSeconds") or 3600
        if seconds < 600:
            raise errors.invalid(
                route.rt,
                route.name or "",
                [
                    {
                        "reason": "FieldValueInvalid",
                        "message": f"Invalid value: {seconds}: may not specify a duration "
                        "less than 10 minutes",
                        "field": "spec.expirationSeconds",
                    }
                ],
                kind="TokenRequest.authentication.k8s.io",
            )
        pod = None
        bound = spec.get("boundObjectRef") or {}
        if bound.get("kind") == "Pod":
            found = self.store.peek("pods", bound.get("name", ""), route.namespace)
            if found is None or (bound.get("uid") and bound["uid"] != found["metadata"]["uid"]):
                raise errors.not_found(self.store.resource("pods"), bound.get("name", ""))
            pod = {"name": found["metadata"]["name"], "uid": found["metadata"]["uid"]}
        token, expiry = self.issuer.mint(
            route.namespace or "",
            route.name or "",
            account["metadata"]["uid"],
            seconds,
            audiences=spec.get("audiences") or None,
            pod=pod,
        )
        return json_response(
            {
                "kind": "TokenRequest",
                "apiVersion": "authentication.k8s.io/v1",
                "metadata": {
                    "name": route.name,
                    "namespace": route.namespace,
                    "creationTimestamp": None,
                },
                "spec": {**spec, "expirationSeconds": seconds},
                "status": {
                    "token": token,
                    "expirationTimestamp": now_rfc3339(expiry - time.time()),
                },
            },
            201,
        )

    async def _pod_stream(self, request: web.Request, route: Route) -> web.StreamResponse:
        pods = self.store.resource("pods")
        pod = self.store.peek(pods, route.name, route.namespace)
        if pod is None:
            raise errors.not_found(pods, route.name)
        options = exec_attach.parse_options(request, pod, route.subresource)
        if self.stream_opener is None:
            raise ApiError(400, "BadRequest", "this kubesim runs no kubelet, so nothing runs")
        opener = self.stream_opener
        return await exec_attach.serve(
            request, route.subresource, options, lambda: opener(pod, route.subresource, options)
        )

    async def _pod_log(self, request: web.Request, route: Route) -> web.StreamResponse:
        pods = self.store.resource("pods")
        name, ns = route.name, route.namespace
        pod = self.store.peek(pods, name, ns)
        if pod is None:
            raise errors.not_found(pods, name)
        q = request.query
        container = q.get("container") or log_requests.only_container(pod)
        log_requests.check_container_started(pod, container)
        if self.log_reader is None:
            raise ApiError(400, "BadRequest", "this kubesim runs no kubelet, so there are no logs")
        options = {"previous": _bool(q.get("previous")), "timestamps": _bool(q.get("timestamps"))}
        text = await self.log_reader(ns, name, container, **options)
        text = log_requests.tail(text, _int(q, "tailLines"), _int(q, "limitBytes"))
        if not _bool(q.get("follow")):
            return web.Response(text=text, content_type="text/plain")
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(text.encode())
        sent = len(await self.log_reader(ns, name, container, **options))
        try:
            while True:
                current = self.store.peek(pods, name, ns)
                full = await self.log_reader(ns, name, container, **options)
                if len(full) > sent:
                    await response.write(full[sent:].encode())
                    sent = len(full)
                if (
                    current is None
                    or current["metadata"]["uid"] != pod["metadata"]["uid"]
                    or (log_requests.container_terminated(current, container))
                ):
                    break
                await asyncio.sleep(0.2)
        except ConnectionResetError:
            return response
        await response.write_eof()
        return response
