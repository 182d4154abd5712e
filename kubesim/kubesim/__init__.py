"""kubesim: a Kubernetes API server and node simulator in one Python process.

Library entry: `async with KubeSim(...) as sim` (see kubesim.sim). The
in-process store contract is documented in kubesim.store.
"""

from .errors import ApiError
from .sim import KubeSim
from .store import Store

__all__ = ["ApiError", "KubeSim", "Store"]
