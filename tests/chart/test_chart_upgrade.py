"""`helm upgrade --install` of the chart against kubesim (a Kubernetes API
server): generated secrets are made once and kept across upgrades (lookup),
and the image-pulling hook only runs when the images change."""

import asyncio
import base64
import os

import pytest
import yaml

from .chart_helpers import CHART, HELMS

GENERATED = (
    "hub.config.ConfigurableHTTPProxy.auth_token",
    "hub.config.JupyterHub.cookie_secret",
    "hub.config.CryptKeeper.keys",
)
# No nodes in the simulator: nothing could run the pre-upgrade pulling hook.
NO_HOOK = ("--set", "prePuller.hook.enabled=false")


async def helm(sim, version: str, *args: str) -> str:
    env = {
        **os.environ,
        "KUBECONFIG": str(sim.kubeconfig_path),
        "HOME": str(sim.state_dir),
        "HELM_CACHE_HOME": str(sim.state_dir / "helm-cache"),
    }
    process = await asyncio.create_subprocess_exec(
        str(HELMS[version]),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(process.communicate(), 180)
    assert process.returncode == 0, f"helm {' '.join(args)}: {err.decode()}"
    return out.decode()


def install_args(*extra: str) -> list[str]:
    return [
        "upgrade",
        "--install",
        "jhub",
        str(CHART),
        "--namespace",
        "jhub",
        "--create-namespace",
        *extra,
    ]


def generated(sim) -> dict:
    data = sim.get("secrets", "hub", "jhub")["data"]
    return {k: base64.b64decode(data[k]).decode() for k in GENERATED}


@pytest.mark.parametrize("version", sorted(HELMS))
async def test_generated_secrets_survive_upgrades(kubesim_factory, version):
    sim = await kubesim_factory(nodes=0)
    await helm(sim, version, *install_args(*NO_HOOK))
    first = generated(sim)
    assert all(len(v) == 64 for v in first.values())
    await helm(sim, version, *install_args(*NO_HOOK, "--set", "cull.timeout=7200"))
    assert generated(sim) == first
    # A value given in the config wins over the kept one.
    await helm(sim, version, *install_args(*NO_HOOK, "--set", "proxy.secretToken=" + "ab" * 32))
    assert generated(sim)["hub.config.ConfigurableHTTPProxy.auth_token"] == "ab" * 32
    assert (
        generated(sim)["hub.config.JupyterHub.cookie_secret"]
        == first["hub.config.JupyterHub.cookie_secret"]
    )


@pytest.mark.parametrize("version", sorted(HELMS))
async def test_a_crypt_key_given_later_is_added_before_the_kept_one(kubesim_factory, version):
    """auth state encrypted with the generated key must stay readable when a
    key is given later: the given key comes first (it encrypts), the kept
    ones after it (they decrypt), each once."""
    sim = await kubesim_factory(nodes=0)
    await helm(sim, version, *install_args(*NO_HOOK))
    first = generated(sim)["hub.config.CryptKeeper.keys"]
    given, newer = "ab" * 32, "cd" * 32
    legacy = ("--set", f"auth.state.cryptoKey={given}")
    await helm(sim, version, *install_args(*NO_HOOK, *legacy))
    assert generated(sim)["hub.config.CryptKeeper.keys"] == f"{given};{first}"
    await helm(sim, version, *install_args(*NO_HOOK, *legacy, "--set", "cull.timeout=7200"))
    assert generated(sim)["hub.config.CryptKeeper.keys"] == f"{given};{first}"
    # today's spelling, with a newer key
    await helm(
        sim,
        version,
        *install_args(*NO_HOOK, "--set-json", f'hub.config.CryptKeeper.keys=["{newer}"]'),
    )
    assert generated(sim)["hub.config.CryptKeeper.keys"] == f"{newer};{given};{first}"
    values = yaml.safe_load(
        base64.b64decode(sim.get("secrets", "hub", "jhub")["data"]["values.yaml"])
    )
    assert values["hub"]["config"]["CryptKeeper"]["keys"] == [newer, given, first]


async def test_hook_runs_only_when_the_images_change(kubesim_factory):
    sim = await kubesim_factory(nodes=0)
    await helm(sim, "3", *install_args("--no-hooks"))

    async def hook_planned(*extra):
        out = await helm(sim, "3", *install_args("--dry-run=server", *extra))
        return "name: hook-image-puller" in out

    assert not await hook_planned()
    assert await hook_planned("--set", "singleuser.image.tag=new")
    assert await hook_planned("--set", "prePuller.hook.pullOnlyOnChanges=false")
