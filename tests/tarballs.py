"""Tar archives built in memory for the upload and download tests (server and client)."""

from __future__ import annotations

import io
import tarfile


def tar_bytes(files: dict[str, bytes], *, fmt=tarfile.PAX_FORMAT, folders=(), symlinks=None,
              global_pax=None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt, pax_headers=global_pax or {}) as tf:
        for name in folders:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            tf.addfile(info)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tf.addfile(info)
    return buf.getvalue()
