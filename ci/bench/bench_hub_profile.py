"""Where a hub's time goes, from its cProfile stats (`--profile-hub`): own
time summed per package (sqlalchemy, jupyterhub, tornado, kubespawner, ...)
and the functions with the most own time."""

from __future__ import annotations

import pstats
from collections import Counter
from pathlib import Path

IDLE = "of 'select.epoll' objects"


def package_of(filename: str) -> str:
    """The top-level package a code file belongs to: the folder after
    site-packages, else the standard library module, else the file."""
    if filename == "~":  # cProfile's name for C functions (sqlite3, sockets, hashlib)
        return "C built-ins"
    parts = Path(filename).parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].removesuffix(".py")
    for marker in ("lib", "lib64"):
        if marker in parts[:-1]:
            after = parts[len(parts) - 1 - parts[::-1].index(marker) + 1 :]
            if after and after[0].startswith("python"):
                return "stdlib:" + (after[1] if len(after) > 2 else after[-1]).removesuffix(".py")
    return filename if filename.startswith("<") else Path(filename).name


def where_time_goes(stats_file: Path, top: int = 8) -> list[str]:
    stats = pstats.Stats(str(stats_file))
    by_package: Counter = Counter()
    by_function: Counter = Counter()
    for (filename, line, name), (_, _, own, _, _) in stats.stats.items():
        if IDLE in name:
            continue  # the event loop waiting: idle time, not work
        package = package_of(filename)
        by_package[package] += own
        by_function[f"{package}: {name} ({Path(filename).name}:{line})"] += own
    total = sum(by_package.values()) or 1.0
    lines = [f"own time {total:.1f} s, by package:"]
    lines += [f"  {100 * t / total:4.1f}%  {p}" for p, t in by_package.most_common(top)]
    lines.append("functions with the most own time:")
    lines += [f"  {100 * t / total:4.1f}%  {f}" for f, t in by_function.most_common(top)]
    return lines
