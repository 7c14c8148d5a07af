"""Where the client's settings come from.

- `$TRAINSHED_CONFIG_DIR/config.json` (default `~/.trainshed/config.json`): keys `api_url`,
  `api_key`, `project`. Written by merging (other keys are kept), mode 600 once it holds a key.
- Environment: `TRAINSHED_API_URL`, `TRAINSHED_API_KEY`, `TRAINSHED_PROJECT` override the file.
- Keywords given to `Trainshed(...)` override both.
The active project is, in order: the `project=` keyword, `TRAINSHED_PROJECT`, the file, else
Personal (None: the server's default).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_API_URL = "http://127.0.0.1:8000"


def config_dir() -> Path:
    return Path(os.environ.get("TRAINSHED_CONFIG_DIR") or Path.home() / ".trainshed")


def config_path() -> Path:
    return config_dir() / "config.json"


def read_file() -> dict:
    path = config_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        from trainshed.errors import TrainshedError

        raise TrainshedError(f"Cannot read {path}: {exc}") from exc
    return data if isinstance(data, dict) else {}


def write_file(**changes) -> Path:
    """Merge `changes` into config.json (a value of None removes that key); create it if missing."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = read_file()
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.write("\n")
    if not data.get("api_key"):
        tmp.chmod(0o644)
    os.replace(tmp, path)
    return path


@dataclass
class Config:
    api_url: str
    api_key: str | None
    project: str | None

    @classmethod
    def load(cls, *, api_url: str | None = None, api_key: str | None = None,
             project: str | None = None) -> Config:
        file = read_file()
        env = os.environ

        def pick(keyword, env_name, file_key):
            for value in (keyword, env.get(env_name), file.get(file_key)):
                if value:
                    return value
            return None

        return cls(
            api_url=(pick(api_url, "TRAINSHED_API_URL", "api_url") or DEFAULT_API_URL).rstrip("/"),
            api_key=pick(api_key, "TRAINSHED_API_KEY", "api_key"),
            project=pick(project, "TRAINSHED_PROJECT", "project"),
        )
