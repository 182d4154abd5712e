"""Cluster DNS for the process runtime: a small authoritative server for cluster.local.

Records, as CoreDNS's kubernetes plugin serves them (A only; AAAA and other
types of a name that exists get an empty NOERROR):

- `<svc>.<ns>.svc.cluster.local` -> the Service's clusterIP; a headless Service
  (clusterIP None) -> the ready addresses of its Endpoints;
- `<hostname>.<svc>.<ns>.svc.cluster.local` -> that endpoint address, for
  endpoints with a hostname (StatefulSet pods behind their governing Service);
- `<a-b-c-d>.<ns>.pod.cluster.local` -> a.b.c.d (CoreDNS `pods insecure`);
- `<ns>.svc.cluster.local`, `svc.cluster.local`, `cluster.local`: empty NOERROR
  (the names exist), anything else under cluster.local: NXDOMAIN.

Names outside cluster.local are REFUSED at once: this machine has no
upstream to forward to, and a quick refusal lets resolvers give up without
waiting for a timeout. The short forms (`hub`, `hub.jhub`, `hub.jhub.svc`)
are the resolver's job, through the search path in the pod's resolv.conf
(see `pod_dns_files`).

Every answer is read from the store at query time, so it is never staler
than the store itself (no cache to invalidate).

Where it listens: port 53 (resolv.conf has no port field) on a free loopback
address in 127.53.0.0/16, which every pod reaches because pods share this
machine's network. Binding port 53 needs root; without it the server takes a
free port on 127.0.0.1 instead and pods get no resolv.conf of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import random
import socket
import struct

from kubesim.node import dns_wire as wire

log = logging.getLogger(__name__)

CLUSTER_DOMAIN = "cluster.local"
DNS_NETWORK = ipaddress.ip_network("127.53.0.0/16")


def _endpoint_addresses(endpoints: dict | None) -> list[dict]:
    return [a for s in (endpoints or {}).get("subsets") or [] for a in s.get("addresses") or []]


def _pod_ip(label: str) -> str | None:
    try:
        return str(ipaddress.IPv4Address(label.replace("-", ".")))
    except ValueError:
        return None


def resolve(store, name: str, domain: str = CLUSTER_DOMAIN) -> tuple[int, list[str]]:
    """(rcode, IPv4 addresses) for a lowercased name without trailing dot."""
    if name != domain and not name.endswith("." + domain):
        return wire.REFUSED, []
    labels = name[: -len(domain)].rstrip(".").split(".") if name != domain else []
    if not labels or labels == ["svc"] or labels == ["pod"]:
        return wire.NOERROR, []
    *head, zone = labels
    if zone == "pod":
        if len(head) == 1:  # <ns>.pod.cluster.local
            return (wire.NOERROR, []) if store.peek("namespaces", head[0]) else (wire.NXDOMAIN, [])
        ip = _pod_ip(head[0]) if len(head) == 2 else None
        return (wire.NOERROR, [ip]) if ip else (wire.NXDOMAIN, [])
    if zone != "svc" or len(head) > 3:
        return wire.NXDOMAIN, []
    if len(head) == 1:  # <ns>.svc.cluster.local
        return (wire.NOERROR, []) if store.peek("namespaces", head[0]) else (wire.NXDOMAIN, [])
    *host, service_name, namespace = head
    service = store.peek("services", service_name, namespace)
    if service is None:
        return wire.NXDOMAIN, []
    spec = service.get("spec") or {}
    cluster_ip = spec.get("clusterIP")
    addresses = _endpoint_addresses(store.peek("endpoints", service_name, namespace))
    if host:
        found = [a["ip"] for a in addresses if a.get("hostname") == host[0]]
        return (wire.NOERROR, found) if found else (wire.NXDOMAIN, [])
    if cluster_ip and cluster_ip != "None":
        return wire.NOERROR, [cluster_ip]
    if spec.get("type") == "ExternalName":
        return wire.NOERROR, []  # CoreDNS answers a CNAME; we serve A records only
    return wire.NOERROR, sorted({a["ip"] for a in addresses})


def answer(
    store, message: bytes, domain: str = CLUSTER_DOMAIN, limit: int | None = None
) -> bytes | None:
    """The response to one query message (None: too broken to answer); `limit`:
    the most bytes it may take (UDP), beyond which it is truncated (TC)."""
    try:
        query = wire.parse_query(message)
    except wire.FormatError:
        ident = wire.query_id(message)
        return None if ident is None else wire.error_response(ident, wire.FORMERR)
    if (query.flags >> 11) & 0xF:  # only standard queries (opcode 0)
        return wire.build_response(query, wire.NOTIMP)
    rcode, addresses = resolve(store, query.name, domain)
    if query.qtype != wire.TYPE_A or query.qclass != wire.CLASS_IN:
        addresses = []
    return wire.build_response(query, rcode, addresses, limit=limit)


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, store):
        self.store = store
        self.transport = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        response = answer(self.store, data, limit=wire.UDP_LIMIT)
        if response is not None:
            self.transport.sendto(response, addr)


def _bind_pair(host: str, port: int) -> tuple[socket.socket, socket.socket]:
    """A UDP and a TCP socket on the same host:port (port 0: the TCP one's free port)."""
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        tcp.bind((host, port))
        udp.bind((host, tcp.getsockname()[1]))
    except OSError:
        tcp.close()
        udp.close()
        raise
    return udp, tcp


def _bind_somewhere() -> tuple[socket.socket, socket.socket]:
    """Port 53 on a free 127.53.x.y when we may bind it, else a free port on 127.0.0.1."""
    if os.geteuid() == 0:
        first = int(DNS_NETWORK.network_address) + 1
        for _ in range(64):  # several simulators may share this machine
            host = str(
                ipaddress.IPv4Address(first + random.randrange(DNS_NETWORK.num_addresses - 2))
            )
            with contextlib.suppress(OSError):
                return _bind_pair(host, 53)
    return _bind_pair("127.0.0.1", 0)


class ClusterDNS:
    """UDP + TCP DNS on one loopback address; `host`, `port` once started."""

    def __init__(self, store):
        self.store = store
        self.host: str | None = None
        self.port: int | None = None
        self._udp = None
        self._tcp: asyncio.Server | None = None

    @property
    def nameserver(self) -> str | None:
        """The address a resolv.conf can name (port 53 only), else None."""
        return self.host if self.port == 53 else None

    async def start(self) -> ClusterDNS:
        udp, tcp = _bind_somewhere()
        loop = asyncio.get_running_loop()
        self._udp, _ = await loop.create_datagram_endpoint(
            lambda: _UdpProtocol(self.store), sock=udp
        )
        self._tcp = await asyncio.start_server(self._serve_tcp, sock=tcp)
        self.host, self.port = tcp.getsockname()[:2]
        log.info("cluster DNS listening on %s:%s (udp, tcp)", self.host, self.port)
        return self

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        # RFC 1035 4.2.2: each message is preceded by its length (2 bytes)
        try:
            while True:
                (length,) = struct.unpack("!H", await reader.readexactly(2))
                response = answer(self.store, await reader.readexactly(length))
                if response is None:
                    break
                writer.write(struct.pack("!H", len(response)) + response)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()  # not wait_closed(): that would wait for idle clients
            self._tcp = None
