"""Pod and node addresses on the loopback network.

Why loopback: on Linux all of 127.0.0.0/8 reaches the host's `lo` without any
setup, so a process can bind 127.244.0.7:8888 while another binds
127.244.0.8:8888, and anything on the host (the hub, tests) can connect to
both. It needs no root, no veth pairs and no cleanup, which network
namespaces would. The price: a process that binds 0.0.0.0 takes the port on
every address, so the process runtime rewrites "0.0.0.0" in a container's
env, command and args to its pod IP (KubeSpawner-style `--ip=0.0.0.0` and
`JUPYTERHUB_SERVICE_URL=http://0.0.0.0:8888/` then land on the pod's address),
and Python and Node.js processes get a shim that turns wildcard binds into
binds to the pod IP (see `process_runtime`). Any other server that binds
0.0.0.0 on its own still takes the port everywhere. The Python shim also
makes `localhost` mean the pod for the pod's declared container ports (a
connect to 127.0.0.1:8081 from the hub's idle culler reaches its hub).

Service variables: real processes would follow `<NAME>_SERVICE_HOST` to a
cluster IP; only loopback cluster IPs are handed to processes (see
`kube_proxy`), others are left out of the process runtime's environment, so a
pod never sends traffic off this machine.

Pods get 127.244.0.1 - 127.244.255.254 (about 65k addresses); node i gets
127.1.0.(i+1) as its InternalIP. Addresses are handed out round-robin from a
random start, so a just-freed address is not reused at once (a late
connection to a deleted pod must not reach its successor) and several
simulators on one machine rarely meet; the process runtime also skips
addresses something already listens on.
"""

from __future__ import annotations

import ipaddress
import random

POD_NETWORK = ipaddress.ip_network("127.244.0.0/16")
NODE_NETWORK = ipaddress.ip_network("127.1.0.0/24")


def is_loopback(address: str | None) -> bool:
    """Whether a local process can reach `address` without leaving this machine."""
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


def node_ip(index: int) -> str:
    return str(NODE_NETWORK.network_address + index + 1)


def listening_addresses() -> set[int]:
    """IPv4 addresses something on this machine listens on (TCP), from /proc/net/tcp.

    Several simulators (test runs, benchmarks, ci/dev) may share this machine
    and its 127.244.0.0/16: an address another one's pod listens on is not
    handed out again.
    """
    found = set()
    try:
        with open("/proc/net/tcp") as table:
            next(table, None)
            for line in table:
                fields = line.split()
                if len(fields) > 3 and fields[3] == "0A":  # LISTEN
                    address = int(fields[1].split(":")[0], 16)
                    found.add(int.from_bytes(address.to_bytes(4, "little"), "big"))
    except OSError:
        pass
    return found


class PodAddressPool:
    """Round-robin pod addresses from a random starting point.

    The random start keeps simultaneous simulators on this machine apart;
    `allocate(avoid)` also skips addresses in `avoid` (e.g. listening_addresses()).
    """

    def __init__(self, network=POD_NETWORK, start: int | None = None):
        self.network = network
        self._first = int(network.network_address) + 1
        self._size = network.num_addresses - 2
        self._next = random.randrange(self._size) if start is None else start % self._size
        self._in_use: set[int] = set()

    def allocate(self, avoid: set[int] = frozenset()) -> str:
        for _ in range(self._size):
            candidate = self._first + self._next
            self._next = (self._next + 1) % self._size
            if candidate & 0xFF in (0, 255) or candidate in self._in_use or candidate in avoid:
                continue  # .0 and .255 look like network/broadcast addresses
            self._in_use.add(candidate)
            return str(ipaddress.ip_address(candidate))
        raise RuntimeError(f"the pod network {self.network} has no free address left")

    def reserve(self, address: str) -> None:
        """Mark an address (e.g. of a pod found running) as taken."""
        self._in_use.add(int(ipaddress.ip_address(address)))

    def release(self, address: str | None) -> None:
        if address:
            self._in_use.discard(int(ipaddress.ip_address(address)))

    @property
    def in_use(self) -> int:
        return len(self._in_use)
