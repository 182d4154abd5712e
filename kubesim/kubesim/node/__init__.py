"""The kubelet side: container runtimes (pause, process), pod status, probes,
volumes, container environment, pod networking, kube-proxy, cluster DNS and
container logs. Imports `kubesim.model` and `kubesim.api`, never
`kubesim.control`."""
