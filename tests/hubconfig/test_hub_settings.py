"""hub.*, debug.* values -> JupyterHub, proxy, database and secret settings."""

import pytest

from . import hubenv


@pytest.fixture(scope="module")
def hub(hub_setup):
    return hub_setup("hub.yaml").config.JupyterHub


def test_hub_settings(hub, hub_setup):
    config = hub_setup("hub.yaml").config
    assert hub.base_url == "/jhub/"
    assert hub.concurrent_spawn_limit == 7
    assert hub.active_server_limit == 30
    assert config.Spawner.consecutive_failure_limit == 3
    assert hub.allow_named_servers is True
    assert hub.named_server_limit_per_user == 2
    assert hub.redirect_to_server is False
    assert hub.shutdown_on_logout is True
    assert hub.authenticate_prometheus is False
    assert hub.template_paths == ["/etc/jupyterhub/templates"]
    assert hub.template_vars == {"announcement": "Maintenance on Friday"}
    assert hub.upgrade_db is True
    assert hub.log_level == "DEBUG"
    assert config.Spawner.debug is True


def test_defaults(hub_setup):
    hub = hub_setup().config.JupyterHub
    # servers outlive hub restarts
    assert hub.cleanup_servers is False
    assert hub.base_url == "/"
    assert hub.concurrent_spawn_limit == 64
    assert hub_setup().config.Spawner.consecutive_failure_limit == 5
    assert hub.allow_named_servers is False
    assert hub.db_url == "sqlite:///jupyterhub.sqlite"
    # z2jh's default for sqlite-pvc (JupyterHub keeps a backup of the file)
    assert hub.upgrade_db is True
    for unset in ("active_server_limit", "log_level", "redirect_to_server"):
        assert unset not in hub


def test_hub_urls_come_from_the_service_variables(hub_setup):
    setup = hub_setup()
    env = setup.pod.env
    hub = setup.config.JupyterHub
    assert hub.hub_connect_url == f"http://{env['HUB_SERVICE_HOST']}:{env['HUB_SERVICE_PORT']}"
    # in a pod: every interface, the container port
    assert hub.hub_bind_url == "http://:8081"
    proxy = setup.config.ConfigurableHTTPProxy
    assert proxy.api_url == (
        f"http://{env['PROXY_API_SERVICE_HOST']}:{env['PROXY_API_SERVICE_PORT']}"
    )
    assert proxy.should_start is False


def test_loopback_services_bind_the_hub_there(hub_setup):
    """The local deployment points the Service variables at loopback."""
    env = {
        "HUB_SERVICE_HOST": "127.0.0.7",
        "HUB_SERVICE_PORT": "18081",
        "PROXY_API_SERVICE_HOST": "::1",
        "PROXY_API_SERVICE_PORT": "18001",
    }
    config = hub_setup("hub.yaml").load(env=env)
    assert config.JupyterHub.hub_bind_url == "http://127.0.0.7:18081"
    assert config.JupyterHub.hub_connect_url == "http://127.0.0.7:18081"
    assert config.ConfigurableHTTPProxy.api_url == "http://[::1]:18001"
    culler = config.JupyterHub.services[0]
    assert "--url=http://127.0.0.7:18081/jhub/hub/api" in culler["command"]


def test_a_pod_on_loopback_binds_the_hub_to_its_own_address(hub_setup):
    """kubesim's process runtime: pods share this machine's network, the
    Services' cluster IPs are its kube-proxy's (not the hub's to take)."""
    env = {
        "POD_IP": "127.244.0.9",
        "HUB_SERVICE_HOST": "127.96.0.20",
        "HUB_SERVICE_PORT": "8081",
        "PROXY_API_SERVICE_HOST": "127.96.0.21",
        "PROXY_API_SERVICE_PORT": "8001",
    }
    config = hub_setup("hub.yaml").load(env=env)
    assert config.JupyterHub.hub_bind_url == "http://127.244.0.9:8081"
    assert config.JupyterHub.hub_connect_url == "http://127.96.0.20:8081"
    culler = config.JupyterHub.services[0]
    assert "--url=http://127.244.0.9:8081/jhub/hub/api" in culler["command"]


def test_secrets_come_from_the_secret(hub_setup):
    setup = hub_setup()
    config = setup.config
    secret = setup.pod.secret
    assert (
        config.ConfigurableHTTPProxy.auth_token
        == (secret["hub.config.ConfigurableHTTPProxy.auth_token"])
    )
    assert config.JupyterHub.cookie_secret == bytes.fromhex(
        secret["hub.config.JupyterHub.cookie_secret"]
    )
    assert config.CryptKeeper["keys"] == secret["hub.config.CryptKeeper.keys"].split(";")


def test_cookie_secret_from_values(hub_setup):
    """hub.cookieSecret (set in maximal.yaml) -> JupyterHub.cookie_secret, via the Secret."""
    from .hubenv import REPO

    maximal = hub_setup(REPO / "tests" / "chart" / "values" / "maximal.yaml")
    assert maximal.config.JupyterHub.cookie_secret == bytes.fromhex("1" * 64)
    # the chart generates one otherwise
    assert hub_setup().config.JupyterHub.cookie_secret != bytes.fromhex("1" * 64)


def test_existing_secret_wins(hub_setup):
    setup = hub_setup()
    token, cookie = "e" * 64, "f" * 64
    config = setup.load(
        existing_files={
            "hub.config.ConfigurableHTTPProxy.auth_token": token,
            "hub.config.JupyterHub.cookie_secret": cookie,
        },
        existing_values={"hub": {"concurrentSpawnLimit": 3}},
    )
    assert config.ConfigurableHTTPProxy.auth_token == token
    assert config.JupyterHub.cookie_secret == bytes.fromhex(cookie)
    assert config.JupyterHub.concurrent_spawn_limit == 3


def _db(hub_setup, db, env=None):
    return hub_setup().load(existing_values={"hub": {"db": db}}, env=env).JupyterHub


@pytest.mark.parametrize(
    "db, url",
    [
        ({"type": "sqlite-pvc"}, "sqlite:///jupyterhub.sqlite"),
        # z2jh ignores hub.db.url with sqlite-pvc: the file on hub-db-dir
        (
            {"type": "sqlite-pvc", "url": "sqlite:////elsewhere.sqlite"},
            "sqlite:///jupyterhub.sqlite",
        ),
        ({"type": "sqlite-memory"}, "sqlite://"),
        # without a driver: the one the image has
        (
            {"type": "postgres", "url": "postgresql://hub@db:5432/hub"},
            "postgresql+psycopg2://hub@db:5432/hub",
        ),
        # the seed guide's spelling
        (
            {"type": "postgres", "url": "postgres+psycopg2://hub@db:5432/hub"},
            "postgresql+psycopg2://hub@db:5432/hub",
        ),
        ({"type": "mysql", "url": "mysql+pymysql://hub@db/hub"}, "mysql+pymysql://hub@db/hub"),
        ({"type": "mysql", "url": "mysql://hub@db/hub"}, "mysql+pymysql://hub@db/hub"),
        ({"type": "other", "url": "sqlite:////data/hub.sqlite"}, "sqlite:////data/hub.sqlite"),
    ],
)
def test_database_types(hub_setup, db, url):
    assert _db(hub_setup, db).db_url == url


@pytest.mark.parametrize(
    "db, upgrade",
    [
        ({"type": "sqlite-pvc"}, True),
        ({"type": "sqlite-pvc", "upgrade": False}, False),
        ({"type": "postgres", "url": "postgresql://hub@db/hub"}, None),
        ({"type": "postgres", "url": "postgresql://hub@db/hub", "upgrade": True}, True),
    ],
)
def test_upgrade_db_as_z2jh(hub_setup, db, upgrade):
    hub = _db(hub_setup, db)
    assert hub.get("upgrade_db") == upgrade


def test_mysql_password_from_env(hub_setup):
    hub = _db(
        hub_setup, {"type": "mysql", "url": "mysql+pymysql://hub@db/hub"}, {"MYSQL_PWD": "pw"}
    )
    assert hub.db_kwargs == {"connect_args": {"password": "pw"}}


def test_db_password_reaches_the_hub_env(hub_setup, renderer):
    from .hubenv import VALUES, hub_pod

    pg = hub_pod(renderer([VALUES / "db-postgres.yaml"]))
    assert pg.env["PGPASSWORD"] == "s3cret"


ALL_VALUES_FILES = sorted(p.name for p in hubenv.VALUES.glob("*.yaml"))


@pytest.mark.parametrize("values_file", ALL_VALUES_FILES)
def test_every_setting_is_a_real_trait(hub_setup, values_file):
    """Whatever the values, each setting names a trait its class really has
    (a misspelt or moved trait is only a warning in the hub log)."""
    from .hubenv import VALUES, unknown_traits

    hub_setup.prerender(*(VALUES / name for name in ALL_VALUES_FILES))
    assert unknown_traits(hub_setup(values_file).config) == {}
