"""The figures of one benchmark scenario, and the table that shows them."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks; NaN for no values."""
    values = sorted(values)
    if not values:
        return math.nan
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


@dataclass
class Scenario:
    name: str
    users: int
    fault_share: float  # of all Kubernetes API requests, failed by kubesim
    wall: float  # first POST to the last spawn settled (ready or failed)
    ready_seconds: list[float]
    errors: list[str]
    hub_cpu: float
    kubesim_cpu: float
    api_requests: Counter = field(default_factory=Counter)  # (verb, resource) -> n
    throttled: int = 0
    late_binds: int = 0
    stop_wall: float = math.nan  # first DELETE to every server gone
    side: str = "ours"  # whose hub: "ours" or "z2jh"
    kind: str = "storm"  # "storm": N spawns at once; "idle": N servers idle; "crowd"
    hub_rss: float = math.nan  # MiB at the end
    hub_peak_rss: float = math.nan  # MiB, the scenario's own peak where /proc allows

    @property
    def ready(self) -> int:
        return len(self.ready_seconds)

    @property
    def spawns_per_second(self) -> float:
        return self.ready / self.wall if self.wall > 0 else math.nan

    def row(self) -> dict[str, str]:
        writes = sum(n for (verb, _), n in self.api_requests.items() if verb in WRITE_VERBS)
        total = sum(self.api_requests.values())
        per_user = max(self.users, 1)
        return {
            "scenario": self.name,
            "hub": self.side,
            "users": str(self.users),
            "wall s": f"{self.wall:.1f}",
            "spawns/s": f"{self.spawns_per_second:.1f}",
            "p50 s": f"{percentile(self.ready_seconds, 0.5):.2f}",
            "p95 s": f"{percentile(self.ready_seconds, 0.95):.2f}",
            "failed": str(len(self.errors)),
            "hub CPU s": f"{self.hub_cpu:.1f}",
            "hub CPU ms/spawn": f"{1000 * self.hub_cpu / per_user:.0f}",
            "kubesim CPU s": f"{self.kubesim_cpu:.1f}",
            "API req/spawn": f"{total / per_user:.1f}",
            "API writes/spawn": f"{writes / per_user:.1f}",
            "stop all s": f"{self.stop_wall:.1f}",
            "hub peak RSS MiB": f"{self.hub_peak_rss:.0f}",
        }

    def other_row(self) -> dict[str, str]:
        """The row of an idle or crowd scenario."""
        return {
            "scenario": self.name,
            "hub": self.side,
            "seconds": f"{self.wall:.0f}",
            "hub CPU ms/s": f"{1000 * self.hub_cpu / self.wall:.1f}" if self.wall else "nan",
            "hub RSS MiB": f"{self.hub_rss:.0f}",
            "hub peak RSS MiB": f"{self.hub_peak_rss:.0f}",
            "kubesim CPU s": f"{self.kubesim_cpu:.1f}",
            "failed": str(len(self.errors)),
        }

    def key_figures(self) -> dict[str, float]:
        """What the side-by-side comparison puts in ratios (ours/z2jh)."""
        if self.kind == "idle":
            return {"hub CPU ms/s": 1000 * self.hub_cpu / self.wall, "hub RSS MiB": self.hub_rss}
        if self.kind == "crowd":
            return {"hub RSS MiB": self.hub_rss, "hub peak RSS MiB": self.hub_peak_rss}
        return {
            "spawns/s": self.spawns_per_second,
            "p50 s": percentile(self.ready_seconds, 0.5),
            "p95 s": percentile(self.ready_seconds, 0.95),
            "failed": float(len(self.errors)),
            "hub CPU ms/spawn": 1000 * self.hub_cpu / max(self.users, 1),
            "hub peak RSS MiB": self.hub_peak_rss,
        }


WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")


def table(rows: list[dict[str, str]]) -> str:
    if not rows:
        return "(no scenario ran)"
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns}
    lines = [
        "  ".join(c.rjust(widths[c]) if i else c.ljust(widths[c]) for i, c in enumerate(columns))
    ]
    for r in rows:
        lines.append(
            "  ".join(
                r[c].rjust(widths[c]) if i else r[c].ljust(widths[c]) for i, c in enumerate(columns)
            )
        )
    return "\n".join(lines)


def error_summary(errors: list[str], limit: int = 5) -> list[str]:
    """The most common failure messages with their counts."""
    return [f"{n} x {message}" for message, n in Counter(errors).most_common(limit)]


def comparison(results: list[Scenario], ours: str = "ours", other: str = "z2jh") -> list[str]:
    """A table of every key figure of both hubs, then one
    `ratio <scenario>: <figure> <ours/other>` line per figure."""
    by = {(r.name, r.side): r for r in results}
    rows, ratios = [], []
    for r in results:
        if r.side != ours or (r.name, other) not in by:
            continue
        theirs = by[(r.name, other)].key_figures()
        for figure, mine in r.key_figures().items():
            ratio = f"{mine / theirs[figure]:.2f}" if theirs[figure] else "—"
            rows.append(
                {
                    "scenario": r.name,
                    "figure": figure,
                    ours: f"{mine:.3g}",
                    other: f"{theirs[figure]:.3g}",
                    "ratio": ratio,
                }
            )
            if figure == "failed":  # counts, where 0/0 says nothing
                ratios.append(
                    f"{r.name}: failed {mine:.0f} ({ours}), {theirs[figure]:.0f} ({other})"
                )
            else:
                ratios.append(f"ratio {r.name}: {figure} {ratio}")
    return [table(rows), "", *ratios] if rows else []
