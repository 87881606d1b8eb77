"""Crescent application layer: files, people and screens."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("crescent")
except PackageNotFoundError:  # running from a checkout that is not installed
    __version__ = "0.0.0+unknown"
