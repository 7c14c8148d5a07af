"""Datasets and models in the active project: `ts.datasets`, `ts.models` (the same methods).

    ds = await ts.datasets.create("cifar", path="./cifar")     # a folder: its files, with folders
    await ts.datasets.download(ds["id"], "./cifar-copy")        # a tar, unpacked as it arrives
    await ts.datasets.create("imagenet", url="https://…/x.tar") # downloaded by the server

A folder is packed into a temporary zip (streamed from disk) that the server unpacks, so relative
paths are kept; data that is already compressed (or does not shrink) is stored in it as it is. One
file is uploaded as it is (a single .zip/.tar(.gz) is unpacked by the server). A download is an
uncompressed tar unpacked while it arrives, checked against its announced length: a cut download
is an error, never a short file.
"""

from __future__ import annotations

import os
import queue
import tarfile
import tempfile
import threading
import zipfile
import zlib
from pathlib import Path, PurePosixPath

import httpx

from trainshed.client import Namespace, _seg
from trainshed.errors import TrainshedError
from trainshed.progress import Progress, counting

#: Uploads and downloads may take long: no limit on reading the answer of an upload.
TRANSFER_TIMEOUT = httpx.Timeout(30.0, read=None, write=None)


#: Formats that are compressed already: deflating them again costs CPU and saves nothing.
COMPRESSED = frozenset({
    ".zip", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".lz4", ".7z", ".rar", ".br", ".jpg", ".jpeg",
    ".png", ".gif", ".webp", ".avif", ".heic", ".mp3", ".mp4", ".m4a", ".mkv", ".mov", ".webm",
    ".ogg", ".opus", ".flac", ".avi", ".pdf", ".docx", ".xlsx", ".pptx", ".jar", ".whl", ".npz",
    ".parquet", ".safetensors", ".tfrecord",
})
SAMPLE = 64 * 1024
CHUNK = 256 * 1024


def _compression_for(path: Path) -> int:
    """ZIP_STORED for data that deflate would not shrink by a tenth (known compressed formats,
    or a first 64 KiB that does not), else ZIP_DEFLATED."""
    if path.suffix.lower() in COMPRESSED:
        return zipfile.ZIP_STORED
    with path.open("rb") as f:
        sample = f.read(SAMPLE)
    if sample and len(zlib.compress(sample, 1)) > 0.9 * len(sample):
        return zipfile.ZIP_STORED
    return zipfile.ZIP_DEFLATED


def _zip_folder(folder: Path, archive: Path) -> int:
    """Every regular file under `folder` (symbolic links are skipped, as the server does) into
    `archive`; returns how many."""
    count = 0
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1,
                         allowZip64=True) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_symlink() or not path.is_file():
                continue
            zf.write(path, path.relative_to(folder).as_posix(), compress_type=_compression_for(path))
            count += 1
    return count


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
    is kept whole, on disk or in memory (a few chunks queued at most)."""

    def __init__(self, dest: Path):
        self.dest, self.written, self.error = dest, [], None
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
        what went wrong while unpacking."""
        self._queue.put(None)
        self._thread.join()
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
        self.dest.mkdir(parents=True, exist_ok=True)
        root = self.dest.resolve()
        # read in big blocks: tarfile's default (10 KiB) costs a Python loop per block
        with tarfile.open(fileobj=self, mode="r|", bufsize=CHUNK) as archive:
            for member in archive:
                rel = _safe_member(member.name)
                target = (root / rel).resolve() if rel is not None else None
                if target is None or root not in target.parents or not (member.isreg() or member.isdir()):
                    raise TrainshedError(f"Refused the unsafe entry {member.name!r} in the download.")
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                _write_whole(target, archive.extractfile(member))
                self.written.append(rel.as_posix())


def _write_whole(target: Path, src) -> None:
    """`src` into `target` under a temporary name, renamed when complete: a file in the
    destination is never a part of one (a download cut in its middle removes the part)."""
    part = target.with_name(f".{target.name}.trainshed-part")
    try:
        with open(part, "wb") as out:
            while data := src.read(CHUNK):
                out.write(data)
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
        if source.is_dir():
            with tempfile.TemporaryDirectory(prefix="trainshed-upload-") as tmp:
                archive = Path(tmp) / f"{source.resolve().name or 'upload'}.zip"
                if not _zip_folder(source, archive):
                    raise TrainshedError(f"The folder {source} holds no files.")
                return await self._upload(name, archive, "application/zip", progress)
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
