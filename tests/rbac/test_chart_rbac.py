"""The chart's RBAC, tested by behaviour: each component runs for real with
its own ServiceAccount's token against a kubesim holding exactly the chart's
rendered Roles and bindings, and no request of it is refused. Then every
grant of every rendered Role and ClusterRole is taken away in turn, and a
named scenario of the component bound to it meets a 403 for that grant.
"""

from __future__ import annotations

import asyncio

import pytest

from kubesim import KubeSim

from .chart_rbac import grants, install, rendered, service_account_of, token_of
from .scenarios import SCENARIOS, Env

SCENARIO_TIMEOUT = 90


async def run(component, scenario, tmp_path, monkeypatch, taken_away=None):
    """(requests of the component kubesim refused, the scenario's error or None).
    With `taken_away`, stops at the first refusal of that grant."""
    from kubespawner.clients import close_shared_apis
    from kubespawner.reflector import stop_shared_reflectors

    user = f"system:serviceaccount:jhub:{service_account_of(component)}"
    tmp_path.mkdir(parents=True, exist_ok=True)
    async with KubeSim(nodes=1, runtime="pause", https=True, state_dir=tmp_path / "sim") as sim:
        await install(sim, taken_away)
        refused = []
        hit = asyncio.get_running_loop().create_future()

        def on_denied(who, attrs):
            if who.name != user:
                return
            refused.append(attrs)
            if taken_away and matches(attrs, taken_away) and not hit.done():
                hit.set_result(attrs)

        sim.api.on_denied.append(on_denied)
        env = Env(sim, await token_of(sim, component), tmp_path, monkeypatch)
        with monkeypatch.context() as patched:
            env.monkeypatch = patched
            task = asyncio.ensure_future(scenario(env))
            try:
                done, _ = await asyncio.wait(
                    {task, hit}, timeout=SCENARIO_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
                )
                if task in done:
                    error = task.exception()
                elif hit in done:
                    error = None
                else:
                    error = TimeoutError(f"{scenario.__name__} took over {SCENARIO_TIMEOUT}s")
            finally:
                if not task.done():
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
                await stop_shared_reflectors()
                await close_shared_apis()
    return refused, error


def matches(attrs, grant) -> bool:
    resource = attrs.resource + (f"/{attrs.subresource}" if attrs.subresource else "")
    return (attrs.verb, attrs.api_group, resource) == (grant.verb, grant.group, grant.resource)


def describe(refused) -> list[str]:
    return [
        f"{a.verb} {a.resource}{'/' + a.subresource if a.subresource else ''} "
        f"{a.namespace}/{a.name}"
        for a in refused
    ]


@pytest.mark.parametrize(
    "component,scenario",
    [(c, s) for c, scenarios in SCENARIOS.items() for s in scenarios],
    ids=lambda v: v if isinstance(v, str) else v.__name__,
)
async def test_component_works_with_the_charts_rbac(component, scenario, tmp_path, monkeypatch):
    refused, error = await run(component, scenario, tmp_path, monkeypatch)
    if error is not None:
        raise error
    assert describe(refused) == [], f"{component}: kubesim refused these requests"


def component_of(grant) -> str:
    """Which component's ServiceAccount a rendered role is bound to."""
    binding_kind = "RoleBinding" if grant.kind == "Role" else "ClusterRoleBinding"
    accounts = {
        s["name"]
        for b in rendered().all(binding_kind)
        if b["roleRef"]
        == {"apiGroup": "rbac.authorization.k8s.io", "kind": grant.kind, "name": grant.role}
        for s in b["subjects"]
    }
    found = [c for c in SCENARIOS if service_account_of(c) in accounts]
    assert len(found) == 1, (grant, accounts)
    return found[0]


@pytest.mark.parametrize("grant", grants(), ids=lambda g: g.id)
async def test_each_grant_is_needed(grant, tmp_path, monkeypatch):
    component = component_of(grant)
    for scenario in SCENARIOS[component]:
        refused, _ = await run(
            component, scenario, tmp_path / scenario.__name__, monkeypatch, taken_away=grant
        )
        if any(matches(attrs, grant) for attrs in refused):
            return  # test_component_works_with_the_charts_rbac[scenario] fails with this 403
    pytest.fail(f"no scenario of {component} needs {grant.id}: remove it from the chart")
