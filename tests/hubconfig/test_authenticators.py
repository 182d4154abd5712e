"""The hub image has the authenticators Zero to JupyterHub's does (4.4.0's
images/hub/requirements.txt, test data), and every name a z2jh config may
give `hub.config.JupyterHub.authenticator_class` loads here through the
chart's hub configuration. The test environment holds the image's pins of
these packages (checked below), so what loads here loads in the image."""

import re
from importlib.metadata import entry_points, version

import pytest
from jupyterhub.auth import Authenticator

from .hubenv import REPO, authenticator_class

Z2JH_REQUIREMENTS = (
    REPO.parent / "shared/anchors/zero-to-jupyterhub-k8s-4.4.0/images/hub/requirements.txt"
)
OUR_REQUIREMENTS = REPO / "images/hub/requirements.txt"
# oauthenticator's extras z2jh installs (googlegroups, mediawiki) and the
# LDAP client: present or their authenticators fail on first use.
EXTRA_DEPENDENCIES = {"google-auth", "google-auth-oauthlib", "mwoauth", "ldap3"}
# Authenticators without an entry point, which z2jh configs name by class.
CLASS_PATHS = [
    "hmacauthenticator.HMACAuthenticator",
    "ltiauthenticator.LTIAuthenticator",
    "ltiauthenticator.lti11.auth.LTI11Authenticator",
    "ltiauthenticator.lti13.auth.LTI13Authenticator",
    "ldapauthenticator.LDAPAuthenticator",
    "nativeauthenticator.NativeAuthenticator",
    "firstuseauthenticator.FirstUseAuthenticator",
    "tmpauthenticator.TmpAuthenticator",
    "oauthenticator.mediawiki.MWOAuthenticator",
]


def pins(path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line)
        if m:
            found[re.sub(r"[-_.]+", "-", m[1]).lower()] = m[2]
    return found


Z2JH_AUTH_PACKAGES = sorted(
    name for name in pins(Z2JH_REQUIREMENTS) if "authenticator" in name
) + sorted(EXTRA_DEPENDENCIES)
AUTH_DISTS = {"jupyterhub", *Z2JH_AUTH_PACKAGES}
ENTRY_POINT_NAMES = sorted(
    ep.name
    for ep in entry_points(group="jupyterhub.authenticators")
    if ep.dist and re.sub(r"[-_.]+", "-", ep.dist.name).lower() in AUTH_DISTS
)


def test_z2jh_authenticator_packages_are_read():
    # A guard against reading nothing: z2jh ships seven authenticator packages.
    assert len(Z2JH_AUTH_PACKAGES) >= 7 + len(EXTRA_DEPENDENCIES)
    assert "jupyterhub-ldapauthenticator" in Z2JH_AUTH_PACKAGES


@pytest.mark.parametrize("package", Z2JH_AUTH_PACKAGES)
def test_the_image_pins_each_and_the_tests_run_that_pin(package):
    ours = pins(OUR_REQUIREMENTS)
    assert package in ours, f"{package} is not in images/hub/requirements.txt"
    assert version(package) == ours[package]


def test_entry_point_names_cover_every_package():
    names = set(ENTRY_POINT_NAMES)
    assert {"ldap", "native", "firstuse", "tmp", "github", "google", "mediawiki"} <= names


@pytest.mark.parametrize("name", ENTRY_POINT_NAMES + CLASS_PATHS)
def test_each_authenticator_name_loads_through_the_hub_config(hub_setup, name):
    values = {"hub": {"config": {"JupyterHub": {"authenticator_class": name}}}}
    config = hub_setup().load(existing_values=values)
    assert config.JupyterHub.authenticator_class == name
    cls = authenticator_class(config)
    assert issubclass(cls, Authenticator), cls
