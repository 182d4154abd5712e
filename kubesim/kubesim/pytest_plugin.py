"""pytest plugin registered by the kubesim package: fixtures for other suites.

The fixtures themselves land with the simulator (issue: kubesim)."""
