"""Names for any user/server name are valid Kubernetes names and never collide."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubespawner import slugs
from kubespawner.expansion import NameParts, render_name, template_fields

# any Unicode text, biased towards the awkward cases (case, symbols, length)
names = st.one_of(
    st.text(min_size=1, max_size=300),
    st.text(alphabet="abcAB-_.@0123456789", min_size=1, max_size=80),
    st.from_regex(r"[a-z][a-z0-9-]{0,60}", fullmatch=True),
)

DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def pod_and_pvc(user, server=""):
    fields = template_fields(NameParts(username=user, servername=server), "safe")
    return (
        render_name("jupyter-{user_server}", fields, "safe"),
        render_name("claim-{user_server}", fields, "safe"),
        fields,
    )


@settings(max_examples=150)
@given(names)
def test_safe_slug_is_a_dns_1035_label_and_label_value(name):
    slug = slugs.safe_slug(name)
    # a valid name passes unchanged up to a DNS label's 63 characters (as upstream);
    # only hashed forms are held to the shorter hashed length
    assert DNS_1035.match(slug) and len(slug) <= slugs.DNS_LABEL_MAX
    if slug != name:
        assert len(slug) <= slugs.DEFAULT_HASHED_LENGTH
    assert slugs.is_valid_label_value(slug)
    assert slugs.is_valid_label_value(slugs.safe_label_value(name))


@settings(max_examples=150)
@given(names, st.one_of(st.just(""), names))
def test_pod_and_pvc_names_are_valid_dns_labels(user, server):
    pod, pvc, fields = pod_and_pvc(user, server)
    for name in (pod, pvc):
        assert slugs.is_valid_dns_1035_label(name), name
    assert slugs.is_valid_label_value(fields["user_server"])


@settings(max_examples=150)
@given(names, names)
def test_distinct_usernames_never_share_a_slug(a, b):
    if a != b:
        assert slugs.safe_slug(a) != slugs.safe_slug(b)
        assert slugs.escape_slug(a) != slugs.escape_slug(b)


@settings(max_examples=150)
@given(
    st.tuples(names, st.one_of(st.just(""), names)), st.tuples(names, st.one_of(st.just(""), names))
)
def test_distinct_user_server_pairs_never_share_a_pod_name(x, y):
    if x != y:
        assert pod_and_pvc(*x)[0] != pod_and_pvc(*y)[0]


@given(st.lists(names, min_size=1, max_size=3, unique=True))
def test_default_and_named_servers_of_a_user_get_distinct_names(servers):
    user = "alice"
    pods = {pod_and_pvc(user, s)[0] for s in ["", *servers]}
    assert len(pods) == len(servers) + 1


def test_valid_names_are_kept_verbatim():
    assert slugs.safe_slug("alice") == "alice"
    assert pod_and_pvc("alice")[0] == "jupyter-alice"
    assert pod_and_pvc("alice", "gpu")[0] == "jupyter-alice--gpu"


def test_upstream_signatures_and_results():
    # KubeSpawner 7's documented examples and edge cases
    assert slugs.safe_slug("user@example.com") == "user-example-com---b4c9a289"
    assert slugs.safe_slug("Alice", is_valid=slugs.is_valid_label) == "Alice"
    assert slugs.safe_slug("a--b").endswith("---" + slugs.strip_and_hash("a--b")[-8:])
    assert len(slugs.safe_slug("a" * 100)) == slugs.DEFAULT_HASHED_LENGTH
    assert len(slugs.safe_slug("a" * 100, max_length=48)) == 48
    assert re.fullmatch(r"x-1---[0-9a-f]{8}", slugs.strip_and_hash("1"))
    assert re.fullmatch(r"alice--gpu---[0-9a-f]{8}", slugs.multi_slug(["alice", "gpu"]))
    assert slugs.is_valid_label("") and not slugs.is_valid_object_name("")
    with pytest.raises(ValueError, match="max_length=11"):
        slugs.strip_and_hash("x", max_length=11)


def test_changed_names_carry_a_hash_suffix():
    slug = slugs.safe_slug("Alice@Example.com")
    assert re.fullmatch(r"alice-example-com---[0-9a-f]{8}", slug)
    assert re.fullmatch(r"x---[0-9a-f]{8}", slugs.safe_slug("ÄÖÜ"))
    assert slugs.safe_slug("_leading") != slugs.safe_slug("leading")


def test_escape_scheme_is_the_legacy_escaping():
    fields = template_fields(NameParts(username="Alice.B", servername="x y"), "escape")
    assert fields["username"] == "-41lice-2e-42"
    assert fields["servername"] == "x-20y"
    assert render_name("jupyter-{username}--{servername}", fields, "escape") == (
        "jupyter--41lice-2e-42--x-20y"
    )


def test_an_empty_servername_leaves_no_dangling_dashes():
    fields = template_fields(NameParts(username="alex"), "escape")
    assert render_name("claim-{username}--{servername}", fields, "escape") == "claim-alex"
    fields = template_fields(NameParts(username="alex"), "safe")
    assert render_name("claim-{username}--{servername}", fields, "safe") == "claim-alex"
    # a template that ends in "-" keeps it
    assert render_name("claim-{username}-", fields, "escape") == "claim-alex-"


def test_too_long_rendered_names_are_shortened_with_a_hash():
    fields = template_fields(NameParts(username="alice"), "safe")
    name = render_name("x" * 70 + "-{username}", fields, "safe")
    assert slugs.is_valid_dns_label(name) and len(name) <= 63
    other = render_name("x" * 70 + "-{username}x", fields, "safe")
    assert other != name


def test_unknown_scheme_is_rejected_with_the_allowed_values():
    try:
        template_fields(NameParts(username="a"), "bogus")
    except ValueError as e:
        assert "safe" in str(e) and "escape" in str(e) and "bogus" in str(e)
    else:
        raise AssertionError("expected ValueError")
