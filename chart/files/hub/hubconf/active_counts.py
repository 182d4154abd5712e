"""JupyterHub's count of active, ready and pending servers in one pass.

Every spawn request counts the servers that are pending (for
`concurrentSpawnLimit`) and active (for `activeServerLimit`):
`UserDict.count_active_users` visits every spawner the hub holds and asks
each for `pending`, `active` and `ready`, which ask `pending` again and
`ready` the `server` property twice more: six property calls a spawner, a
few microseconds each. At 1,000 users that was 11 ms of the hub's CPU per
spawn request (and a spawn turned away with 429 comes back), in a storm the
largest cost that grows with the number of users.

`count_active_users` here gives the same counts with one look at each
spawner: its four pending flags in JupyterHub's order, and only when none
is set, whether its ORM record has a server. That is what JupyterHub's
properties compute:
- `pending` is the first flag set of spawn, stop, check, rename;
- `ready` is "nothing pending and a server"; `server` is None exactly when
  the ORM spawner has no server (or, without an ORM spawner, when its
  `_server` is None); its other work only refreshes the wrapper it caches,
  which the next reader of `server` does as before;
- `active` is "pending or ready".
A spawner class that defines any of these four properties itself is asked
through its properties, as JupyterHub does.

Applied only while JupyterHub's method and the four properties are the code
this was checked against (their source is compared); otherwise left alone,
and `report()` says so. `restore()` (from hub.extraConfig) puts JupyterHub's
method back.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
from collections import defaultdict

log = logging.getLogger("JupyterHub")

# sha256 of each function's source (dedented), JupyterHub 6.1
STOCK_SOURCES = {
    "UserDict.count_active_users": "10ed7d5e61cde6ce",
    "Spawner.pending": "0fb17ba620124fdc",
    "Spawner.ready": "01d0c67521a2e6b0",
    "Spawner.active": "d5eeab5432273cd5",
    "Spawner.server": "c12dbdfb5fcc09e7",
}
PROPERTIES = ("pending", "ready", "active", "server")


def _classes():
    from jupyterhub.spawner import Spawner
    from jupyterhub.user import UserDict

    return UserDict, Spawner


def _digest(function) -> str | None:
    try:
        source = inspect.cleandoc(inspect.getsource(function))
    except (OSError, TypeError):  # no source to compare: do not guess
        return None
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def _is_stock() -> bool:
    user_dict, spawner = _classes()
    functions = {"UserDict.count_active_users": user_dict.count_active_users}
    for name in PROPERTIES:
        functions[f"Spawner.{name}"] = getattr(spawner, name).fget
    return all(_digest(functions[name]) == digest for name, digest in STOCK_SOURCES.items())


_plain_classes: dict = {}  # spawner class -> it keeps JupyterHub's four properties


def _plain(cls) -> bool:
    plain = _plain_classes.get(cls)
    if plain is None:
        _, spawner = _classes()
        plain = _plain_classes[cls] = all(
            getattr(cls, name) is getattr(spawner, name) for name in PROPERTIES
        )
    return plain


def count_active_users(self):
    """Counts of active/pending/ready servers, as JupyterHub's (a defaultdict)."""
    counts = defaultdict(int)
    for user in self.values():
        for spawner in user.spawners.values():
            if _plain(type(spawner)):
                # JupyterHub's `pending`: the first flag set
                if spawner._spawn_pending:
                    pending = "spawn"
                elif spawner._stop_pending:
                    pending = "stop"
                elif spawner._check_pending:
                    pending = "check"
                elif spawner._rename_pending:
                    pending = "rename"
                else:
                    # the `server` property's answer, without its cache refresh
                    orm_spawner = spawner.orm_spawner
                    server = orm_spawner.server if orm_spawner else spawner._server
                    if server is not None:
                        counts["active"] += 1
                        counts["ready"] += 1
                    continue
                counts["pending"] += 1
                counts[pending + "_pending"] += 1
                counts["active"] += 1
                continue
            # a class with its own properties: asked as JupyterHub asks
            pending = spawner.pending
            if pending:
                counts["pending"] += 1
                counts[pending + "_pending"] += 1
            if spawner.active:
                counts["active"] += 1
            if spawner.ready:
                counts["ready"] += 1
    return counts


def install() -> bool:
    """Whether the count is ours now. Silent: report() tells, once a bad
    value can no longer stop the hub."""
    if installed():
        return True
    if not _is_stock():
        return False
    user_dict, _ = _classes()
    count_active_users.stock = user_dict.count_active_users
    user_dict.count_active_users = count_active_users
    return True


def installed() -> bool:
    user_dict, _ = _classes()
    return getattr(user_dict.count_active_users, "stock", None) is not None


def report() -> None:
    """One line in the hub's log, once the configuration has gone through."""
    if installed():
        log.info("hubconf.active_counts: active and pending servers counted in one pass")
    elif not _is_stock():
        log.info(
            "hubconf.active_counts: JupyterHub's server count is not the one checked; left alone"
        )


def restore() -> None:
    """JupyterHub's own method again."""
    user_dict, _ = _classes()
    user_dict.count_active_users = getattr(
        user_dict.count_active_users, "stock", user_dict.count_active_users
    )
