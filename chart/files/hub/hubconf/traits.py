"""KubeSpawner's settings, set from chart values: each value checked by
KubeSpawner's own trait, so a bad one names its values key at start."""

import copy
import logging

from traitlets import HasTraits

from .values import ConfigError

log = logging.getLogger("JupyterHub")


_SPAWNER_TRAITS = None


def spawner_traits():
    """KubeSpawner's traits, to check values before the hub spawns anything."""
    global _SPAWNER_TRAITS
    if _SPAWNER_TRAITS is None:
        try:
            from kubespawner import KubeSpawner
        except Exception as e:  # the hub reports a broken spawner itself, later
            log.warning("Cannot import kubespawner to check singleuser values: %s", e)
            _SPAWNER_TRAITS = {}
        else:
            _SPAWNER_TRAITS = KubeSpawner.class_traits(config=True)
    return _SPAWNER_TRAITS


def set_spawner(c, trait, value, key, section="KubeSpawner"):
    """Set c.<section>.<trait> (KubeSpawner, or Spawner where z2jh sets it
    there), validated by KubeSpawner's trait, naming `key` on error."""
    traits = spawner_traits()
    if trait in traits:
        # A throwaway object holding a copy of the trait runs its validation
        # without a spawner instance.
        holder = type("TraitCheck", (HasTraits,), {"value": copy.copy(traits[trait])})()
        try:
            holder.value = value
        except Exception as e:
            raise ConfigError(
                f"{key}: {value!r} is not valid for KubeSpawner.{trait}: {e}"
            ) from None
    setattr(c[section], trait, value)
