"""Files of datasets and models, through Django's storage API (`default_storage`).

`location_for(project)` is THE place that decides where new data of a project is stored.
Everything else here is mechanics: safe names, unpacking archives without trusting them, writing
a tree of files under a prefix, deleting it again, and streaming a zip of it.
"""

from __future__ import annotations

import os
import posixpath
import stat
import tarfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from django.http import StreamingHttpResponse
from django.template.defaultfilters import filesizeformat
from django.utils.text import slugify

from compute.relay import AgentStorage
from compute.services import node_relay_secret, storage_node_for

CHUNK = 256 * 1024
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
TAR_TYPE = "application/x-tar"


class LocalStorage(FileSystemStorage):
    """The platform's storage on this server's disk (the default backend): Django's
    FileSystemStorage, plus `save_new` for the files of a new resource."""

    def save_new(self, name: str, content) -> int:
        """Write `content` (read to its end) as the file `name`, which must not exist yet; returns
        the bytes written. For a resource's fresh prefix: none of `save`'s free-name lookups
        (a stat per file, each costly on a folder of 10,000), one create that fails if it exists.
        A member of a tar stream hands over views of the body as received (`views()`): written
        as they are, never copied first."""
        path = self.path(name)  # Django's safe join: refuses a name outside the storage
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(path, flags, 0o666)
        except FileNotFoundError:  # its folder is new: made once, by its first file
            os.makedirs(os.path.dirname(path), mode=self.directory_permissions_mode or 0o777,
                        exist_ok=True)
            fd = os.open(path, flags, 0o666)
        count = 0
        views = getattr(content, "views", None)
        pieces = views() if views is not None else iter(lambda: content.read(CHUNK), b"")
        try:
            try:
                if self.file_permissions_mode is not None:
                    os.fchmod(fd, self.file_permissions_mode)
                for data in pieces:
                    _write_all(fd, data)
                    count += len(data)
            finally:
                os.close(fd)
        except BaseException:
            os.unlink(path)
            raise
        return count


def _write_all(fd: int, data) -> None:
    """os.write until all of `data` is written (a write may take less than it is given)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def location_for(project):
    """Where new datasets and models of `project` are stored: None for the platform's storage, or
    the owner's node when the project is owned-compute-only (ValidationError when the owner has
    no online node with storage)."""
    return storage_node_for(project=project)


def storage_for(node=None) -> Storage:
    """The Django storage holding files located on `node` (None: the platform's storage): the
    node's agent keeps them, through its file relay; none are kept on this server's disk."""
    if node is None:
        return default_storage
    return AgentStorage(node.agent_url, node_relay_secret(node=node), name=node.name)


def max_bytes() -> int:
    return settings.TRAINSHED_MAX_UPLOAD_BYTES


def upload_refusal(request) -> tuple[int, str] | None:
    """Why an upload's body is refused before anything reads it, as (HTTP status, message): no
    length (a chunked body, which Django would read as empty), or a Content-Length over the
    upload limit (a MiB of multipart overhead allowed for). None when it may be read."""
    raw = request.META.get("CONTENT_LENGTH") or ""
    if not raw:
        if request.META.get("HTTP_TRANSFER_ENCODING"):
            return 411, "Send the upload with its length (Content-Length): chunked uploads are not accepted."
        return None
    try:
        length = int(raw)
    except ValueError:
        return None  # Django refuses a malformed length when it reads the body
    if length <= max_bytes() + 1024 * 1024:
        return None
    return 413, f"The upload is {human_size(length)}; the limit is {human_size(max_bytes())}."


def human_size(n: int) -> str:
    """Django's `filesizeformat` (as the pages show sizes), with a plain space for API and CLI text."""
    return filesizeformat(n).replace("\xa0", " ")


# ---- names -----------------------------------------------------------------------------------


def safe_relpath(name: str) -> str:
    """A relative POSIX path that stays inside the resource, or a ValidationError naming it."""
    raw = name or ""
    candidate = raw.replace("\\", "/")
    bad = (
        not candidate.strip()
        or candidate.startswith("/")
        or (len(candidate) > 1 and candidate[1] == ":")  # C:\...
        or "\x00" in candidate
        or any(part == ".." for part in candidate.split("/"))
    )
    if bad:
        raise ValidationError({"files": f"Refused the unsafe file name “{raw}”."})
    clean = posixpath.normpath(candidate)
    if clean in ("", ".") or clean.startswith("../"):
        raise ValidationError({"files": f"Refused the unsafe file name “{raw}”."})
    # Every file system we store on refuses a longer name (ENAMETOOLONG), and the path column too.
    too_long = next((part for part in clean.split("/") if len(part.encode()) > NAME_MAX_BYTES), None)
    if too_long is not None or len(clean) > PATH_MAX_CHARS:
        shown = (too_long or clean)[:60]
        raise ValidationError({"files": f"The file name “{shown}…” is too long: a name has at most "
                                        f"{NAME_MAX_BYTES} bytes, a path {PATH_MAX_CHARS} characters."})
    return clean


NAME_MAX_BYTES = 255
PATH_MAX_CHARS = 1000


def is_archive(filename: str) -> bool:
    return filename.lower().endswith(ARCHIVE_SUFFIXES)


# ---- what to store: a list of (relative path, opener) ----------------------------------------


@dataclass
class Entry:
    path: str
    size: int
    open: callable  # () -> binary file object
    # True when `size` is what was received (Django counted the upload as it arrived): the file is
    # handed to the storage as it is, so a temporary upload is moved into place, not copied.
    exact: bool = False


def entries_from_uploads(files: Iterable) -> list[Entry]:
    """Browser uploads as they are (each UploadedFile keeps its own name)."""
    out = []
    for f in files:
        out.append(Entry(path=safe_relpath(Path(f.name).name), size=f.size, open=lambda f=f: f,
                         exact=True))
    return out


def _check_total(entries: list[Entry]) -> None:
    total = sum(e.size for e in entries)
    if total > max_bytes():
        raise ValidationError(
            {"files": f"The upload is {human_size(total)}; the limit is {human_size(max_bytes())}."}
        )
    names: set[str] = set()
    folders: set[str] = set()
    for entry in entries:
        _check_new(entry.path, names, folders)


def entries_from_archive(fileobj: IO[bytes], filename: str) -> list[Entry]:
    """Every regular file of a zip or tar archive, after checking *all* entries first:
    absolute paths, `..`, symlinks, hard links and devices refuse the whole archive."""
    try:
        if filename.lower().endswith(".zip"):
            return _zip_entries(fileobj)
        return _tar_entries(fileobj)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise ValidationError({"files": f"“{filename}” is not a readable archive ({exc})."}) from exc


def _zip_entries(fileobj) -> list[Entry]:
    archive = zipfile.ZipFile(fileobj)
    entries = []
    for info in archive.infolist():
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise ValidationError({"files": f"The archive holds a symbolic link, “{info.filename}”."})
        path = safe_relpath(info.filename)
        if info.is_dir():
            continue
        entries.append(Entry(path=path, size=info.file_size,
                             open=lambda info=info: archive.open(info)))
    return entries


def _tar_file_path(member: tarfile.TarInfo) -> str | None:
    """A tar member's safe path if it is a file, None for a folder; links and special files refused."""
    if member.issym() or member.islnk():
        raise ValidationError({"files": f"The archive holds a link, “{member.name}”."})
    path = safe_relpath(member.name)
    if member.isdir():
        return None
    if not member.isfile():
        raise ValidationError({"files": f"The archive holds a special file, “{member.name}”."})
    return path


def _tar_entries(fileobj) -> list[Entry]:
    # Stays open while the entries are read (their openers read from it); closed with `fileobj`.
    archive = tarfile.open(fileobj=fileobj, mode="r:*")  # noqa: SIM115
    entries = []
    for member in archive.getmembers():
        path = _tar_file_path(member)
        if path is None:
            continue
        entries.append(Entry(path=path, size=member.size,
                             open=lambda m=member: archive.extractfile(m)))
    return entries


def entries_from_folder(folder: Path) -> list[Entry]:
    """Every regular file under `folder` (symlinks are not followed)."""
    folder = Path(folder)
    out = []
    for p in sorted(folder.rglob("*")):
        if p.is_symlink() or not p.is_file():
            continue
        out.append(Entry(path=safe_relpath(p.relative_to(folder).as_posix()), size=p.stat().st_size,
                         open=lambda p=p: p.open("rb")))
    return out


# ---- writing, reading, deleting -------------------------------------------------------------


def write_tree(
    prefix: str, entries: list[Entry], store: Storage = default_storage
) -> list[tuple[str, int]]:
    """Write every entry under `prefix`; returns [(path, bytes written)]. Anything written is
    deleted again if an entry fails (the caller deletes the prefix if anything later goes wrong).
    Sizes are counted as written, not as claimed."""
    _check_total(entries)
    written: list[tuple[str, int]] = []
    total = 0
    try:
        for entry in entries:
            name = prefix + entry.path
            if entry.exact:  # a temporary upload: the storage moves it into place
                _save(store, name, entry.open(), entry.path)
                size = entry.size
            else:
                reader = _CountingReader(entry.open(), path=entry.path, claimed=entry.size,
                                         limit=max_bytes() - total)
                size = _save_counted(store, name, reader)
            total += size
            written.append((entry.path, size))
    except BaseException:
        # e.g. an archive member longer than it claimed: a node's relay may already hold the
        # part sent before the lie showed
        delete_tree(prefix, store)
        raise
    _refuse_empty(written, total)
    return written


def _refuse_empty(written: list[tuple[str, int]], total: int) -> None:
    if not written:
        raise ValidationError({"files": "The upload is empty: choose at least one file."})
    if total == 0:
        raise ValidationError({"files": "The upload is empty: every file has zero bytes."})


def _save(store: Storage, name: str, content, path: str) -> None:
    saved = store.save(name, content)
    if saved != name:  # the storage renamed it: the prefix was not fresh
        store.delete(saved)
        raise ValidationError({"files": f"Could not store “{path}”."})


def _save_counted(store: Storage, name: str, reader: _CountingReader) -> int:
    """`reader` stored as `name` under a fresh prefix; returns the bytes read (and written)."""
    save_new = getattr(store, "save_new", None)
    if save_new is not None:
        save_new(name, reader)
    else:
        _save(store, name, File(reader, name=posixpath.basename(reader.path)), reader.path)
    return reader.count


READ_SIZE = 1024 * 1024  # a tar stream's body is read in pieces this large (memory stays flat)


class _Body:
    """A request body holding an uncompressed tar, read in large pieces and handed out as views
    of them: a member's bytes go from the piece the server received straight to its file (tarfile
    copies each byte 4 times through its own buffers). Counts what arrived, and turns a broken
    connection into a refusal that says so (not a server error)."""

    def __init__(self, stream, length: int | None):
        self.stream, self.length = stream, length
        self.count = 0  # bytes received
        self.used = 0  # bytes handed out (`tell`: where tarfile's header parsing is)
        self._piece = memoryview(b"")

    def _fill(self) -> bool:
        want = READ_SIZE if self.length is None else min(READ_SIZE, self.length - self.count)
        if want <= 0:
            return False
        try:
            data = self.stream.read(want)
        except OSError as exc:  # e.g. the client went away in the middle of the body
            raise self.cut(exc) from exc
        self.count += len(data)
        self._piece = memoryview(data)
        return bool(data)

    def view(self, size: int) -> memoryview:
        """Up to `size` of the next bytes, without copying them; empty at the end of the body."""
        if not self._piece and not self._fill():
            return memoryview(b"")
        out, self._piece = self._piece[:size], self._piece[size:]
        self.used += len(out)
        return out

    # ---- what `tarfile.TarInfo.fromtarfile` reads a member's header (PAX, GNU long names) with
    def read(self, size: int) -> bytes:
        if size > READ_SIZE:  # a header claiming more: refused before it could fill the memory
            raise ValidationError({"files": "The upload is not a tar archive (a header is too large)."})
        parts = []
        while size and (part := self.view(size)):
            parts.append(part)
            size -= len(part)
        return b"".join(parts)

    def tell(self) -> int:
        return self.used

    def skip(self, size: int) -> None:
        while size and (part := self.view(size)):
            size -= len(part)
        if size:
            raise self.cut()

    def cut(self, why=None) -> ValidationError:
        of = f" of {self.length:,}" if self.length is not None else ""
        reason = f" ({why})" if why else ""
        return ValidationError({"files": f"The upload was cut off after {self.count:,}{of} bytes"
                                         f"{reason}: nothing was stored."})

    def drain(self) -> None:
        """Read the rest (the tar's closing blocks); a body shorter than announced was cut."""
        while self.view(READ_SIZE):
            pass
        if self.length is not None and self.count < self.length:
            raise self.cut()


class _Headers:
    """The part of a TarFile that `TarInfo.fromtarfile` uses to read the next member's header,
    its PAX and GNU extensions included, from the body: tarfile parses the headers, its stream
    never sees the members' bytes."""

    encoding, errors = tarfile.ENCODING, "surrogateescape"  # tarfile.open's defaults

    def __init__(self, body: _Body):
        self.fileobj, self.pax_headers, self.offset = body, {}, 0

    def next(self) -> tarfile.TarInfo | None:
        """The next member (its bytes are next in the body), or None at the end of the archive."""
        try:
            return tarfile.TarInfo.fromtarfile(self)
        except (tarfile.EOFHeaderError, tarfile.EmptyHeaderError):  # the end blocks, or no more bytes
            return None


class _Member:
    """The `size` bytes of the member that comes next in `body`, for `LocalStorage.save_new`
    (`views`: as received) or any other storage (`read`: bytes). A body that ends first was cut."""

    def __init__(self, body: _Body, size: int):
        self.body, self.left, self.size = body, size, size

    def views(self):
        while self.left:
            view = self.body.view(self.left)
            if not view:
                raise self.body.cut()
            self.left -= len(view)
            yield view

    def read(self, size: int = -1) -> bytes:
        if not self.left:
            return b""
        view = self.body.view(min(self.left, size if size and size > 0 else CHUNK))
        if not view:
            raise self.body.cut()
        self.left -= len(view)
        return bytes(view)

    def chunks(self, chunk_size=CHUNK):
        while data := self.read(chunk_size):
            yield data

    def __iter__(self):
        return self.chunks()


def write_tar_stream(prefix: str, stream, store: Storage = default_storage, *,
                     length: int | None = None) -> list[tuple[str, int]]:
    """Every regular file of an uncompressed tar read from `stream` (a request body of `length`
    bytes) as it arrives, each written once under `prefix`: nothing is spooled. Each member is
    checked before its bytes are written (a safe relative path, a regular file, new in the upload,
    within the upload limit); on any refusal, a cut body or an error, everything written is
    deleted again. Returns [(path, bytes written)]."""
    written: list[tuple[str, int]] = []
    names: set[str] = set()
    folders: set[str] = set()
    total = 0
    body = _Body(stream, length)
    headers = _Headers(body)
    save_new = getattr(store, "save_new", None)
    try:
        try:
            while (member := headers.next()) is not None:
                if member.issparse():
                    raise ValidationError({"files": f"The archive holds a special file, “{member.name}”."})
                path = _tar_file_path(member)
                if path is None:  # a folder: no bytes follow its header
                    continue
                _check_new(path, names, folders)
                if total + member.size > max_bytes():
                    raise ValidationError({"files": f"The upload is larger than the limit of "
                                                    f"{human_size(max_bytes())}."})
                content = _Member(body, member.size)
                if save_new is not None:
                    save_new(prefix + path, content)
                else:
                    _save(store, prefix + path, File(content, name=posixpath.basename(path)), path)
                body.skip(_tar_padding(member.size))
                total += member.size
                written.append((path, member.size))
            body.drain()
        except tarfile.TarError as exc:  # a header that is not one
            raise (body.cut(exc) if length is not None and body.count < length else ValidationError(
                {"files": f"The upload is not a whole tar archive ({exc})."})) from exc
        _refuse_empty(written, total)
    except BaseException:
        delete_tree(prefix, store)
        raise
    return written


def _check_new(path: str, names: set[str], folders: set[str]) -> None:
    """`path` is neither a file already in the upload, nor a folder of one, nor inside one (a
    file "x" and a file "x/y": "x" cannot be a file and a folder at once)."""
    if path in names:
        raise ValidationError({"files": f"The file “{path}” appears twice."})
    if path in folders:
        raise ValidationError({"files": f"“{path}” is both a file and a folder in the upload."})
    parent = posixpath.dirname(path)
    while parent and parent not in folders:
        if parent in names:
            raise ValidationError({"files": f"“{parent}” is both a file and a folder in the upload."})
        folders.add(parent)
        parent = posixpath.dirname(parent)
    names.add(path)


class _CountingReader:
    """Wraps a binary stream whose size is only claimed (an archive's member, a download): counts
    the bytes read, stops past `limit` and at any difference from the claimed size (archives may
    lie). The claimed size is shown to the storage, so a node's relay streams it without spooling
    it first; a lie is caught here, as it is read."""

    def __init__(self, raw, *, path: str, claimed: int, limit: int):
        self.raw, self.path, self.claimed, self.limit, self.count = raw, path, claimed, limit, 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size if size and size > 0 else CHUNK)
        self.count += len(data)
        if self.count > self.limit:
            raise ValidationError(
                {"files": f"The upload is larger than the limit of {human_size(max_bytes())}."}
            )
        if self.count > self.claimed or (not data and self.count < self.claimed):
            raise ValidationError({"files": f"“{self.path}” holds {'more' if data else 'fewer'} bytes "
                                            f"than its archive says ({self.claimed})."})
        return data

    def chunks(self, chunk_size=CHUNK):
        while data := self.read(chunk_size):
            yield data

    def seek(self, *args):
        if hasattr(self.raw, "seek"):
            return self.raw.seek(*args)
        return 0

    def tell(self):
        return self.count

    @property
    def size(self):
        return self.claimed

    def __iter__(self):
        return self.chunks()


def delete_tree(prefix: str, store: Storage = default_storage) -> None:
    """Delete everything under `prefix` (best effort; a missing prefix is fine)."""
    try:
        dirs, files = store.listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        return
    for f in files:
        store.delete(prefix + f)
    for d in dirs:
        delete_tree(f"{prefix}{d}/", store)
    # Local disk keeps empty folders behind; remove them when the backend is a filesystem.
    path = getattr(store, "path", None)
    if path is not None:
        try:
            folder = Path(store.path(prefix))
            if folder.is_dir():
                folder.rmdir()
            # tidy the now-empty parents up to MEDIA_ROOT
            root = Path(store.location).resolve()
            parent = folder.parent
            while parent.resolve() != root and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
        except (NotImplementedError, OSError):
            pass


def open_file(prefix: str, path: str, store: Storage = default_storage):
    return store.open(prefix + path, "rb")


class _Sink:
    """A write-only, unseekable buffer for zipfile: `drain()` hands out what was written."""

    def __init__(self):
        self._parts: list[bytes] = []

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def _read_exactly(prefix: str, path: str, size: int, store: Storage) -> Iterator[bytes]:
    """The `size` bytes of a stored file, as its row records them: the archive's length was
    announced from the rows, so a file that changed size cuts the response (an error to the
    client) rather than sending a body whose length is not what was announced."""
    left = size
    with open_file(prefix, path, store) as src:
        while left and (data := src.read(min(CHUNK, left))):
            left -= len(data)
            yield data
    if left:
        raise OSError(f"“{path}” is {left} bytes shorter in storage than its row says ({size}).")


def stream_zip(prefix: str, files: list[tuple[str, int]],
               store: Storage = default_storage) -> Iterator[bytes]:
    """A zip of `files` ([(path, size)]), generated chunk by chunk (never whole in memory)."""
    sink = _Sink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for path, size in files:
            with zf.open(path, mode="w", force_zip64=True) as dst:
                for data in _read_exactly(prefix, path, size, store):
                    dst.write(data)
                    if chunk := sink.drain():
                        yield chunk
            if chunk := sink.drain():
                yield chunk
    if chunk := sink.drain():
        yield chunk


def zip_length(files: list[tuple[str, int]]) -> int:
    """The exact length of `stream_zip(files)`, from the names and sizes alone, as Python's
    zipfile lays it out for an unseekable output (stored, forced zip64 local headers, a zip64 data
    descriptor after each file). It is sent as Content-Length, so a cut download is an error."""
    limit = zipfile.ZIP64_LIMIT
    offset = central = 0
    for path, size in files:
        name = len(zipfile.ZipInfo(path)._encodeFilenameFlags()[0])
        header_offset = offset
        offset += 30 + name + 20 + size + 24  # local header + zip64 extra, data, descriptor
        extra = (2 if size > limit else 0) + (1 if header_offset > limit else 0)
        central += 46 + name + (4 + 8 * extra if extra else 0)
    zip64 = len(files) > zipfile.ZIP_FILECOUNT_LIMIT or offset > limit or central > limit
    return offset + central + (56 + 20 if zip64 else 0) + 22


def zip_download(resource, files: list[tuple[str, int]]) -> StreamingHttpResponse:
    """The `files` ([(path, size)]) of a dataset or model as one zip attachment, streamed as it is
    written (the web page and the API answer the same download), with its length announced."""
    response = StreamingHttpResponse(
        stream_zip(resource.storage_prefix, files, resource.file_storage), content_type="application/zip",
    )
    response["Content-Length"] = zip_length(files)
    filename = f"{slugify(resource.name) or resource.kind[:-1]}.zip"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _tar_header(path: str, size: int, mtime: int) -> bytes:
    info = tarfile.TarInfo(path)
    info.size, info.mtime, info.mode = size, mtime, 0o644
    return info.tobuf(format=tarfile.PAX_FORMAT)  # PAX: long and non-ASCII names, files over 8 GiB


def _tar_padding(size: int) -> int:
    return -size % tarfile.BLOCKSIZE


TAR_END = b"\0" * (2 * tarfile.BLOCKSIZE)


def tar_members(files: list[tuple[str, int]], mtime: int) -> list[tuple[str, int, bytes]]:
    """[(path, size, tar header)] for `stream_tar`: each header made once, for the announced
    length and for the stream."""
    return [(path, size, _tar_header(path, size, mtime)) for path, size in files]


def stream_tar(prefix: str, members: list[tuple[str, int, bytes]],
               store: Storage = default_storage) -> Iterator[bytes]:
    """An uncompressed tar of `members` (from `tar_members`): what the CLI unpacks as it arrives
    (each member's size is in its header, unlike a streamed zip's), so it needs no temporary copy."""
    def pieces():
        for path, size, header in members:
            yield header
            yield from _read_exactly(prefix, path, size, store)
            if pad := _tar_padding(size):
                yield b"\0" * pad
        yield TAR_END

    # Small files make small pieces: sent in CHUNK-sized batches, not one write each.
    batch = bytearray()
    for piece in pieces():
        if not batch and len(piece) >= CHUNK:
            yield piece
            continue
        batch += piece
        if len(batch) >= CHUNK:
            yield bytes(batch)
            batch.clear()
    if batch:
        yield bytes(batch)


def tar_download(resource, files: list[tuple[str, int]]) -> StreamingHttpResponse:
    """The `files` of a dataset or model as one tar, with its exact length and its file count
    (`X-Trainshed-Files`), so the client can tell a cut download from a whole one."""
    members = tar_members(files, int(resource.created_at.timestamp()))
    response = StreamingHttpResponse(
        stream_tar(resource.storage_prefix, members, resource.file_storage),
        content_type="application/x-tar",
    )
    response["Content-Length"] = sum(len(header) + size + _tar_padding(size)
                                     for _path, size, header in members) + len(TAR_END)
    response["X-Trainshed-Files"] = len(files)
    filename = f"{slugify(resource.name) or resource.kind[:-1]}.tar"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
