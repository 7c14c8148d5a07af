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

import io
import os
import shutil
import stat
import tarfile
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


#: Header types whose data belongs to the header that follows (PAX records, GNU long names).
_EXTENSIONS = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.GNUTYPE_LONGNAME,
               tarfile.GNUTYPE_LONGLINK)
#: The most header bytes one member may have (its PAX records or long name): more is refused.
_MAX_HEADER = 1024 * 1024


class _HeaderGroup:
    """The part of a TarFile that `TarInfo.fromtarfile` uses: one member's header blocks, whole."""

    encoding, errors = tarfile.ENCODING, "surrogateescape"  # tarfile.open's defaults

    def __init__(self, blocks: bytes, pax_headers: dict):
        self.fileobj, self.pax_headers, self.offset = io.BytesIO(blocks), pax_headers, 0


class _Unpacker:
    """Unpacks a tar into `dest` as the download writes it in (`write`), in the same thread: each
    piece received goes straight to its file with os.write (tarfile's stream copies each byte 4–5
    times); only a member's header is gathered, for tarfile to parse. Nothing is kept whole, on
    disk or in memory. A new `dest` is filled as a hidden folder beside it, renamed into place
    once whole (no per-file temporary names); an existing one gets each file under a temporary
    name, renamed when complete."""

    def __init__(self, dest: Path):
        self.dest, self.written = dest, []
        self.fresh = not dest.exists()
        self.folder = dest.with_name(f".{dest.name}.trainshed-part-{os.getpid()}") if self.fresh else dest
        self._root: Path | None = None
        self._folders: set[Path] = set()
        self._pax_headers: dict = {}
        self._header = bytearray()  # the blocks of the next member's header, as they arrive
        self._need = BLOCK  # header bytes still needed before it can be parsed
        self._left = 0  # bytes of the current member still to write
        self._pad = 0  # padding after it still to skip
        self._fd: int | None = None
        self._file: tuple[Path, Path, str] | None = None  # (being written, final path, rel path)
        self._ended = False

    # ---- the download's side
    def write(self, data) -> int:
        try:
            self._take(memoryview(data))
        except tarfile.TarError as exc:
            raise TrainshedError(f"The download is not a whole tar archive: {exc}") from exc
        except OSError as exc:
            raise TrainshedError(f"Cannot write into {self.dest}: {exc.strerror or exc}") from exc
        return len(data)

    def finish(self, *, raise_error: bool = True) -> list[str]:
        """The end of the download: returns the paths written, or raises when the tar is not
        whole (a new `dest` is then left uncreated; a file being written is removed)."""
        error = None
        if self._fd is not None or self._need != BLOCK or self._header or self._pad:
            error = TrainshedError("The download is not a whole tar archive: it ends in a member.")
            self._abandon()
        if self.fresh:
            if error is None and raise_error:
                try:
                    os.rename(self._folder(), self.dest)  # made here if the tar held no file
                except OSError as exc:
                    error = TrainshedError(f"Cannot write into {self.dest}: {exc.strerror or exc}")
            if error is not None or not raise_error:
                shutil.rmtree(self.folder, ignore_errors=True)
        if error is not None and raise_error:
            raise error
        return self.written

    # ---- the parsing
    def _folder(self) -> Path:
        if self._root is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._root = self.folder.resolve()
            self._folders.add(self._root)
        return self._root

    def _take(self, view: memoryview) -> None:
        while view:
            if self._left:  # the current member's bytes: straight to its file
                piece = view[:self._left]
                done = os.write(self._fd, piece)
                self._left -= done
                view = view[done:]
                if not self._left:
                    self._close()
            elif self._pad:
                skipped = min(self._pad, len(view))
                self._pad -= skipped
                view = view[skipped:]
            elif self._ended:
                return  # what follows the end blocks is not the archive's
            else:
                taken = min(self._need, len(view))
                self._header += view[:taken]
                self._need -= taken
                view = view[taken:]
                if not self._need:
                    self._header_complete()

    def _header_complete(self) -> None:
        last = self._header[-BLOCK:]
        if not any(last):  # a zero block: the end of the archive
            self._ended = True
            self._header.clear()
            self._need = BLOCK
            return
        info = tarfile.TarInfo.frombuf(bytes(last), tarfile.ENCODING, "surrogateescape")
        if info.type in _EXTENSIONS:  # its data, then the member's own header, are still to come
            self._need = info.size + -info.size % BLOCK + BLOCK
            if len(self._header) + self._need > _MAX_HEADER:
                raise TrainshedError("Refused a tar header of more than 1 MiB in the download.")
            return
        blocks = bytes(self._header)
        self._header.clear()
        self._need = BLOCK
        member = tarfile.TarInfo.fromtarfile(_HeaderGroup(blocks, self._pax_headers))
        self._start(member)

    def _start(self, member: tarfile.TarInfo) -> None:
        rel = _safe_member(member.name)
        if rel is None or member.issparse() or not (member.isreg() or member.isdir()):
            raise TrainshedError(f"Refused the unsafe entry {member.name!r} in the download.")
        root = self._folder()
        target = root / rel
        if not self.fresh:  # a folder of the user's: a link in it must not lead out
            target = target.resolve()
            if root not in target.parents:
                raise TrainshedError(f"Refused the unsafe entry {member.name!r} in the download.")
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
            self._folders.add(target)
            return
        if target.parent not in self._folders:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(target.parent)
        # our own hidden folder is renamed into place only once whole: its files need no
        # temporary names; in the user's folder a file is never a part of one
        part = target if self.fresh else target.with_name(f".{target.name}.trainshed-part")
        self._fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o666)
        self._file = (part, target, rel.as_posix())
        self._left, self._pad = member.size, -member.size % BLOCK
        if not self._left:
            self._close()

    def _close(self) -> None:
        part, target, rel = self._file
        os.close(self._fd)
        self._fd = self._file = None
        if part != target:
            os.replace(part, target)
        self.written.append(rel)

    def _abandon(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            part, target, _rel = self._file
            if part != target:
                part.unlink(missing_ok=True)
            self._fd = self._file = None


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
