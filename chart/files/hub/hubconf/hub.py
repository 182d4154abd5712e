"""The hub and the proxy: where the hub listens, JupyterHub's own settings
(hub.*, debug.*), and the proxy's API it talks to."""

import ipaddress
import os

from z2jh import get_name_env, get_secret_value

from .values import ConfigError, non_negative_int, typed

HUB_CONTAINER_PORT = 8081


def url_host(host):
    """Bracket IPv6 addresses for use in a URL."""
    try:
        return f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
    except ValueError:
        return host


def is_loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def service_url(name):
    """http://host:port of a Service, from the variables Kubernetes injects."""
    host = get_name_env(name, "_SERVICE_HOST")
    port = get_name_env(name, "_SERVICE_PORT")
    return host, port, f"http://{url_host(host)}:{port}"


def hub_bind(c):
    """Where the hub listens, and the URL its own services use to reach it.

    In a pod the hub listens on every interface on its container port. A pod
    whose own address (POD_IP) is on loopback runs on kubesim's process
    runtime, where pods share this machine's network: the hub listens on
    exactly that address (every interface would take the port from every
    other pod). When only the hub Service's variables point at loopback (a
    hub run without any pod network) it listens exactly there instead.
    """
    host, port, connect_url = service_url("hub")
    pod_ip = os.environ.get("POD_IP", "")
    if is_loopback(pod_ip):
        bind_host, bind_port = pod_ip, HUB_CONTAINER_PORT
    elif is_loopback(host):
        bind_host, bind_port = host, int(port)
    else:
        bind_host, bind_port = "", HUB_CONTAINER_PORT
    c.JupyterHub.hub_bind_url = f"http://{url_host(bind_host)}:{bind_port}"
    # User pods and the proxy reach the hub through its Service.
    c.JupyterHub.hub_connect_url = connect_url
    local = bind_host or "127.0.0.1"
    return f"http://{url_host(local)}:{bind_port}"


def configure_hub(c):
    c.JupyterHub.base_url = typed("hub.baseUrl", str, "/")
    # User servers outlive hub restarts: the hub finds them again from its
    # database and the spawner's state.
    c.JupyterHub.cleanup_servers = False
    c.JupyterHub.last_activity_interval = 60
    # Send users to the progress page at once instead of waiting.
    c.JupyterHub.tornado_settings = {"slow_spawn_timeout": 0}

    for key, section, trait in [
        ("hub.concurrentSpawnLimit", c.JupyterHub, "concurrent_spawn_limit"),
        ("hub.activeServerLimit", c.JupyterHub, "active_server_limit"),
        # a Spawner setting since JupyterHub 5
        ("hub.consecutiveFailureLimit", c.Spawner, "consecutive_failure_limit"),
        ("hub.namedServerLimitPerUser", c.JupyterHub, "named_server_limit_per_user"),
    ]:
        value = non_negative_int(key)
        if value is not None:
            setattr(section, trait, value)
    for key, trait in [
        ("hub.allowNamedServers", "allow_named_servers"),
        ("hub.redirectToServer", "redirect_to_server"),
        ("hub.shutdownOnLogout", "shutdown_on_logout"),
        ("hub.authenticatePrometheus", "authenticate_prometheus"),
    ]:
        value = typed(key, bool)
        if value is not None:
            setattr(c.JupyterHub, trait, value)
    paths = typed("hub.templatePaths", list)
    if paths:
        c.JupyterHub.template_paths = paths
    template_vars = typed("hub.templateVars", dict)
    if template_vars:
        c.JupyterHub.template_vars = template_vars

    if typed("debug.enabled", bool, False):
        c.JupyterHub.log_level = "DEBUG"
        c.Spawner.debug = True


def configure_proxy(c):
    # The proxy runs in its own pod; the hub only talks to its API.
    c.ConfigurableHTTPProxy.should_start = False
    c.ConfigurableHTTPProxy.api_url = service_url("proxy-api")[2]
    token = get_secret_value("hub.config.ConfigurableHTTPProxy.auth_token", None)
    token = token or os.environ.get("CONFIGPROXY_AUTH_TOKEN")
    if not token:
        raise ConfigError(
            "no proxy auth token: the Secret has no key hub.config.ConfigurableHTTPProxy.auth_token "
            "and CONFIGPROXY_AUTH_TOKEN is unset (set proxy.secretToken or let the chart generate it)"
        )
    c.ConfigurableHTTPProxy.auth_token = token.strip()
