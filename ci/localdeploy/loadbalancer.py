"""Stand-in for a cloud load balancer: publishes a LoadBalancer Service on
HOST:PORT of this machine and forwards each connection to the Service's
cluster IP (which kubesim's kube-proxy serves on loopback), as a cloud's
balancer forwards to the cluster. Like a cloud controller, it writes the
address into the Service's status.loadBalancer, so `kubectl get svc` shows
it as EXTERNAL-IP. Run by ci/dev:

    python -m localdeploy.loadbalancer --kubeconfig K --namespace jhub \\
        --service proxy-public --listen 127.0.0.1:8080
"""

import argparse
import asyncio
import sys
import time

from kubesim import pipe

from .kubeapi import ApiError, KubeClient


def service_target(service: dict, port_name: str | None = None) -> tuple[str, int]:
    """(clusterIP, port) of the Service port named `port_name` (else the first)."""
    spec = service.get("spec") or {}
    ports = spec.get("ports") or []
    chosen = next((p for p in ports if p.get("name") == port_name), ports[0] if ports else None)
    if not spec.get("clusterIP") or chosen is None:
        name = service["metadata"]["name"]
        raise ValueError(f"Service {name} has no cluster IP or no port to forward to")
    return spec["clusterIP"], int(chosen["port"])


def wait_for_service(client: KubeClient, namespace: str, name: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return client.get("v1", "Service", name, namespace)
        except (ApiError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def publish_status(client: KubeClient, service: dict, host: str) -> None:
    meta = service["metadata"]
    body = {**service, "status": {"loadBalancer": {"ingress": [{"ip": host}]}}}
    path = f"/api/v1/namespaces/{meta['namespace']}/services/{meta['name']}/status"
    client.request("PUT", path, body, what=f"status of Service {meta['name']}")


async def serve(listen: tuple[str, int], target: tuple[str, int]) -> None:
    async def forward(reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection(*target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        for stream in (writer, up_writer):
            stream.close()

    server = await asyncio.start_server(forward, *listen)
    print(f"load balancer stand-in: {listen[0]}:{listen[1]} -> {target[0]}:{target[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="localdeploy.loadbalancer")
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--service", required=True)
    parser.add_argument("--port-name", default="http")
    parser.add_argument("--listen", required=True, help="HOST:PORT")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    client = KubeClient.from_kubeconfig(args.kubeconfig)
    service = wait_for_service(client, args.namespace, args.service, args.timeout)
    target = service_target(service, args.port_name)
    try:
        publish_status(client, service, host)
    except ApiError as err:  # the forwarding works without it
        print(f"could not write the Service's status: {err}", flush=True)
    asyncio.run(serve((host, int(port)), target))
    return 0


if __name__ == "__main__":
    sys.exit(main())
