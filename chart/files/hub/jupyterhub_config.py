# The hub's configuration, shipped with the chart (chart/files/hub/, mounted
# from ConfigMap `hub` over the image's config root): the package hubconf/
# beside this file turns the chart's values into traitlets config on `c`.
# A bad value stops the hub with one line naming its key.
import logging
import os
import re
import sys
from pathlib import Path

# z2jh.py and hubconf/ sit next to this file (under the config root).
sys.path.insert(0, str(Path(__file__).resolve().parent))

from hubconf import requirements  # noqa: E402

# Before anything the image may lack is imported: an older or foreign hub
# image stops here with one line.
requirements.check()

import hubconf  # noqa: E402

# hub.extraConfig and jupyterhub_config.d/*.py run in this file's namespace,
# as in z2jh: these names need no import there.
from z2jh import (  # noqa: E402, F401
    ConfigError,
    get_config,
    get_name,
    get_name_env,
    get_secret_value,
    set_config_if_not_none,
)

log = logging.getLogger("JupyterHub")
_ = (os, re)  # (kept in user code's namespace, as before)

try:
    hubconf.apply(c, globals())
except ConfigError as e:
    if e.__cause__ is not None:
        raise  # an error in users' code: its traceback helps them
    # A bad value or file: the one line naming it says everything.
    raise SystemExit(f"Hub configuration error: {e}") from None
