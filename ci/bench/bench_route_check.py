"""JupyterHub's route check (`JupyterHub.update_last_activity`, run every
`last_activity_interval`) over N routes, on JupyterHub's real ORM and a
SQLite file: CPU per run with JupyterHub's own `find` and with
`hubconf.orm_lookups`, each in a fresh database, one after the other, median of R runs.
The proxy is a stand-in that returns N routes with their last activity;
`check_routes` (the proxy side) is left out, the same for both.

    .venv/bin/python -P -m bench.bench_route_check [--routes 2000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import types
from pathlib import Path

from localdeploy.paths import load_shipped_module


def fresh_hub_state(folder: Path, routes: int):
    """A session holding N users with a running server each (as the hub's
    does), and the proxy's N routes."""
    from jupyterhub import orm

    db = orm.new_session_factory(f"sqlite:///{folder}/jupyterhub.sqlite")()
    table = {}
    for i in range(routes):
        name = f"user-{i:05d}"
        user = orm.User(name=name)
        spawner = orm.Spawner(name="", user=user)
        spawner.server = orm.Server(base_url=f"/user/{name}/")
        db.add(user)
        table[f"/user/{name}/"] = {
            "routespec": f"/user/{name}/",
            "target": "http://10.0.0.1:8888",
            "data": {"user": name, "server_name": "", "last_activity": "2026-12-03T12:00:00.000Z"},
        }
    db.commit()
    held = db.query(orm.User).all()  # the hub's users dict keeps them alive
    for user in held:
        user.orm_spawners  # noqa: B018 (loaded, as the hub's are)
    return db, table, held


def hub_with_proxy_routes(db, table):
    """What `update_last_activity` uses of the hub: its session, and a proxy
    answering with `table`."""

    async def get_all_routes():
        return table

    async def check_routes(*_):
        pass

    proxy = types.SimpleNamespace(get_all_routes=get_all_routes, check_routes=check_routes)
    return types.SimpleNamespace(
        db=db, proxy=proxy, log=None, active_user_window=1800, users={}, _service_map={}
    )


def cpu_of_route_checks(routes: int, runs: int, lookups) -> list[float]:
    from jupyterhub.app import JupyterHub

    async def go():
        with tempfile.TemporaryDirectory() as folder:
            db, table, _held = fresh_hub_state(Path(folder), routes)
            hub = hub_with_proxy_routes(db, table)
            times = []
            for _ in range(runs):
                start = time.process_time()
                await JupyterHub.update_last_activity(hub)
                times.append(time.process_time() - start)
            db.close()
            return times

    if lookups is not None:
        lookups.install()
    try:
        return asyncio.run(go())
    finally:
        if lookups is not None:
            lookups.restore()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--routes", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    lookups = load_shipped_module("hubconf/orm_lookups.py")
    figures = {}
    for side, module in (("jupyterhub", None), ("ours", lookups)):
        times = cpu_of_route_checks(args.routes, args.runs, module)
        figures[side] = statistics.median(times)
        runs = " ".join(f"{t:.2f}" for t in times)
        print(f"{side}: route check of {args.routes} routes, CPU s per run: {runs}")
    print(f"ratio route check CPU: {figures['ours'] / figures['jupyterhub']:.2f}")


if __name__ == "__main__":
    main()
