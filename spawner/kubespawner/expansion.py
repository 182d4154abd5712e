"""The ``{field}`` namespace that name, label, volume, env ... templates are
expanded with, built from the user and server names under a slug scheme."""

from dataclasses import dataclass

from . import slugs
from .utils import format_template, recursive_format


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


# Templates written for the escape scheme glue the two names directly
# ("jupyter-{username}{servername}", where servername carried its own "-").
# Under the safe scheme servername has no leading "-", so those spellings
# mean {user_server}.
_LEGACY_USER_SERVER = ("{username}{servername}", "{username}-{servername}")


def normalize_template(template: str, scheme: str) -> str:
    if scheme == "safe":
        for legacy in _LEGACY_USER_SERVER:
            template = template.replace(legacy, "{user_server}")
    return template


def template_fields(parts: NameParts, scheme: str) -> dict:
    """All fields available to templates, for ``scheme`` ('safe' or 'escape').

    - ``{username}``, ``{servername}``: the names under the slug scheme
      (escape: servername carries a leading '-' when set, as it always did)
    - ``{user_server}``: user and server in one name (just the user for the
      default server)
    - ``{unescaped_username}``, ``{unescaped_servername}``: the raw names
    - ``{escaped_username}``, ``{escaped_servername}``: legacy escaping,
      whatever the scheme
    - ``{safe_username}``, ``{safe_servername}``: the safe slugs, whatever the
      scheme
    - ``{userid}``, ``{hubnamespace}``, ``{namespace}``, ``{pod_name}``,
      ``{pvc_name}`` (the last two once they are known)
    """
    if scheme not in slugs.SLUG_SCHEMES:
        raise ValueError(
            f"slug_scheme must be one of {', '.join(slugs.SLUG_SCHEMES)}, got {scheme!r}"
        )
    user, server = parts.username, parts.servername
    escaped_user = slugs.escape_slug(user)
    escaped_server = slugs.escape_slug(server) if server else ""
    safe_user = slugs.safe_slug(user)
    safe_server = slugs.safe_slug(server) if server else ""
    if scheme == "safe":
        username, servername = safe_user, safe_server
        user_server = slugs.multi_slug([user, server]) if server else safe_user
    else:
        username = escaped_user
        servername = f"-{escaped_server}" if server else ""
        user_server = username + servername
    fields = {
        "username": username,
        "servername": servername,
        "user_server": user_server,
        "unescaped_username": user,
        "unescaped_servername": server,
        "escaped_username": escaped_user,
        "escaped_servername": escaped_server,
        "safe_username": safe_user,
        "safe_servername": safe_server,
        "userid": parts.userid,
        "hubnamespace": parts.hubnamespace,
        "namespace": parts.namespace,
    }
    if parts.pod_name is not None:
        fields["pod_name"] = parts.pod_name
    if parts.pvc_name is not None:
        fields["pvc_name"] = parts.pvc_name
    return fields


def render_name(template: str, fields: dict, scheme: str) -> str:
    """Render a resource-name template. Under the safe scheme the result is
    forced into a valid DNS label (a custom template might make it too long
    or put odd characters in); the escape scheme keeps legacy names as is."""
    name = format_template(normalize_template(template, scheme), fields)
    if scheme == "safe":
        return slugs.ensure_dns_label(name)
    return name


def expand(value, fields: dict, scheme: str):
    """Expand fields in every string of ``value`` (dicts, lists), leaving
    text that is not a template (JSON, ``${VAR}``) alone. Legacy
    ``{username}{servername}`` spellings mean ``{user_server}`` here too, so a
    volume's ``claimName`` written like the old PVC template still matches."""
    return recursive_format(_normalize_all(value, scheme), fields)


def _normalize_all(value, scheme: str):
    if isinstance(value, str):
        return normalize_template(value, scheme)
    if isinstance(value, dict):
        return {_normalize_all(k, scheme): _normalize_all(v, scheme) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalize_all(v, scheme) for v in value]
    return value
