"""The ``{field}`` namespace that name, label, volume, env ... templates are
expanded with, built from the user and server names under a slug scheme."""

from dataclasses import dataclass

from . import slugs
from .utils import format_template, lenient_format


@dataclass(frozen=True)
class NameParts:
    """What the template fields are computed from."""

    username: str
    servername: str = ""
    userid: int | None = None
    hubnamespace: str = ""
    namespace: str = ""
    pod_name: str | None = None
    pvc_name: str | None = None


def template_fields(parts: NameParts, scheme: str) -> dict:
    """All fields available to templates, for ``scheme`` ('safe' or 'escape'),
    with KubeSpawner 7's values.

    - ``{username}``, ``{servername}``, ``{user_server}``: the names under the
      slug scheme (``user_server`` is just the user for the default server)
    - ``{unescaped_username}``, ``{unescaped_servername}``: the raw names
    - ``{safe_*}``, ``{escaped_*}`` (``_username``, ``_servername``,
      ``_user_server``): either scheme's, whatever the configured one
    - ``{userid}``, ``{hubnamespace}``, ``{namespace}``, and ``{pod_name}``,
      ``{pvc_name}`` once they are known
    """
    if scheme not in slugs.SLUG_SCHEMES:
        raise ValueError(
            f"slug_scheme must be one of {', '.join(slugs.SLUG_SCHEMES)}, got {scheme!r}"
        )
    user, server = parts.username, parts.servername
    escaped_user = slugs.escape_slug(user)
    escaped_server = slugs.escape_slug(server)
    safe_user = slugs.safe_slug(user, max_length=slugs.MAX_SLUG_LENGTH)
    safe_server = slugs.safe_slug(server, max_length=slugs.MAX_SLUG_LENGTH) if server else ""
    safe_user_server = slugs.user_server_slug(user, server)
    # upstream's escaped_user_server always has the "--" (a template ending
    # in it loses it to the trailing-"-" rule in render())
    escaped_user_server = f"{escaped_user}--{escaped_server}"
    if scheme == "safe":
        username, servername, user_server = safe_user, safe_server, safe_user_server
    else:
        username, servername = escaped_user, escaped_server
        user_server = escaped_user_server if server else escaped_user
    fields = {
        "username": username,
        "servername": servername,
        "user_server": user_server,
        "unescaped_username": user,
        "unescaped_servername": server,
        "escaped_username": escaped_user,
        "escaped_servername": escaped_server,
        "escaped_user_server": escaped_user_server,
        "safe_username": safe_user,
        "safe_servername": safe_server,
        "safe_user_server": safe_user_server,
        "userid": parts.userid,
        # a hub in "default" names user namespaces "user-..." (as upstream)
        "hubnamespace": "user" if parts.hubnamespace == "default" else parts.hubnamespace,
        "namespace": parts.namespace,
    }
    if parts.pod_name is not None:
        fields["pod_name"] = parts.pod_name
    if parts.pvc_name is not None:
        fields["pvc_name"] = parts.pvc_name
    return fields


def strip_dangling_dash(template: str, rendered: str) -> str:
    """Drop the '-'s an empty field left at the end ("claim-{username}--{servername}"
    for the default server is "claim-alex"), unless the template itself ends
    in '-' (KubeSpawner's rule for every expanded string)."""
    return rendered if template.endswith("-") else rendered.rstrip("-")


def render(template: str, fields: dict) -> str:
    """Expand one template string strictly (unknown fields are an error)."""
    return strip_dangling_dash(template, format_template(template, fields))


def render_name(template: str, fields: dict, scheme: str) -> str:
    """Render a resource-name template. Under the safe scheme the result is
    forced into a valid DNS label (a custom template might make it too long
    or put odd characters in); the escape scheme keeps legacy names as is."""
    name = render(template, fields)
    if scheme == "safe":
        return slugs.ensure_dns_label(name)
    return name


def expand(value, fields: dict):
    """Expand fields in every string of ``value`` (dicts, lists), leaving
    text that is not a template (JSON, ``${VAR}``) alone."""
    if isinstance(value, str):
        return strip_dangling_dash(value, lenient_format(value, fields))
    if isinstance(value, dict):
        return {expand(k, fields): expand(v, fields) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [expand(v, fields) for v in value]
    return value


# Claim templates of deployments before KubeSpawner 7, under the escape
# scheme: z2jh 3's default, and KubeSpawner 6's own default.
LEGACY_PVC_TEMPLATES = ("claim-{username}{servername}", "claim-{username}--{servername}")


def legacy_pvc_names(pvc_name_template: str, parts: NameParts, current: str) -> list[str]:
    """Where an older deployment may have put this server's claim, in the
    order to try: today's template under the escape scheme (upstream's
    lookup), then the legacy templates. ``current`` and repeats left out."""
    fields = template_fields(parts, "escape")
    names = [render_name(t, fields, "escape") for t in (pvc_name_template, *LEGACY_PVC_TEMPLATES)]
    return [n for n in dict.fromkeys(names) if n != current]


def claim_belongs_to(pvc: dict, username: str, servername: str) -> bool:
    """False if the claim's annotations name another user or server (a
    legacy name can be another's: z2jh 3 gave user "alexfoo" and user
    "alex"'s server "foo" the same claim name)."""
    annotations = (pvc.get("metadata") or {}).get("annotations") or {}
    owner = annotations.get("hub.jupyter.org/username")
    server = annotations.get("hub.jupyter.org/servername")
    return (owner is None or owner == username) and (server is None or server == servername)
