"""Loopback addresses for the pods ci/dev runs itself. Like kubesim's
process runtime, each pod gets its own 127.x.y.z, so the hub's 8081 and the
proxy's 8001 never collide with another deployment on this machine."""

import hashlib
import socket


def port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def pod_subnet(seed: str) -> str:
    """A /24 in 127.230.0.0 - 127.239.255.0 (kubesim's pods use 127.244.0.0/16) chosen from `seed` (the state
    folder), so the same deployment gets the same addresses every time: the
    hub's address is written into users' running pods."""
    digest = hashlib.sha256(seed.encode()).digest()
    return f"127.{230 + digest[0] % 10}.{digest[1]}"


def pod_address(subnet: str, index: int) -> str:
    return f"{subnet}.{index + 2}"
