"""The API server: the in-process store (storage, watch, patches, field
manager, garbage collection, persistence), admission and validation,
authentication and RBAC, and the HTTP server with its discovery, tables and
streaming. Imports only `kubesim.model`."""
