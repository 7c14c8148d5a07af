"""Blocking use: `from trainshed.sync import Trainshed; Trainshed().projects.list()`."""

from trainshed.client import SyncTrainshed as Trainshed

__all__ = ["Trainshed"]
