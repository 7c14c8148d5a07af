"""The Trainshed SDK and CLI. `from trainshed import Trainshed`.

    ts = Trainshed(project="<project id>")          # api_key=, api_url= too
    projects = await ts.projects.list()
    ts.sync.projects.list()                          # the same, for scripts
"""

from trainshed.client import Trainshed
from trainshed.config import Config
from trainshed.errors import TrainshedError

__all__ = ["Config", "Trainshed", "TrainshedError"]
__version__ = "0.1.0"
