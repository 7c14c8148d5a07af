"""`trainshed dataset list|show|create|rename|download|remove` (see cli/resources.py)."""

from trainshed.cli.resources import datasets as command

__all__ = ["command"]
