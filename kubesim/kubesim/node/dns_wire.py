"""The DNS wire format (RFC 1035), just what cluster DNS needs: pure functions.

`parse_query` reads the header and first question of a query (anything after
it, e.g. an EDNS OPT record, is ignored); `build_response` answers it with A
records. Names are compared lowercased (RFC 4343).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

TYPE_A = 1
TYPE_AAAA = 28
CLASS_IN = 1

NOERROR = 0
FORMERR = 1
SERVFAIL = 2
NXDOMAIN = 3
NOTIMP = 4
REFUSED = 5

_HEADER = struct.Struct("!HHHHHH")


class FormatError(ValueError):
    """The message is not a DNS query we can read."""


@dataclass(frozen=True)
class Query:
    id: int
    flags: int
    name: str  # lowercased, without the trailing dot
    qtype: int
    qclass: int
    question: bytes  # the question section as sent, echoed in the response


def _read_name(message: bytes, offset: int) -> tuple[str, int]:
    labels = []
    while True:
        if offset >= len(message):
            raise FormatError("name runs past the end of the message")
        length = message[offset]
        if length & 0xC0:  # a compression pointer cannot occur in a query's first name
            raise FormatError("compressed name in question")
        offset += 1
        if length == 0:
            return ".".join(labels).lower(), offset
        labels.append(message[offset : offset + length].decode("ascii", "replace"))
        offset += length


def parse_query(message: bytes) -> Query:
    if len(message) < _HEADER.size:
        raise FormatError("shorter than a DNS header")
    ident, flags, qdcount, _, _, _ = _HEADER.unpack_from(message)
    if flags & 0x8000:
        raise FormatError("a response, not a query")
    if qdcount < 1:
        raise FormatError("no question")
    name, offset = _read_name(message, _HEADER.size)
    if offset + 4 > len(message):
        raise FormatError("question runs past the end of the message")
    qtype, qclass = struct.unpack_from("!HH", message, offset)
    return Query(ident, flags, name, qtype, qclass, message[_HEADER.size : offset + 4])


def query_id(message: bytes) -> int | None:
    """The id of a message too broken to parse, so a FORMERR can still answer it."""
    return struct.unpack_from("!H", message)[0] if len(message) >= 2 else None


def encode_query(ident: int, name: str, qtype: int = TYPE_A) -> bytes:
    """A recursive query for `name` (used by tests and the CLI's self-check)."""
    labels = b"".join(
        bytes([len(part)]) + part.encode("ascii") for part in name.rstrip(".").split(".") if part
    )
    return (
        _HEADER.pack(ident, 0x0100, 1, 0, 0, 0)
        + labels
        + b"\x00"
        + struct.pack("!HH", qtype, CLASS_IN)
    )


UDP_LIMIT = 512  # RFC 1035 4.2.1, for clients that send no EDNS size
_A_RECORD_SIZE = 16


def build_response(
    query: Query, rcode: int, addresses: list[str] = (), ttl: int = 5, limit: int | None = None
) -> bytes:
    """Answer `query` with `rcode` and one A record per address.

    Flags: QR, the query's opcode and RD, AA (we are the zone's authority) and
    RA, as CoreDNS sets them for cluster.local answers. With `limit` (bytes,
    for UDP) answers that do not fit are left out and TC is set, so the
    client asks again over TCP.
    """
    flags = 0x8000 | (query.flags & 0x7900) | 0x0400 | 0x0080 | (rcode & 0xF)
    if limit is not None:
        room = max((limit - _HEADER.size - len(query.question)) // _A_RECORD_SIZE, 0)
        if len(addresses) > room:
            addresses, flags = list(addresses)[:room], flags | 0x0200
    answers = b"".join(
        b"\xc0\x0c"  # pointer to the question's name at offset 12
        + struct.pack("!HHIH", TYPE_A, CLASS_IN, ttl, 4)
        + ipaddress.IPv4Address(address).packed
        for address in addresses
    )
    return _HEADER.pack(query.id, flags, 1, len(addresses), 0, 0) + query.question + answers


def error_response(ident: int, rcode: int) -> bytes:
    """A bare response (no question echoed) for a message we could not parse."""
    return _HEADER.pack(ident, 0x8000 | (rcode & 0xF), 0, 0, 0, 0)


def is_truncated(message: bytes) -> bool:
    return bool(_HEADER.unpack_from(message)[1] & 0x0200)


def parse_response(message: bytes) -> tuple[int, int, list[str]]:
    """(id, rcode, A-record addresses) of a response (for tests and self-checks)."""
    ident, flags, qdcount, ancount, _, _ = _HEADER.unpack_from(message)
    offset = _HEADER.size
    for _ in range(qdcount):
        _, offset = _read_name(message, offset)
        offset += 4
    addresses = []
    for _ in range(ancount):
        if message[offset] & 0xC0 == 0xC0:
            offset += 2
        else:
            _, offset = _read_name(message, offset)
        rtype, _, _, length = struct.unpack_from("!HHIH", message, offset)
        offset += 10
        if rtype == TYPE_A and length == 4:
            addresses.append(str(ipaddress.IPv4Address(message[offset : offset + 4])))
        offset += length
    return ident, flags & 0xF, addresses
