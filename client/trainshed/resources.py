"""Datasets and models in the active project: `ts.datasets`, `ts.models` (the same methods).

    ds = await ts.datasets.create("cifar", path="./cifar")     # a folder: its files, with folders
    await ts.datasets.download(ds["id"], "./cifar-copy")        # streamed zip, unpacked
    await ts.datasets.create("imagenet", url="https://…/x.tar") # downloaded by the server

A folder is packed into a temporary zip (streamed from disk) that the server unpacks, so relative
paths are kept. One file is uploaded as it is (a single .zip/.tar(.gz) is unpacked by the server).
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

import httpx

from trainshed.client import Namespace, _seg
from trainshed.errors import TrainshedError
from trainshed.progress import Progress, counting

#: Uploads and downloads may take long: no limit on reading the answer of an upload.
TRANSFER_TIMEOUT = httpx.Timeout(30.0, read=None, write=None)


def _zip_folder(folder: Path, archive: Path) -> int:
    """Every regular file under `folder` (symbolic links are skipped, as the server does) into
    `archive`; returns how many."""
    count = 0
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1,
                         allowZip64=True) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_symlink() or not path.is_file():
                continue
            zf.write(path, path.relative_to(folder).as_posix())
            count += 1
    return count


def _safe_member(name: str) -> PurePosixPath | None:
    """The relative path a zip member may take inside the destination, or None to refuse it."""
    candidate = PurePosixPath(name.replace("\\", "/"))
    if candidate.is_absolute() or ".." in candidate.parts or not candidate.parts:
        return None
    if ":" in candidate.parts[0]:
        return None
    return candidate


def _unpack(archive, dest: Path) -> list[str]:
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    written = []
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            rel = _safe_member(info.filename)
            if rel is None:
                raise TrainshedError(f"Refused the unsafe path {info.filename!r} in the download.")
            target = (root / rel).resolve()
            if root not in target.parents:
                raise TrainshedError(f"Refused the unsafe path {info.filename!r} in the download.")
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                while data := src.read(256 * 1024):
                    out.write(data)
            written.append(rel.as_posix())
    return written


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
        """Stream the zip to a temporary file, then unpack it into the folder `dest` (created if
        needed; files already there with the same paths are replaced). Returns the paths written."""
        dest = Path(dest)
        if dest.exists() and not dest.is_dir():
            raise TrainshedError(f"{dest} exists and is not a folder.")
        try:
            with tempfile.TemporaryFile(prefix="trainshed-download-") as tmp:
                await self._client.download(f"{self._one(resource_id)}/download", tmp, progress=progress)
                tmp.seek(0)
                return _unpack(tmp, dest)
        except zipfile.BadZipFile as exc:
            raise TrainshedError(f"The download is not a readable zip: {exc}") from exc
        except OSError as exc:
            raise TrainshedError(f"Cannot write into {dest}: {exc.strerror or exc}") from exc

    async def download_file(self, resource_id: str, path: str, dest: str | os.PathLike,
                            progress: Progress | None = None) -> Path:
        """One file (its path inside the dataset/model) to the file `dest`."""
        dest = Path(dest)
        try:
            with open(dest, "wb") as out:
                await self._client.download(f"{self._one(resource_id)}/files/{_seg(path, safe='/@')}", out,
                                            progress=progress)
        except OSError as exc:
            raise TrainshedError(f"Cannot write {dest}: {exc.strerror or exc}") from exc
        return dest


class Datasets(_Resources):
    kind = "datasets"


class Models(_Resources):
    kind = "models"
