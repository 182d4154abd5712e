"""Kubernetes object facts with no I/O: Status errors, quantities, selectors,
the served resource table, owner references, Service ports. Imports no other
kubesim layer."""
