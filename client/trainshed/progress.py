"""Progress of uploads and downloads: byte-counting wrappers the SDK puts around a file, and the
CLI's bar (tqdm on stderr, shown only when stderr is a terminal, so pipes and logs stay clean).

The SDK takes `progress=` (a callable `(n_bytes, total_or_None)`, called as bytes move); the CLI
passes `transfer_bar(...)`'s callback. Nothing here talks to the server."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO

Progress = Callable[[int, "int | None"], None]


class _Counting:
    """A binary file that reports the bytes read from (or written to) it; everything else (name,
    fileno, seek, tell: what httpx asks to size an upload) is the file's own."""

    def __init__(self, file: BinaryIO, progress: Progress, total: int | None):
        self._file, self._progress, self._total = file, progress, total

    def __getattr__(self, name: str):
        return getattr(self._file, name)

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        if data:
            self._progress(len(data), self._total)
        return data

    def write(self, data: bytes) -> int:
        written = self._file.write(data)
        self._progress(len(data), self._total)
        return written

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(64 * 1024):
            yield chunk


def counting(file: BinaryIO, progress: Progress | None, total: int | None = None) -> BinaryIO:
    """`file` itself without `progress`, else a wrapper that reports each read or write."""
    return file if progress is None else _Counting(file, progress, total)  # type: ignore[return-value]


@contextmanager
def transfer_bar(description: str, *, stream=None) -> Iterator[Progress]:
    """A bar of bytes moved, sized when the total is known; hidden unless `stream` (stderr) is a
    terminal."""
    from tqdm import tqdm

    stream = stream or sys.stderr
    shown = hasattr(stream, "isatty") and stream.isatty()
    size = shutil.get_terminal_size((80, 24))
    with tqdm(desc=description, total=None, unit="B", unit_scale=True, unit_divisor=1024, file=stream,
              disable=not shown, leave=True,
              # A terminal that reports no size (0×0, e.g. a fresh pseudo-terminal) would get no bar.
              ncols=size.columns, nrows=size.lines) as bar:

        def advance(n: int, total: int | None) -> None:
            if total is not None and bar.total != total:
                bar.total = total
                bar.refresh()
            bar.update(n)

        yield advance
