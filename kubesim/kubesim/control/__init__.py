"""The controllers: scheduler, workload controllers (Deployments, ReplicaSets,
StatefulSets, DaemonSets, Jobs), endpoints and EndpointSlices, node
lifecycle, volume provisioning, storage protection, root CA publisher.
Imports `kubesim.model` and `kubesim.api`, never `kubesim.node`."""
