"""Traits used by the spawner's configuration."""

from traitlets import TraitType


class Callable(TraitType):
    """A trait whose value must be callable: a function, a class, or an object
    with a ``__call__`` method."""

    info_text = "a callable"

    def validate(self, obj, value):
        if callable(value):
            return value
        self.error(obj, value)
