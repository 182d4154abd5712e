"""Turning arbitrary user and server names into Kubernetes names.

Two schemes:

``safe`` (the default)
    A name that is already a valid DNS label, lowercase, without ``--`` and
    short enough is used as it is. Anything else is lowercased, stripped to
    ``[a-z0-9-]``, truncated, and suffixed with ``---`` plus a hash of the
    original name. Unchanged names never contain ``--`` and changed ones always
    end in ``---<hash>``, so two distinct names can only collide through a hash
    collision.

``escape`` (legacy)
    escapism's ``-XX`` hex escaping of every character outside ``[a-z0-9]``,
    which is what deployments before the safe scheme used. It is kept so those
    deployments keep finding their existing pods and PVCs. It is collision-free
    but not length-limited and may produce names starting with ``-``.
"""

import hashlib
import re
import string

import escapism

SLUG_SCHEMES = ("safe", "escape")

# Longest slug for a user or user+server: leaves room for the default
# prefixes ("jupyter-", "claim-") inside the 63-character DNS label limit.
MAX_SLUG_LENGTH = 48
DNS_LABEL_MAX = 63
LABEL_VALUE_MAX = 63

_HASH_LENGTH = 8
# what a changed name is suffixed with: "---" + 8 hex digits
_SUFFIX_LENGTH = 3 + _HASH_LENGTH

DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# DNS-1035 label: Service and Namespace-safe (starts with a letter)
DNS_1035_LABEL_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

_UNSAFE = re.compile(r"[^a-z0-9]+")


def _hash(*parts: str) -> str:
    # NUL cannot occur in a username, so the joined parts are unambiguous;
    # the part count keeps ("a",) and ("a", "") apart.
    digest = hashlib.sha256(f"{len(parts)}\0".encode() + "\0".join(parts).encode("utf8"))
    return digest.hexdigest()[:_HASH_LENGTH]


def is_valid_dns_label(name: str) -> bool:
    return len(name) <= DNS_LABEL_MAX and bool(DNS_LABEL_RE.match(name))


def is_valid_dns_1035_label(name: str) -> bool:
    return len(name) <= DNS_LABEL_MAX and bool(DNS_1035_LABEL_RE.match(name))


def is_valid_label_value(value: str) -> bool:
    return len(value) <= LABEL_VALUE_MAX and bool(LABEL_VALUE_RE.match(value))


def _is_unchanged_safe(name: str, max_length: int) -> bool:
    """A name the safe scheme may use verbatim."""
    return 0 < len(name) <= max_length and "--" not in name and bool(DNS_1035_LABEL_RE.match(name))


def _strip(name: str) -> str:
    """Lowercase, replace runs of unsafe characters with one '-', and drop
    leading characters that are not letters (a DNS-1035 label starts with one)."""
    stripped = _UNSAFE.sub("-", name.lower())
    return stripped.lstrip("-0123456789").rstrip("-")


def _hashed(stripped: str, digest: str, max_length: int) -> str:
    body = stripped[: max_length - _SUFFIX_LENGTH].rstrip("-") or "x"
    return f"{body}---{digest}"


def safe_slug(name: str, max_length: int = MAX_SLUG_LENGTH) -> str:
    """A DNS-1035 label (also a valid label value) for ``name``, unique per name."""
    if max_length < _SUFFIX_LENGTH + 1:
        raise ValueError(f"max_length must be at least {_SUFFIX_LENGTH + 1}, got {max_length}")
    if _is_unchanged_safe(name, max_length):
        return name
    return _hashed(_strip(name), _hash(name), max_length)


def multi_slug(names: list[str], max_length: int = MAX_SLUG_LENGTH) -> str:
    """One slug for several names (e.g. user and server), joined by ``--``.

    Parts that are used unchanged never contain ``--``, so the join is
    unambiguous; if any part would change, or the join is too long, the whole
    thing is hashed from all the original parts.
    """
    joined = "--".join(names)
    if all(_is_unchanged_safe(n, max_length) for n in names) and len(joined) <= max_length:
        return joined
    stripped = "--".join(s for s in (_strip(n) for n in names) if s)
    # keep the hashed form free of "--" inside the body, except as separator
    return _hashed(re.sub("-{2,}", "--", stripped), _hash(*names), max_length)


_ESCAPE_SAFE = set(string.ascii_lowercase + string.digits)


def escape_slug(name: str) -> str:
    """The legacy scheme: escapism with [a-z0-9] safe and '-' as escape char."""
    return escapism.escape(name, safe=_ESCAPE_SAFE, escape_char="-").lower()


def safe_label_value(value: str) -> str:
    """A valid label value for ``value``: itself if already valid, else a safe slug."""
    if is_valid_label_value(value):
        return value
    return safe_slug(value, max_length=LABEL_VALUE_MAX)


def ensure_dns_label(name: str) -> str:
    """Make a rendered name (e.g. from a user's template) a valid DNS label:
    unchanged if valid, otherwise cleaned up, shortened to 63 and hashed."""
    if is_valid_dns_label(name):
        return name
    stripped = re.sub("-{2,}", "-", _UNSAFE.sub("-", name.lower())).strip("-")
    return _hashed(stripped, _hash(name), DNS_LABEL_MAX)
