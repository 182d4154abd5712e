"""cull.*, hub.services and hub.loadRoles -> JupyterHub services and roles."""

import subprocess
import sys

import pytest


def culler(config):
    (service,) = [s for s in config.JupyterHub.services if s["name"] == "jupyterhub-idle-culler"]
    (role,) = [r for r in config.JupyterHub.load_roles if r["name"] == "jupyterhub-idle-culler"]
    return service, role


def test_default_culler(hub_setup):
    service, role = culler(hub_setup().config)
    command = service["command"]
    assert command[1:3] == ["-m", "jupyterhub_idle_culler"]
    assert "--url=http://127.0.0.1:8081/hub/api" in command
    assert "--timeout=3600" in command
    assert "--cull-every=600" in command
    assert "--concurrency=10" in command
    assert not any(arg.startswith("--cull-users") for arg in command)
    assert not any(arg.startswith("--cull-admin-users") for arg in command)
    # the smallest role that lets it list users and stop their servers
    assert role["scopes"] == ["list:users", "read:users:activity", "read:servers", "delete:servers"]
    assert role["services"] == ["jupyterhub-idle-culler"]
    assert "admin" not in service


def test_every_cull_key(hub_setup):
    service, role = culler(hub_setup("services.yaml").config)
    command = service["command"]
    for arg in [
        "--timeout=1800",
        "--cull-every=120",
        "--concurrency=3",
        "--max-age=86400",
        "--cull-users=True",
        "--cull-admin-users=False",
        "--remove-named-servers=True",
    ]:
        assert arg in command
    # deleting users needs admin:users, and only then
    assert "admin:users" in role["scopes"]


def test_the_culler_accepts_its_command_line(hub_setup):
    """The real culler parses the flags we give it (stopped before it starts)."""
    service, _ = culler(hub_setup("services.yaml").config)
    args = [a for a in service["command"][3:] if not a.startswith("--url")]
    code = (
        "import sys; from jupyterhub_idle_culler import IdleCuller\n"
        "app = IdleCuller(); app.parse_command_line(sys.argv[1:])\n"
        "print(app.timeout, app.cull_every, app.concurrency, app.max_age,"
        " app.cull_users, app.cull_admin_users, app.remove_named_servers)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1800", "120", "3", "86400", "True", "False", "True"]


def test_culling_off(hub_setup):
    config = hub_setup("storage-none.yaml").config
    assert not [s for s in config.JupyterHub.services if s["name"] == "jupyterhub-idle-culler"]
    assert not config.JupyterHub.load_roles


def test_hub_services_with_tokens(hub_setup):
    setup = hub_setup("services.yaml")
    services = {s["name"]: s for s in setup.config.JupyterHub.services}
    assert services["grafana"]["url"] == "http://grafana.example.org:3000"
    assert services["grafana"]["oauth_no_confirm"] is True
    # a token the user gave, or one the chart generated, comes from the Secret
    token = setup.pod.secret.get("hub.services.announcements.apiToken")
    assert services["announcements"]["api_token"] == (token or "0123456789abcdef0123456789abcdef")
    assert "apiToken" not in services["announcements"]


def test_service_token_from_existing_secret(hub_setup):
    config = hub_setup("services.yaml").load(
        existing_files={"hub.services.grafana.apiToken": "from-existing-secret\n"}
    )
    services = {s["name"]: s for s in config.JupyterHub.services}
    assert services["grafana"]["api_token"] == "from-existing-secret"


def test_load_roles(hub_setup):
    roles = {r["name"]: r for r in hub_setup("services.yaml").config.JupyterHub.load_roles}
    assert roles["teachers"] == {
        "name": "teachers",
        "description": "Teachers see students' servers",
        "scopes": ["admin:servers!group=students", "read:users"],
        "groups": ["teachers"],
    }


@pytest.mark.parametrize("values_file", ["services.yaml", "extra-config.yaml"])
def test_extra_config_can_append_services(hub_setup, values_file):
    config = hub_setup(values_file).load(
        existing_values={
            "hub": {"extraConfig": {"99": 'c.JupyterHub.services.append({"name": "late"})\n'}}
        }
    )
    assert config.JupyterHub.services[-1] == {"name": "late"}


def test_hub_config_services_and_roles_add_to_the_charts(hub_setup):
    config = hub_setup().load(
        existing_values={
            "hub": {
                "config": {
                    "JupyterHub": {
                        "services": [{"name": "external", "url": "http://10.0.0.9"}],
                        "load_roles": [{"name": "viewer", "scopes": ["read:users"]}],
                    }
                }
            }
        }
    )
    assert [s["name"] for s in config.JupyterHub.services] == ["jupyterhub-idle-culler", "external"]
    assert [r["name"] for r in config.JupyterHub.load_roles] == ["jupyterhub-idle-culler", "viewer"]
