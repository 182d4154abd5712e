"""Every values file lints (strict) and renders, identically with Helm 3 and Helm 4."""

import base64

import pytest
import yaml

from .chart_helpers import HELMS, VALUES_FILES, lint, render, values_key

NAMES = list(VALUES_FILES)

# Values the chart generates at random when none are given: they differ
# between two renders, so the comparison masks them.
GENERATED = (
    "hub.config.ConfigurableHTTPProxy.auth_token",
    "hub.config.JupyterHub.cookie_secret",
    "hub.config.CryptKeeper.keys",
)


def _mask_generated(doc: dict) -> dict:
    if doc["kind"] != "Secret" or "values.yaml" not in doc.get("data", {}):
        return doc
    data = dict(doc["data"])
    for key in data:
        if key in GENERATED or key.startswith("hub.services."):
            data[key] = "<generated>"
    values = yaml.safe_load(base64.b64decode(data["values.yaml"]))
    values["proxy"]["secretToken"] = values["hub"]["cookieSecret"] = "<generated>"
    values["hub"]["config"]["CryptKeeper"]["keys"] = ["<generated>"]
    for service in values["hub"]["services"].values():
        service["apiToken"] = "<generated>"
    data["values.yaml"] = values
    return doc | {"data": data}


@pytest.mark.parametrize("helm", sorted(HELMS))
@pytest.mark.parametrize("name", NAMES)
def test_helm_lint_strict_passes(prerendered, name, helm):
    out = lint(values_key(name), helm)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("name", NAMES)
def test_helm_template_renders_without_warnings(prerendered, name):
    r = render(values_key(name))
    assert r.docs
    # Helm prints e.g. "cannot overwrite table with non table" when a value
    # is silently dropped: no such warning for any supported input.
    assert r.stderr == ""


@pytest.mark.parametrize("name", NAMES)
def test_helm_3_and_helm_4_render_the_same_objects(prerendered, name):
    docs3 = [_mask_generated(d) for d in render(values_key(name), "3").docs]
    docs4 = [_mask_generated(d) for d in render(values_key(name), "4").docs]

    def key(d):
        return (d["kind"], d["metadata"]["name"])

    assert sorted(docs3, key=key) == sorted(docs4, key=key)


def test_generated_secrets_are_random_and_valid_hex():
    secret = render().find("Secret", "hub")
    values = [base64.b64decode(secret["data"][k]).decode() for k in GENERATED]
    for v in values:
        assert len(v) == 64 and int(v, 16) >= 0
    assert len(set(values)) == 3
