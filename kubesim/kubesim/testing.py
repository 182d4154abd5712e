"""Test support for suites that drive kubesim with real clients (public surface).

Clients: `api_client_for(sim, token=None)`, `raw_request(sim, method, path, body)`,
`service_account_token(sim, ns, name)`, `kubeconfig_with_token(sim, token, path)`,
`RecordedWatch`; manifests: `pod_body(...)`; waits on the store driven by watch
events: `wait_for`, `wait_gone`; the CLI as a process: `cli_command`,
`forget_stale`, `start_cli`, `running_cli`, `wait_for_kubeconfig` (`CliEndpoint`, `CliFailed`);
in-process applies recorded under a manager: `field_manager(name)`.
The pytest fixtures (`kubesim`, `kubesim_factory`, `kube_api`) come with the
package's pytest plugin.
"""

import contextlib

from kubesim.harness.cli_process import (
    CliEndpoint,
    CliFailed,
    cli_command,
    forget_stale,
    running_cli,
    start_cli,
    wait_for_kubeconfig,
)
from kubesim.harness.clients import (
    RecordedWatch,
    api_client_for,
    kubeconfig_with_token,
    pod_body,
    raw_request,
    service_account_token,
)
from kubesim.harness.waiting import wait_for, wait_gone


@contextlib.contextmanager
def field_manager(name: str):
    """In-process writes to a KubeSim's store (`sim.store.patch(..., "apply")`)
    are recorded in managedFields under this manager, as an HTTP client's
    would be under its fieldManager."""
    from kubesim.api.fieldmanager import FIELD_MANAGER

    token = FIELD_MANAGER.set(name)
    try:
        yield
    finally:
        FIELD_MANAGER.reset(token)


__all__ = [
    "CliEndpoint",
    "CliFailed",
    "RecordedWatch",
    "api_client_for",
    "cli_command",
    "field_manager",
    "forget_stale",
    "kubeconfig_with_token",
    "pod_body",
    "raw_request",
    "running_cli",
    "service_account_token",
    "start_cli",
    "wait_for",
    "wait_for_kubeconfig",
    "wait_gone",
]
