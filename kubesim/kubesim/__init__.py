"""kubesim: a Kubernetes API server and node simulator in one Python process.

The public surface, for everything outside kubesim/ (see kubesim/README.md):
`KubeSim` (the simulator: `async with KubeSim(...) as sim`), `Store` (its
in-process API, `sim.store`), `ApiError`, `NodeSimulator` (the node side on
its own), `ImageRule`/`ImageRules` (what an image runs), `parse_quantity`,
`make_certificates` (a CA and serving certificate) and `pipe` (kube-proxy's
byte copy). Test helpers are in `kubesim.testing`; the layers below
(`model`, `api`, `node`, `control`, `harness`) are internal.
"""

from kubesim.api.store import Store
from kubesim.harness.certificates import make_certificates
from kubesim.harness.node_simulator import NodeSimulator
from kubesim.harness.simulator import KubeSim
from kubesim.model.errors import ApiError
from kubesim.model.quantities import parse_quantity
from kubesim.node.kube_proxy import pipe
from kubesim.node.node_settings import ImageRule, ImageRules

__all__ = [
    "ApiError",
    "ImageRule",
    "ImageRules",
    "KubeSim",
    "NodeSimulator",
    "Store",
    "make_certificates",
    "parse_quantity",
    "pipe",
]
