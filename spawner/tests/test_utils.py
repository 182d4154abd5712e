"""Helpers: merging, template expansion, key case conversion, the Callable trait."""

import pytest
from traitlets import HasTraits, TraitError

from kubespawner.traitlets import Callable
from kubespawner.utils import (
    camelize_keys,
    format_template,
    lenient_format,
    maybe_await,
    recursive_format,
    recursive_update,
    resolve_callable,
    snake_to_camel,
)


def test_recursive_update_merges_and_none_removes():
    target = {"a": {"x": 1, "y": 2}, "b": 1, "c": [1]}
    recursive_update(target, {"a": {"y": 3, "x": None}, "b": None, "c": [2], "d": 4})
    assert target == {"a": {"y": 3}, "c": [2], "d": 4}


def test_recursive_format_expands_keys_values_and_lists():
    fields = {"username": "alice", "userid": 7}
    value = {"{username}-key": ["/home/{username}", 3, {"id": "{userid}"}], "n": None}
    assert recursive_format(value, fields) == {
        "alice-key": ["/home/alice", 3, {"id": "7"}],
        "n": None,
    }


def test_lenient_format_leaves_non_templates_alone():
    fields = {"username": "alice"}
    assert lenient_format('{"k": "{username}"}', fields) == '{"k": "alice"}'
    assert lenient_format("${HOME}/{username}/{unknown}", fields) == "${HOME}/alice/{unknown}"
    assert lenient_format("{{literal}} {username}", fields) == "{literal} alice"


def test_format_template_names_unknown_field_and_known_ones():
    with pytest.raises(KeyError) as info:
        format_template("jupyter-{usr}", {"username": "a"})
    assert "{usr}" in str(info.value) and "{username}" in str(info.value)


def test_camelize_keys_keeps_user_keyed_maps():
    value = {
        "env_from": [{"config_map_ref": {"name": "x"}}],
        "node_selector": {"my_label": "v"},
        "resources": {"limits": {"nvidia.com/gpu": 1}},
        "metadata": {"labels": {"some_key": "v"}, "annotations": {"a_b": "c"}},
        "dnsPolicy": "None",
        "csi": {"volume_attributes": {"share_name": "x"}},
    }
    assert camelize_keys(value) == {
        "envFrom": [{"configMapRef": {"name": "x"}}],
        "nodeSelector": {"my_label": "v"},
        "resources": {"limits": {"nvidia.com/gpu": 1}},
        "metadata": {"labels": {"some_key": "v"}, "annotations": {"a_b": "c"}},
        "dnsPolicy": "None",
        "csi": {"volumeAttributes": {"share_name": "x"}},
    }
    assert snake_to_camel("run_as_user") == "runAsUser"


async def test_maybe_await_and_resolve_callable():
    async def coro(x):
        return x + 1

    assert await maybe_await(coro(1)) == 2
    assert await maybe_await(5) == 5
    assert await resolve_callable(coro, 1) == 2
    assert await resolve_callable(lambda x: x * 2, 2) == 4
    assert await resolve_callable("plain", 2) == "plain"


def test_callable_trait():
    class Thing(HasTraits):
        hook = Callable(None, allow_none=True)

    thing = Thing()
    thing.hook = len
    thing.hook = Thing
    with pytest.raises(TraitError):
        thing.hook = "not callable"
