"""What puts the layers together and drives them: `KubeSim`, the
`NodeSimulator`, the `/kubesim/` admin API, certificates and kubeconfig, the
CLI, the pytest plugin and the test clients. May import every layer; no layer
imports it."""
