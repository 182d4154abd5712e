"""The whole system on one machine: kubesim, the rendered chart, the hub and
the proxy as local processes. `ci/dev` is the command line; `LocalDeployment`
(in `deployment`) is the same machinery as a library for the e2e tests and
benchmarks."""
