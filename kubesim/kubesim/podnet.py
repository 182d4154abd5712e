"""Pod and node addresses on the loopback network.

Why loopback: on Linux all of 127.0.0.0/8 reaches the host's `lo` without any
setup, so a process can bind 127.244.0.7:8888 while another binds
127.244.0.8:8888, and anything on the host (the hub, tests) can connect to
both. It needs no root, no veth pairs and no cleanup, which network
namespaces would. The price: a process that binds 0.0.0.0 takes the port on
every address, so the process runtime rewrites "0.0.0.0" in a container's
env, command and args to its pod IP (KubeSpawner-style `--ip=0.0.0.0` and
`JUPYTERHUB_SERVICE_URL=http://0.0.0.0:8888/` then land on the pod's address).

Service variables: real processes would follow `<NAME>_SERVICE_HOST` to a
cluster IP; only loopback cluster IPs are handed to processes (see
`kubeproxy`), others are left out of the process runtime's environment, so a
pod never sends traffic off this machine.

Pods get 127.244.0.1 - 127.244.255.254 (about 65k addresses); node i gets
127.1.0.(i+1) as its InternalIP. Addresses are handed out round-robin, so a
just-freed address is not reused at once (a late connection to a deleted pod
must not reach its successor).
"""

from __future__ import annotations

import ipaddress

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


class PodAddressPool:
    def __init__(self, network=POD_NETWORK):
        self._first = int(network.network_address) + 1
        self._size = network.num_addresses - 2
        self._next = 0
        self._in_use: set[int] = set()

    def allocate(self) -> str:
        for _ in range(self._size):
            candidate = self._first + self._next
            self._next = (self._next + 1) % self._size
            if candidate & 0xFF in (0, 255) or candidate in self._in_use:
                continue  # skip .0 and .255, which look like network/broadcast
            self._in_use.add(candidate)
            return str(ipaddress.ip_address(candidate))
        raise RuntimeError(f"the pod network {POD_NETWORK} has no free address left")

    def reserve(self, address: str) -> None:
        """Mark an address (e.g. of a pod found running) as taken."""
        self._in_use.add(int(ipaddress.ip_address(address)))

    def release(self, address: str | None) -> None:
        if address:
            self._in_use.discard(int(ipaddress.ip_address(address)))

    @property
    def in_use(self) -> int:
        return len(self._in_use)
