"""Turning arbitrary user and server names into Kubernetes names.

The names are KubeSpawner 7's, character for character (a user who moves
here from upstream must find the same pods and claims), under the same
functions and signatures: ``safe_slug``, ``multi_slug``, ``strip_and_hash``,
``escape_slug``, ``is_valid_label``, ``is_valid_object_name``,
``is_valid_default``. Two schemes:

``safe`` (the default)
    A name that is already a valid DNS-1035 label without ``--`` is used as it
    is. Anything else becomes ``<stripped>---<hash>``: lowercased, runs of
    characters outside ``[a-z0-9]`` made one ``-``, truncated, and the first
    8 hex digits of the name's SHA-256. Unchanged names never contain ``--``
    and changed ones always contain ``---``, so two names only collide through
    the hash. ``user_server_slug`` joins user and server with ``--``.

``escape`` (legacy: KubeSpawner < 7, z2jh 3)
    escapism's ``-XX`` hex escaping of every character outside ``[a-z0-9]``.
    Kept so old deployments find their existing objects; not length-limited.
"""

import hashlib
import re
import string

import escapism

SLUG_SCHEMES = ("safe", "escape")

# Longest slug for a user, a server, or both: leaves room for the default
# prefixes ("jupyter-", "claim-") in the 63-character DNS label limit.
MAX_SLUG_LENGTH = 48
# strip_and_hash's length when the caller gives none (as upstream)
DEFAULT_HASHED_LENGTH = 32
DNS_LABEL_MAX = 63
LABEL_VALUE_MAX = 63

_HASH_LENGTH = 8
# "---" + hash
_SUFFIX_LENGTH = 3 + _HASH_LENGTH

_LOWER = frozenset(string.ascii_lowercase)
_LOWER_DIGITS = frozenset(string.ascii_lowercase + string.digits)
_ALNUM = frozenset(string.ascii_letters + string.digits)

DNS_LABEL_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
# DNS-1035 label: Service and Namespace-safe (starts with a letter)
DNS_1035_LABEL_RE = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
LABEL_VALUE_RE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")

_UNSAFE_RUN = re.compile(r"[^a-z0-9]+")


# ---- validity -------------------------------------------------------------


def is_valid_dns_label(name: str) -> bool:
    """RFC 1123 label: what most object names must be."""
    return len(name) <= DNS_LABEL_MAX and DNS_LABEL_RE.fullmatch(name) is not None


def is_valid_dns_1035_label(name: str) -> bool:
    """RFC 1035 label (starts with a letter): Services, Namespaces."""
    return len(name) <= DNS_LABEL_MAX and DNS_1035_LABEL_RE.fullmatch(name) is not None


def is_valid_label_value(value: str) -> bool:
    """A label value: empty, or up to 63 of ``[A-Za-z0-9_.-]`` with
    alphanumeric ends."""
    return len(value) <= LABEL_VALUE_MAX and LABEL_VALUE_RE.fullmatch(value) is not None


def is_valid_object_name(name: str) -> bool:
    """Valid as any object name: an RFC 1035 *and* 1123 label."""
    return 0 < len(name) and is_valid_dns_1035_label(name)


def is_valid_label(value: str) -> bool:
    """Valid as a label value (upstream's name for is_valid_label_value)."""
    return is_valid_label_value(value)


def is_valid_default(name: str) -> bool:
    """Valid for every use KubeSpawner makes of a slug (object names and
    label values alike)."""
    return is_valid_object_name(name)


# ---- the safe scheme -------------------------------------------------------


def _name_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:_HASH_LENGTH]


def _stripped(name: str, max_length: int) -> str:
    """A non-empty piece of ``name`` of at most ``max_length`` characters from
    ``[a-z0-9-]``, starting with a letter, with no ``--`` of its own."""
    stripped = _UNSAFE_RUN.sub("-", name.lower()).lstrip("-")[:max_length].rstrip("-")
    if stripped and stripped[0] not in _LOWER:
        # a digit first: prefix a letter (DNS-1035), keeping within the length
        stripped = "x-" + stripped[: max_length - 2]
    return stripped or "x"


def strip_and_hash(name: str, max_length: int = DEFAULT_HASHED_LENGTH) -> str:
    """``<stripped name>---<hash>`` in at most ``max_length`` characters,
    valid and unique for any input."""
    room = max_length - _SUFFIX_LENGTH
    if room < 1:
        raise ValueError(
            f"strip_and_hash: max_length={max_length} is too short; "
            f"hashed names need at least {_SUFFIX_LENGTH + 1} characters"
        )
    return f"{_stripped(name, room)}---{_name_hash(name.encode('utf8'))}"


def safe_slug(name: str, is_valid=is_valid_default, max_length: int | None = None) -> str:
    """``name`` itself if ``is_valid`` accepts it (and it fits ``max_length``),
    else its stripped and hashed form. A ``--`` in the name always hashes it,
    so no name can pass for a joined user/server slug."""
    fits = max_length is None or len(name) <= max_length
    if "--" not in name and fits and is_valid(name):
        return name
    return strip_and_hash(name, max_length=max_length or DEFAULT_HASHED_LENGTH)


def multi_slug(names, max_length: int = MAX_SLUG_LENGTH) -> str:
    """``name1--name2---<hash>``: several names, one hash over all of them.
    The length is shared equally between the names."""
    names = list(names)
    # 0xFF never occurs in UTF-8, so it separates the names unambiguously
    digest = _name_hash(b"\xff".join(n.encode("utf8") for n in names))
    per_name = (max_length - (_HASH_LENGTH + 1)) // len(names) - 2
    if per_name < 2:
        raise ValueError(
            f"multi_slug: max_length={max_length} leaves too little room for {len(names)} names"
        )
    return "--".join(_stripped(n, per_name) for n in names) + f"---{digest}"


def user_server_slug(username: str, servername: str = "") -> str:
    """The safe scheme's ``{user_server}``: the user's slug for the default
    server, ``user--server`` for a named one, one multi-slug when that would
    be longer than MAX_SLUG_LENGTH (as KubeSpawner 7 computes it, including
    its choice to multi-slug a default server whose user slug is within two
    characters of the limit)."""
    user = safe_slug(username, max_length=MAX_SLUG_LENGTH)
    server = safe_slug(servername, max_length=MAX_SLUG_LENGTH) if servername else ""
    if len(user) + len(server) + 2 > MAX_SLUG_LENGTH:
        return multi_slug([username, servername], max_length=MAX_SLUG_LENGTH)
    return f"{user}--{server}" if server else user


# ---- the escape scheme -------------------------------------------------------


def escape_slug(name: str) -> str:
    """The legacy scheme: escapism with [a-z0-9] safe and '-' as escape char."""
    return escapism.escape(name, safe=_LOWER_DIGITS, escape_char="-").lower()


# ---- our own helpers -----------------------------------------------------------


def label_value_slug(value: str) -> str:
    """The value of a ``hub.jupyter.org/username``-style label for a raw name
    (upstream's: ``safe_slug(value, is_valid=is_valid_label)``)."""
    return safe_slug(value or "", is_valid=is_valid_label)


def safe_label_value(value: str) -> str:
    """A valid label value for ``value``: itself if already valid, else a safe slug."""
    if is_valid_label_value(value):
        return value
    return safe_slug(value, max_length=LABEL_VALUE_MAX)


def ensure_dns_label(name: str) -> str:
    """Make a name rendered from a custom template a valid DNS label:
    unchanged if valid (every default template's result is), otherwise
    stripped, shortened to 63 and hashed."""
    if is_valid_dns_label(name):
        return name
    return strip_and_hash(name, max_length=DNS_LABEL_MAX)
