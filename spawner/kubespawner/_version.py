"""The package version: the KubeSpawner release whose public surface this
package provides (hooks and configs check ``kubespawner.__version__``)."""

__version__ = "7.1.0"
