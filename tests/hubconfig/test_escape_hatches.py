"""hub.config -> jupyterhub_config.d -> hub.extraConfig, and z2jh from user code."""

import pytest

from .hubenv import raises_config_error

CONFIG_D = {
    "50-late.py": 'c.JupyterHub.template_vars["order"].append("config.d/50-late")\n',
    "05-early.py": 'c.JupyterHub.template_vars["order"].append("config.d/05-early")\n',
    "README.txt": "not python, not loaded\n",
}


@pytest.fixture(scope="module")
def extra(hub_setup):
    return hub_setup("extra-config.yaml").load(config_d=CONFIG_D)


def test_order(extra):
    assert extra.JupyterHub.template_vars["order"] == [
        "hub.config",
        "config.d/05-early",
        "config.d/50-late",
        "00-first",
        "10-second",
    ]


def test_extra_config_map_is_read_as_custom(extra):
    """The seed guide's examples of z2jh.get_config('custom.*')."""
    assert extra.JupyterHub.template_vars["custom"] == {
        "myString": "Hello!",
        "myList": ["Item1", "Item2"],
        "myDict": {"key": "value"},
        "myLongString": "Line1\nLine2\n",
        "nonExistent": None,
        "myDefault": True,
        "fromCustom": "today's spelling",
    }


def test_extra_config_as_a_string(hub_setup):
    """The seed guide's example, `c.Spawner.environment += {...}`, works."""
    from kubespawner import KubeSpawner

    config = hub_setup("extra-config-string.yaml").config
    assert config.JupyterHub.template_vars == {"from": "extraConfig string"}
    # the spawner the hub makes sees both additions
    environment = KubeSpawner(config=config).environment
    assert float(environment["CURRENT_TIME"]) > 0
    assert environment["MORE"] == "yes"


def test_an_error_names_the_extra_config_key(hub_setup):
    bad = {"hub": {"extraConfig": {"00-ok": "x = 1\n", "20-broken": "x = 1\ny = undefined_name\n"}}}
    with raises_config_error(r"hub\.extraConfig\.20-broken \(line 2\) failed: NameError"):
        hub_setup().load(existing_values=bad)


def test_a_syntax_error_names_the_extra_config_key(hub_setup):
    bad = {"hub": {"extraConfig": {"30-typo": "def f(:\n"}}}
    with raises_config_error(r"hub\.extraConfig\.30-typo \(line 1\) failed: SyntaxError"):
        hub_setup().load(existing_values=bad)


def test_an_error_in_config_d_names_the_file(hub_setup):
    with raises_config_error(
        r"jupyterhub_config\.d/10-bad\.py \(line 2\) failed: ZeroDivisionError"
    ):
        hub_setup().load(config_d={"10-bad.py": "x = 1\n1 / 0\n"})


def _record_patches(undo):
    """hub.extraConfig code that may undo the patches, then records them."""
    return (
        "from hubconf import active_counts, oauth_secrets, orm_lookups, sqlite_ping\n"
        + (
            "orm_lookups.restore()\noauth_secrets.restore()\nsqlite_ping.restore()\n"
            "active_counts.restore()\n"
            if undo
            else ""
        )
        + "c.JupyterHub.template_vars = {'patched': [\n"
        "    list(orm_lookups.installed()), oauth_secrets.installed(), sqlite_ping.installed(),\n"
        "    active_counts.installed()]}\n"
    )


@pytest.mark.parametrize("undo", [False, True])
def test_extra_config_can_undo_the_changes_to_jupyterhub(hub_setup, caplog, undo):
    """README "Performance": hub.extraConfig puts JupyterHub's own lookups
    secret hashing, connection ping and server count back, and the hub's log
    then claims none of them."""
    caplog.set_level("INFO", logger="JupyterHub")
    values = {"hub": {"extraConfig": {"patches": _record_patches(undo)}}}
    config = hub_setup().load(existing_values=values)
    if undo:
        assert config.JupyterHub.template_vars == {"patched": [[], False, False, False]}
        assert "hubconf.orm_lookups" not in caplog.text
        assert "hubconf.oauth_secrets" not in caplog.text
        assert "hubconf.sqlite_ping" not in caplog.text
        assert "hubconf.active_counts" not in caplog.text
    else:
        assert config.JupyterHub.template_vars == {
            "patched": [["User", "Role", "Group", "Service"], True, True, True]
        }
        assert "hubconf.orm_lookups: User, Role, Group, Service" in caplog.text
        assert "hubconf.sqlite_ping: no connection ping for SQLite databases" in caplog.text
        assert (
            "hubconf.active_counts: active and pending servers counted in one pass" in caplog.text
        )
