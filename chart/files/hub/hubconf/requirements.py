"""What the chart's hub configuration needs from the hub image (`hub.image`).

The configuration comes with the chart, the programs with the image: a custom
hub image built from an older release, or from Zero to JupyterHub's, may lack
them. Checked first, with the standard library only (before importing
anything the image may not have), so such an image stops with one line naming
hub.image, what it has and what it needs, instead of a traceback later.
"""

import importlib.metadata
import importlib.util

# Our spawner (spawner/, distribution `kubespawner`), at the version of the
# chart release's spawner/pyproject.toml. Upstream's `jupyterhub-kubespawner`
# has the same import name but not our traits (containers_inherit_security_context, ...).
KUBESPAWNER = ("kubespawner", "7.1.0")
# JupyterHub: our spawner's own minimum (spawner/pyproject.toml: 5.3 added
# Spawner.apply_user_options, which applies profile choices).
JUPYTERHUB = ("jupyterhub", "5.3")
# Modules the configuration imports besides those two.
MODULES = ("yaml", "traitlets")


def _version_tuple(text):
    """Leading numeric parts: "6.1.0.dev0" -> (6, 1, 0)."""
    parts = []
    for part in text.split("."):
        digits = "".join(ch for ch in part if ch.isdigit()) if part[:1].isdigit() else ""
        if not digits:
            break
        parts.append(int(digits))
        if not part.isdigit():
            break
    return tuple(parts)


def _installed(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _distributions_of(module):
    return importlib.metadata.packages_distributions().get(module, [])


def problems():
    """One phrase per requirement the running Python does not meet."""
    found = []
    name, minimum = KUBESPAWNER
    ours = _installed(name)
    if ours is None:
        others = [d for d in _distributions_of("kubespawner") if d != name]
        have = ", ".join(f"{d} {_installed(d)}" for d in others) or "no kubespawner"
        found.append(f"{have} instead of this chart's {name} >= {minimum}")
    elif _version_tuple(ours) < _version_tuple(minimum):
        found.append(f"{name} {ours}, older than the {minimum} this chart needs")
    name, minimum = JUPYTERHUB
    hub = _installed(name)
    if hub is None or _version_tuple(hub) < _version_tuple(minimum):
        found.append(f"{name} {hub or 'missing'}; this chart needs >= {minimum}")
    for module in MODULES:
        if importlib.util.find_spec(module) is None:
            found.append(f"no module {module}")
    return found


def check():
    """None, or SystemExit with the one line that says what to fix."""
    found = problems()
    if found:
        raise SystemExit(
            "Hub configuration error: hub.image cannot run this chart's hub configuration: "
            f"it has {'; '.join(found)}; use the chart release's hub image, or build "
            "yours FROM it"
        )
