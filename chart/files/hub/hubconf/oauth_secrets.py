"""Each server's OAuth client secret hashed as its API token already is.

At every spawn JupyterHub makes the server an API token (`new_token`: a
UUID4, 122 random bits) and stores it hashed with one round of SHA-512
(`APIToken.generated_rounds`: a random secret needs no key stretching). It
then stores the same string as the server's OAuth client secret, through
`hash_token`'s default of 16,384 rounds: 3.8 ms of hub CPU per spawn that
protect nothing, as the database holds the one-round hash of the same
secret beside it.

Here the OAuth provider hashes with one round exactly the secrets JupyterHub
generated itself: `new_token` notes a digest of each token it hands out (the
last 4,096), and the provider's `hash_token` takes one round for a noted one.
Every other secret, such as a service's configured api_token, keeps the
default rounds. `compare_token` reads the rounds from the stored hash, so
secrets hashed either way verify as before, with this module or without it.

Applied only where JupyterHub still imports `hash_token` and `new_token`
from `jupyterhub.utils` into these modules; `restore()` undoes it.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict

log = logging.getLogger("JupyterHub")

# tokens handed out and not yet hashed as a client secret (a digest each,
# never the token); spawns use theirs within milliseconds
REMEMBERED = 4096
_generated: OrderedDict[bytes, None] = OrderedDict()


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _modules():
    from jupyterhub import orm, utils
    from jupyterhub.oauth import provider

    return orm, provider, utils


def _stock_functions() -> bool:
    """Whether the provider and the ORM still use JupyterHub's own functions."""
    orm, provider, utils = _modules()
    return provider.hash_token is utils.hash_token and orm.new_token is utils.new_token


def install() -> bool:
    """Whether the OAuth provider now hashes JupyterHub's own tokens once.
    Silent: report() tells, once a bad value can no longer stop the hub."""
    if installed():
        return True
    if not _stock_functions():
        return False
    orm, provider, utils = _modules()
    stock_hash, stock_new = utils.hash_token, utils.new_token

    def new_token(*args, **kwargs):
        token = stock_new(*args, **kwargs)
        _generated[_digest(token)] = None
        while len(_generated) > REMEMBERED:
            _generated.popitem(last=False)
        return token

    def hash_token(token, *args, **kwargs):
        key = _digest(token)
        if not args and not kwargs and key in _generated:
            del _generated[key]
            return stock_hash(token, rounds=1)
        return stock_hash(token, *args, **kwargs)

    new_token.stock, hash_token.stock = stock_new, stock_hash
    orm.new_token, provider.hash_token = new_token, hash_token
    return True


def installed() -> bool:
    _, provider, utils = _modules()
    return getattr(provider.hash_token, "stock", None) is utils.hash_token


def report() -> None:
    """One line in the hub's log, once the configuration has gone through."""
    if installed():
        log.info("hubconf.oauth_secrets: servers' OAuth client secrets hashed as their API tokens")
    elif not _stock_functions():
        log.info(
            "hubconf.oauth_secrets: JupyterHub's token functions are not the stock ones; left alone"
        )


def restore() -> None:
    """JupyterHub's own functions again."""
    orm, provider, _ = _modules()
    orm.new_token = getattr(orm.new_token, "stock", orm.new_token)
    provider.hash_token = getattr(provider.hash_token, "stock", provider.hash_token)
    _generated.clear()
