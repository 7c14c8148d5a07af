"""`trainshed model list|show|create|rename|download|remove` (see cli/resources.py)."""

from trainshed.cli.resources import models as command

__all__ = ["command"]
