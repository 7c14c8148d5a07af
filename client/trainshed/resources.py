"""Datasets and models in the active project: `ts.datasets`, `ts.models` (the same methods).

    ds = await ts.datasets.create("cifar", path="./cifar")     # a folder: its files, with folders
    await ts.datasets.download(ds["id"], "./cifar-copy")        # a tar, unpacked as it arrives
    await ts.datasets.create("imagenet", url="https://…/x.tar") # downloaded by the server

A folder is sent as an uncompressed tar made while it is sent (nothing written to disk, nothing
deflated) that the server unpacks as it arrives, so relative paths are kept; one file goes the
same way, by its name. A single .zip/.tar(.gz) is uploaded as it is (multipart), and the server
unpacks it. A download is an
uncompressed tar unpacked while it arrives, checked against its announced length: a cut download
is an error, never a short file.
"""

from __future__ import annotations

import os
import queue
import shutil
import stat
import tarfile
import threading
from pathlib import Path, PurePosixPath

import httpx

from trainshed.client import Namespace, _seg
from trainshed.errors import TrainshedError
from trainshed.progress import Progress, counting

#: Uploads and downloads may take long: no limit on reading the answer of an upload.
TRANSFER_TIMEOUT = httpx.Timeout(30.0, read=None, write=None)


CHUNK = 256 * 1024
BLOCK = tarfile.BLOCKSIZE
#: What the server unpacks when it is uploaded as one file (resources/storage.py's ARCHIVE_SUFFIXES).
ARCHIVES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")


class _TarFolder:
    """Every regular file under `folder` (symbolic links are skipped, as the server does), or one
    `file`, as an uncompressed tar made while it is sent: its exact length is known before (so it goes with a
    Content-Length), nothing is written to disk, and the server unpacks it as it arrives."""

    def __init__(self, folder: Path | None = None, *, file: Path | None = None):
        self.members: list[tuple[str, bytes, int]] = []  # (path on disk, tar header, size)
        if file is not None:  # one file, by its own name
            st = os.stat(file)
            self._add(str(file), file.name, st)
        else:
            self._walk(folder)
        self.length = sum(len(h) + size + -size % BLOCK for _p, h, size in self.members) + 2 * BLOCK

    def _add(self, path: str, name: str, st: os.stat_result) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = st.st_size, int(st.st_mtime), 0o644
        # PAX: long and non-ASCII names, files over 8 GiB
        self.members.append((path, info.tobuf(format=tarfile.PAX_FORMAT), st.st_size))

    def _walk(self, folder: Path) -> None:
        root = str(folder)
        for top, dirs, names in os.walk(root):
            dirs.sort()
            for name in sorted(names):
                path = os.path.join(top, name)
                st = os.lstat(path)
                if stat.S_ISREG(st.st_mode):
                    self._add(path, os.path.relpath(path, root).replace(os.sep, "/"), st)

    def __len__(self) -> int:
        return len(self.members)

    def pieces(self):
        for path, header, size in self.members:
            yield header
            left = size
            with open(path, "rb") as f:
                while left and (data := f.read(min(CHUNK, left))):
                    left -= len(data)
                    yield data
            if left:
                raise TrainshedError(f"{path} changed while it was uploaded: upload it again.")
            if pad := -size % BLOCK:
                yield bytes(pad)
        yield bytes(2 * BLOCK)

    async def chunks(self, progress: Progress | None = None):
        """The tar in CHUNK-sized pieces (small files batched: one send and one progress call per
        chunk, not per file)."""
        batch = bytearray()
        for piece in self.pieces():
            if not batch and len(piece) >= CHUNK:  # a big file's chunk goes as it is, uncopied
                if progress is not None:
                    progress(len(piece), self.length)
                yield piece
                continue
            batch += piece
            if len(batch) >= CHUNK:
                if progress is not None:
                    progress(len(batch), self.length)
                yield bytes(batch)
                batch.clear()
        if batch:
            if progress is not None:
                progress(len(batch), self.length)
            yield bytes(batch)


def _safe_member(name: str) -> PurePosixPath | None:
    """The relative path a member may take inside the destination, or None to refuse it."""
    candidate = PurePosixPath(name.replace("\\", "/"))
    if candidate.is_absolute() or ".." in candidate.parts or not candidate.parts:
        return None
    if ":" in candidate.parts[0]:
        return None
    return candidate


class _Unpacker:
    """Unpacks a tar into `dest` in a thread while the download writes it in (`write`): nothing
    is kept whole, on disk or in memory (a few chunks queued at most). A new `dest` is filled as
    a hidden folder beside it, renamed into place once whole (no per-file temporary names); an
    existing one gets each file under a temporary name, renamed when complete."""

    def __init__(self, dest: Path):
        self.dest, self.written, self.error = dest, [], None
        self.fresh = not dest.exists()
        self.folder = dest.with_name(f".{dest.name}.trainshed-part-{os.getpid()}") if self.fresh else dest
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=16)
        self._pending = b""
        self._thread = threading.Thread(target=self._run, name="trainshed-unpack", daemon=True)
        self._thread.start()

    # ---- the download's side
    def write(self, data: bytes) -> int:
        if self.error is not None:
            raise self.error  # stops the download: nothing more can be unpacked
        self._queue.put(bytes(data))
        return len(data)

    def finish(self, *, raise_error: bool = True) -> list[str]:
        """The end of the download: waits for the last file, returns the paths written or raises
        what went wrong while unpacking (a new `dest` is then left uncreated)."""
        self._queue.put(None)
        self._thread.join()
        if self.fresh:
            if self.error is None and raise_error:
                try:
                    os.rename(self.folder, self.dest)
                except OSError as exc:
                    self.error = TrainshedError(f"Cannot write into {self.dest}: {exc.strerror or exc}")
            if self.error is not None or not raise_error:
                shutil.rmtree(self.folder, ignore_errors=True)
        if self.error is not None and raise_error:
            raise self.error
        return self.written

    # ---- the thread's side: a file object for tarfile's stream mode
    def read(self, size: int = -1) -> bytes:
        while not self._pending:
            chunk = self._queue.get()
            if chunk is None:
                self._queue.put(None)  # stays at the end for later reads
                return b""
            self._pending = memoryview(chunk)  # sliced without copying the rest each time
        size = len(self._pending) if size is None or size < 0 else size
        out, self._pending = self._pending[:size], self._pending[size:]
        return bytes(out)

    def _run(self) -> None:
        try:
            self._unpack()
        except tarfile.ReadError as exc:
            self.error = TrainshedError(f"The download is not a whole tar archive: {exc}")
        except OSError as exc:
            self.error = TrainshedError(f"Cannot write into {self.dest}: {exc.strerror or exc}")
        except Exception as exc:  # handed to the caller's thread, raised there
            self.error = exc if isinstance(exc, TrainshedError) else TrainshedError(str(exc))
        finally:
            while self._queue.get() is not None:  # let a blocked `write` go on to its error
                pass

    def _unpack(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        root = self.folder.resolve()
        folders = {root}
        # read in big blocks: tarfile's default (10 KiB) costs a Python loop per block
        with tarfile.open(fileobj=self, mode="r|", bufsize=CHUNK) as archive:
            for member in archive:
                rel = _safe_member(member.name)
                if rel is None or not (member.isreg() or member.isdir()):
                    raise TrainshedError(f"Refused the unsafe entry {member.name!r} in the download.")
                target = root / rel
                if not self.fresh:  # a folder of the user's: a link in it must not lead out
                    target = target.resolve()
                    if root not in target.parents:
                        raise TrainshedError(f"Refused the unsafe entry {member.name!r} in the download.")
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    folders.add(target)
                    continue
                if target.parent not in folders:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    folders.add(target.parent)
                if self.fresh:  # our own hidden folder: renamed into place only once whole
                    _write_to(target, archive.extractfile(member))
                else:
                    _write_whole(target, archive.extractfile(member))
                self.written.append(rel.as_posix())


def _write_to(target: Path, src) -> None:
    with open(target, "wb") as out:
        while data := src.read(CHUNK):
            out.write(data)


def _write_whole(target: Path, src) -> None:
    """`src` into `target` under a temporary name, renamed when complete: a file in the
    destination is never a part of one (a download cut in its middle removes the part)."""
    part = target.with_name(f".{target.name}.trainshed-part")
    try:
        _write_to(part, src)
        os.replace(part, target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


class _Resources(Namespace):
    kind = ""  # "datasets" or "models": the API path

    def _one(self, resource_id: str) -> str:
        return f"/{self.kind}/{_seg(resource_id)}"

    async def list(self, *, status: str | None = None) -> list[dict]:
        params = {"status": status} if status else {}
        return await self._list(f"/{self.kind}", **params)

    async def get(self, resource_id: str) -> dict:
        return await self._client.request("GET", self._one(resource_id))

    async def files(self, resource_id: str) -> list[dict]:
        return await self._list(f"{self._one(resource_id)}/files")

    async def create(self, name: str, *, path: str | os.PathLike | None = None,
                     url: str | None = None, progress: Progress | None = None) -> dict:
        """From a folder or a file on this machine (`path=`), or from an http(s) address the
        server downloads in the background (`url=`; the answer's status is "new"). `progress`
        is called with (bytes sent, total) as an upload goes (see `trainshed.progress`)."""
        if (path is None) == (url is None):
            raise TrainshedError("Give either a path or a url.")
        if url is not None:
            return await self._client.request(
                "POST", f"/{self.kind}/from-url", json={"name": name, "source_url": url}
            )
        source = Path(path)
        # A folder, or one file that is not an archive, goes as a tar the server unpacks as it
        # arrives (no multipart to parse, no spool); an archive goes as it is, to be unpacked.
        if source.is_dir() or (source.is_file() and not source.name.lower().endswith(ARCHIVES)):
            try:
                tar = _TarFolder(source) if source.is_dir() else _TarFolder(file=source)
            except OSError as exc:
                raise TrainshedError(f"Cannot read {source}: {exc.strerror or exc}") from exc
            if not tar:
                raise TrainshedError(f"The folder {source} holds no files.")
            try:
                return await self._client.request(
                    "POST", f"/{self.kind}/tar", params={"name": name}, content=tar.chunks(progress),
                    headers={"Content-Type": "application/x-tar", "Content-Length": str(tar.length)},
                    timeout=TRANSFER_TIMEOUT,
                )
            except OSError as exc:
                raise TrainshedError(f"Cannot read {source}: {exc.strerror or exc}") from exc
        if source.is_file():
            return await self._upload(name, source, "application/octet-stream", progress)
        raise TrainshedError(f"No such file or folder: {source}")

    async def _upload(self, name: str, file: Path, content_type: str, progress: Progress | None = None
                      ) -> dict:
        try:
            handle = file.open("rb")
        except OSError as exc:
            raise TrainshedError(f"Cannot read {file}: {exc.strerror or exc}") from exc
        with handle:
            return await self._client.request(
                "POST", f"/{self.kind}", data={"name": name},
                files=[("files", (file.name, counting(handle, progress, file.stat().st_size), content_type))],
                timeout=TRANSFER_TIMEOUT,
            )

    async def rename(self, resource_id: str, name: str) -> dict:
        return await self._client.request("PATCH", self._one(resource_id), json={"name": name})

    async def remove(self, resource_id: str) -> None:
        await self._client.request("DELETE", self._one(resource_id))

    async def download(self, resource_id: str, dest: str | os.PathLike, progress: Progress | None = None
                       ) -> list[str]:
        """Download into the folder `dest` (created if needed; files already there with the same
        paths are replaced), unpacking as it arrives. Returns the paths written."""
        dest = Path(dest)
        if dest.exists() and not dest.is_dir():
            raise TrainshedError(f"{dest} exists and is not a folder.")
        unpacker = _Unpacker(dest)
        try:
            await self._client.download(f"{self._one(resource_id)}/download", unpacker,
                                        progress=progress, params={"format": "tar"})
        except BaseException:
            unpacker.finish(raise_error=False)  # the download's own error says more
            raise
        return unpacker.finish()

    async def download_file(self, resource_id: str, path: str, dest: str | os.PathLike,
                            progress: Progress | None = None) -> Path:
        """One file (its path inside the dataset/model) to the file `dest` (left untouched when
        the download fails)."""
        dest = Path(dest)
        part = dest.with_name(f".{dest.name}.trainshed-part")
        try:
            with open(part, "wb") as out:
                await self._client.download(f"{self._one(resource_id)}/files/{_seg(path, safe='/@')}", out,
                                            progress=progress)
            os.replace(part, dest)
        except OSError as exc:
            raise TrainshedError(f"Cannot write {dest}: {exc.strerror or exc}") from exc
        finally:
            part.unlink(missing_ok=True)
        return dest


class Datasets(_Resources):
    kind = "datasets"


class Models(_Resources):
    kind = "models"
