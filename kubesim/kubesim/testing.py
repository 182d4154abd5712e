"""Test support for suites that drive kubesim with real clients (public surface).

Clients: `api_client_for(sim, token=None)`, `raw_request(sim, method, path, body)`,
`service_account_token(sim, ns, name)`, `kubeconfig_with_token(sim, token, path)`,
`RecordedWatch`; manifests: `pod_body(...)`; waits on the store driven by watch
events: `wait_for`, `wait_gone`; the CLI as a process: `cli_command`,
`forget_stale`, `start_cli`, `running_cli`, `wait_for_kubeconfig` (`CliEndpoint`, `CliFailed`).
The pytest fixtures (`kubesim`, `kubesim_factory`, `kube_api`) come with the
package's pytest plugin.
"""

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

__all__ = [
    "CliEndpoint",
    "CliFailed",
    "RecordedWatch",
    "api_client_for",
    "cli_command",
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
