"""Reading `.npz` checkpoint archives without trusting them: from one open file handle,
every member's name, shape, dtype and size is read from its header (a few hundred bytes)
and can be checked before any of its data is, and nothing is ever unpickled.

A member whose header declares more (or fewer) bytes than the archive holds for it, a
member that is not an array, an object array, or a file that is a lone `.npy` array or no
zip at all is a GorgonError naming the file and the member.
"""

from __future__ import annotations

import math
import os
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from gorgon.errors import GorgonError

NPY_MAGIC = b"\x93NUMPY"
KINDS = "biufU"  # booleans, integers, floats, and the solver's name
READ_ERRORS = (ValueError, zipfile.BadZipFile, zlib.error, EOFError)


class ArchiveError(GorgonError, ValueError):
    """A checkpoint file that cannot be read: not an archive, or a member that lies."""


@dataclass(frozen=True)
class Member:
    """One array of the archive, as its header declares it."""

    key: str
    info: zipfile.ZipInfo
    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def nbytes(self) -> int:
        """The bytes the header declares (exact: Python integers never overflow)."""
        return math.prod(self.shape) * self.dtype.itemsize

    def placeholder(self) -> np.ndarray:
        """An array of this member's shape and dtype that holds no memory (for checks)."""
        return np.broadcast_to(np.zeros((), self.dtype), self.shape)


class Archive:
    """The members of an open `.npz` archive; `array(key)` reads one member's data."""

    def __init__(self, label: str, archive: zipfile.ZipFile):
        self.label = label
        self._zip = archive
        self.members: dict[str, Member] = {}
        for info in archive.infolist():
            try:
                member = self._header(info)
            except ArchiveError:
                raise
            except READ_ERRORS as exc:
                raise self.error(f"member {info.filename!r}: {exc}") from exc
            if member.key in self.members:
                raise self.error(f"member {member.key!r} appears twice")
            self.members[member.key] = member

    def error(self, message: str) -> ArchiveError:
        return ArchiveError(f"cannot read parameters from {self.label}: {message}")

    def _header(self, info: zipfile.ZipInfo) -> Member:
        if not info.filename.endswith(".npy"):
            raise self.error(f"member {info.filename!r} is not a .npy array")
        key = info.filename[:-len(".npy")]
        with self._zip.open(info) as stream:
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
            else:
                raise self.error(f"member {key!r} has .npy format version {version}, "
                                 "expected 1.0 or 2.0")
            header = stream.tell()
        dtype = np.dtype(dtype)
        if dtype.hasobject:
            raise self.error(f"member {key!r} holds Python objects: Object arrays cannot be "
                             "loaded when allow_pickle=False, and gorgon never unpickles")
        if dtype.kind not in KINDS or dtype.fields is not None:
            raise self.error(f"member {key!r} has dtype {dtype}, expected a number array")
        member = Member(key, info, tuple(int(d) for d in shape), dtype)
        held = info.file_size - header
        if member.nbytes != held:
            raise self.error(f"member {key!r} declares shape {member.shape} {dtype} "
                             f"({member.nbytes} bytes) but holds {held} bytes")
        return member

    def array(self, key: str) -> np.ndarray:
        """The data of member `key` (its size was checked against its header)."""
        try:
            with self._zip.open(self.members[key].info) as stream:
                return np.lib.format.read_array(stream, allow_pickle=False)
        except READ_ERRORS as exc:
            raise self.error(f"member {key!r}: {exc}") from exc


@contextmanager
def open_archive(path: str | os.PathLike) -> Iterator[Archive]:
    """The archive at `path`, opened once: a file replaced meanwhile by another process is
    read whole, as it was when opened."""
    label = repr(os.fspath(path))
    with open(path, "rb") as file:
        with _zip(label, file) as archive:
            yield Archive(label, archive)


def _zip(label: str, file: BinaryIO) -> zipfile.ZipFile:
    start = file.read(len(NPY_MAGIC))
    file.seek(0)
    if start == NPY_MAGIC:
        raise ArchiveError(f"cannot read parameters from {label}: it is a .npy file holding one "
                           "array, not a checkpoint (a .npz archive written by gorgon_ops_nn.save)")
    try:
        return zipfile.ZipFile(file)
    except READ_ERRORS as exc:
        raise ArchiveError(f"cannot read parameters from {label}: not a .npz checkpoint "
                           f"archive ({exc})") from exc
