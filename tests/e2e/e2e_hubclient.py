"""A person at the hub's public URL, as plain HTTP: log in with the form,
spawn (with the profile form), follow the progress event stream, call the
REST API with the login cookie. Everything goes through the proxy."""

import json
from urllib.parse import quote, urlsplit

import requests

from testsupport.waiting import poll_until


class HubUser:
    def __init__(self, base_url: str, name: str, password: str = "any-password"):
        self.base_url = base_url.rstrip("/") + "/"
        self.name = name
        self.password = password
        self.session = requests.Session()

    # --- plumbing -----------------------------------------------------------
    def url(self, path: str) -> str:
        return self.base_url + path.lstrip("/")

    @property
    def xsrf(self) -> str:
        """The hub's XSRF cookie (each user server sets its own on its path)."""
        hub_path = urlsplit(self.base_url).path + "hub"
        for cookie in self.session.cookies:
            if cookie.name == "_xsrf" and cookie.path.rstrip("/") == hub_path:
                return cookie.value
        return ""

    def get(self, path: str, **kw) -> requests.Response:
        kw.setdefault("timeout", 30)
        return self.session.get(self.url(path), **kw)

    def post_form(self, path: str, data: dict, **kw) -> requests.Response:
        kw.setdefault("timeout", 60)
        return self.session.post(self.url(path), data={**data, "_xsrf": self.xsrf}, **kw)

    def api(self, method: str, path: str, **kw) -> requests.Response:
        """/hub/api/<path> with the login cookie (and the XSRF token the hub
        wants with cookie-authenticated API calls)."""
        kw.setdefault("timeout", 60)
        headers = {"X-XSRFToken": self.xsrf, **kw.pop("headers", {})}
        return self.session.request(
            method, self.url("hub/api/" + path.lstrip("/")), headers=headers, **kw
        )

    # --- what a person does --------------------------------------------------
    def login(self) -> requests.Response:
        page = self.get("hub/login")
        page.raise_for_status()
        resp = self.post_form(
            "hub/login", {"username": self.name, "password": self.password}, allow_redirects=False
        )
        if resp.status_code != 302:
            raise AssertionError(
                f"login of {self.name} answered {resp.status_code}: {resp.text[:500]}"
            )
        return resp

    def server_path(self, server: str = "") -> str:
        """As JupyterHub's url_escape_path quotes names in URLs (`@` and `~`
        stay), so the server's own base URL matches (`/user/user@example.com/`)."""
        name, server = quote(self.name, safe="@~"), quote(server, safe="@~")
        return f"{name}/{server}" if server else name

    def spawn_form(self, server: str = "") -> requests.Response:
        return self.get(f"hub/spawn/{self.server_path(server)}")

    def spawn(self, server: str = "", form: dict | None = None) -> requests.Response:
        """Submit the spawn form (an empty one when there are no profiles)."""
        return self.post_form(
            f"hub/spawn/{self.server_path(server)}", form or {}, allow_redirects=False
        )

    def progress(self, server: str = "", timeout: float = 180) -> list[dict]:
        """Every event of the progress stream until it reports ready or
        failed. Raises if the stream ends without either."""
        path = (
            f"users/{quote(self.name)}/servers/{quote(server)}/progress"
            if server
            else f"users/{quote(self.name)}/server/progress"
        )
        events = []
        with self.api(
            "GET", path, stream=True, timeout=timeout, headers={"Accept": "text/event-stream"}
        ) as resp:
            resp.raise_for_status()
            for line in resp.iter_lines(decode_unicode=True):
                if not line or not line.startswith("data:"):
                    continue
                event = json.loads(line[len("data:") :])
                events.append(event)
                if event.get("ready") or event.get("failed"):
                    return events
        raise AssertionError(
            f"progress stream of {self.name}/{server} ended without ready: {events}"
        )

    def start(self, server: str = "", form: dict | None = None) -> list[dict]:
        resp = self.spawn(server, form)
        if resp.status_code != 302:
            raise AssertionError(
                f"spawn of {self.name}/{server} answered {resp.status_code}: {resp.text[:1000]}"
            )
        events = self.progress(server)
        if not events[-1].get("ready"):
            raise AssertionError(f"spawn of {self.name}/{server} failed: {events[-1]}")
        return events

    def stop(self, server: str = "", wait: float = 120) -> None:
        path = (
            f"users/{quote(self.name)}/servers/{quote(server)}"
            if server
            else f"users/{quote(self.name)}/server"
        )
        resp = self.api("DELETE", path)
        if resp.status_code not in (202, 204):
            raise AssertionError(f"stop answered {resp.status_code}: {resp.text}")
        poll_until(
            lambda: server not in self.model()["servers"], "server stopped", wait, interval=0.5
        )

    def model(self) -> dict:
        resp = self.api("GET", f"users/{quote(self.name)}")
        resp.raise_for_status()
        return resp.json()

    def server_url(self, server: str = "") -> str:
        return f"user/{self.server_path(server)}/"

    def open_server(self, server: str = "", page: str = "") -> requests.Response:
        """Open the server as a browser does, then `page` of it. The first
        visit goes through the OAuth dance with the hub, which leaves the
        server's own login cookie (its API answers 403 without it)."""
        for path in dict.fromkeys(["", page]):
            resp = self.get(self.server_url(server) + path)
            if resp.status_code != 200:
                raise AssertionError(f"{resp.url} answered {resp.status_code}: {resp.text[:300]}")
        return resp
