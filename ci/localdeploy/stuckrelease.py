"""A release an earlier run left half-done, and what an operator does about it.

Helm marks a release `pending-install`, `pending-upgrade` or
`pending-rollback` while it works on it and flips it to `deployed`/`failed`
at the end. Killed in between (Ctrl-C during `ci/dev up`), it leaves the
pending status behind, and every later `helm upgrade --install` refuses with
"another operation (install/upgrade/rollback) is in progress"
(helm/helm#4558; helm's `errPending`). What operators do, and what ci/dev
does for them:
- pending-upgrade / pending-rollback: `helm rollback` to the revision
  before it (helm rollback without a revision picks the previous one); the
  release's objects, users' claims and servers stay as they are;
- pending-install: nothing was ever deployed, so `helm uninstall` and install
  afresh, but only when nothing of the users' is there (their claims or
  servers); otherwise stop and say how to decide.
"""

from __future__ import annotations

from dataclasses import dataclass

PENDING = ("pending-install", "pending-upgrade", "pending-rollback")


@dataclass(frozen=True)
class Recovery:
    helm_args: tuple[str, ...]  # what to run before `helm upgrade --install`
    why: str  # said in the progress lines


class StuckRelease(Exception):
    """A pending release ci/dev must not clear by itself."""


def release_status(listing: list[dict], release: str) -> str | None:
    """The status of `release` in `helm list --pending ... -o json`, None without one."""
    for entry in listing:
        if entry.get("name") == release:
            return entry.get("status")
    return None


def recovery(
    status: str | None, release: str, namespace: str, users_things: list[str]
) -> Recovery | None:
    """What to run so that `helm upgrade --install` can go ahead (None: nothing).
    `users_things` names users' claims and servers in the namespace."""
    if status not in PENDING:
        return None
    if status != "pending-install":
        return Recovery(
            ("rollback", release, "--namespace", namespace, "--wait"),
            f"release {release} was left {status} by an earlier run that stopped "
            "half-way: rolling back to its last revision before that, then upgrading",
        )
    if users_things:
        shown = ", ".join(users_things[:5]) + (" ..." if len(users_things) > 5 else "")
        raise StuckRelease(
            f"release {release} was left pending-install by an earlier run that stopped "
            f"half-way, and users' objects are in namespace {namespace}: {shown}. "
            "ci/dev does not uninstall it for you: run `ci/dev helm uninstall "
            f"{release} -n {namespace}` (helm deletes what it installed) and `ci/dev up` "
            "again, or start afresh with `ci/dev down --purge`"
        )
    return Recovery(
        ("uninstall", release, "--namespace", namespace, "--wait"),
        f"release {release} was left pending-install by an earlier run that stopped "
        "half-way, with no users' claims or servers: uninstalling it, then installing afresh",
    )
