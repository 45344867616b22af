"""Checkpoint files that are not what they claim: a `.npy` array, a member whose header
declares 8 TB, a 1 MB archive whose unexpected entry inflates to 1 GB, members that are
not arrays or appear twice. Each is a GorgonError naming the file and the member, raised
from the headers before any data is read; the parameters are untouched."""

import io
import os
import subprocess
import sys
import zipfile
import zlib

import numpy as np
import pytest

import gorgon as G
from gorgon_ops_nn.checkpoint import load, read

GIB = 1 << 30


def params():
    g = G.Graph()
    return [G.vector(g, G.Float64, 4, name="w", value=np.arange(4.0)),
            G.scalar(g, G.Float64, name="b", value=np.array(0.5))]


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def lying_member(shape: tuple, data: bytes) -> bytes:
    """A .npy member whose header declares `shape` (float64) but holds `data`."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return buffer.getvalue() + data


def archive(path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as out:
        for name, data in members.items():
            out.writestr(name, data)


def unchanged(nodes) -> bool:
    return nodes[0].value.tolist() == [0.0, 1.0, 2.0, 3.0] and float(nodes[1].value) == 0.5


def test_a_npy_file_is_refused_as_not_a_checkpoint(tmp_path):
    path = tmp_path / "weights.npy"
    np.save(path, np.zeros(4))
    nodes = params()
    with pytest.raises(G.GorgonError, match=r"weights.npy': it is a .npy file holding one array, not a "
                                            r"checkpoint \(a .npz archive written by gorgon_ops_nn.save\)"):
        load(path, nodes)
    assert unchanged(nodes)


def test_a_member_declaring_8_tb_is_refused_from_its_header(tmp_path):
    path = tmp_path / "huge.npz"
    archive(path, {"param/w.npy": lying_member((1 << 40,), bytes(32)),
                   "param/b.npy": npy_bytes(np.array(1.0))})
    nodes = params()
    message = (r"member 'param/w' declares shape \(1099511627776,\) float64 \(8796093022208 bytes\) "
               r"but holds 32 bytes")
    with pytest.raises(G.GorgonError, match=message):
        load(path, nodes)
    with pytest.raises(G.GorgonError, match=message):
        read(path)
    assert unchanged(nodes)


def test_a_member_of_another_shape_is_refused_before_its_data_is_read(tmp_path, monkeypatch):
    path = tmp_path / "other.npz"
    archive(path, {"param/w.npy": npy_bytes(np.zeros(5)), "param/b.npy": npy_bytes(np.array(1.0))})
    reads = []
    real = np.lib.format.read_array
    monkeypatch.setattr(np.lib.format, "read_array", lambda *a, **k: reads.append(1) or real(*a, **k))
    nodes = params()
    with pytest.raises(G.GorgonError, match=r"parameter 'w' is \(5,\) float64 in the file, \(4,\) float64"):
        load(path, nodes)
    assert reads == [] and unchanged(nodes)


@pytest.mark.parametrize("members, message", [
    ({"param/w.npy": npy_bytes(np.zeros(4)), "notes.txt": b"hello"}, "member 'notes.txt' is not a .npy array"),
    ({"param/w.npy": npy_bytes(np.array(["a", "b"], dtype="S1"))}, "has dtype |S1, expected a number array"),
    ({"param/w.npy": b"\x93NUMPY\x09\x00junk"}, r"member 'param/w' has .npy format version \(9, 0\)"),
    ({"param/w.npy": npy_bytes(np.zeros(4)), "stray.npy": npy_bytes(np.zeros(1)),
      "param/b.npy": npy_bytes(np.array(1.0))}, r"entries that are no parameter or solver state: \['stray'\]"),
], ids=["not an array", "bytes dtype", "bad header", "stray entry"])
def test_members_that_are_not_parameters_are_refused(tmp_path, members, message):
    path = tmp_path / "odd.npz"
    archive(path, members)
    nodes = params()
    with pytest.raises(G.GorgonError, match=message):
        load(path, nodes)
    assert unchanged(nodes)


def test_a_member_twice_is_refused(tmp_path):
    path = tmp_path / "twice.npz"
    with pytest.warns(UserWarning, match="Duplicate name"):
        archive_twice = zipfile.ZipFile(path, "w")
        archive_twice.writestr("param/w.npy", npy_bytes(np.zeros(4)))
        archive_twice.writestr("param/w.npy", npy_bytes(np.ones(4)))
        archive_twice.close()
    with pytest.raises(G.GorgonError, match="member 'param/w' appears twice"):
        load(path, params())


CHUNK = bytes(16 << 20)


class ZerosDeflater:
    """Stands in for zipfile's compressor of one member: deflates the member's first
    write (its .npy header) for real, then returns, for each chunk of zeros, the deflate
    of a chunk of zeros, which after a full flush is the same bytes every time: 1 GiB of
    zeros is deflated once per 16 MiB instead of 64 times."""

    def __init__(self):
        self.real = zlib.compressobj(9, zlib.DEFLATED, -15)
        self.started = False
        zeros = zlib.compressobj(9, zlib.DEFLATED, -15)
        self.zeros = zeros.compress(CHUNK) + zeros.flush(zlib.Z_FULL_FLUSH)

    def compress(self, data: bytes) -> bytes:
        if not self.started:
            self.started = True
            return self.real.compress(data) + self.real.flush(zlib.Z_FULL_FLUSH)
        assert data is CHUNK
        return self.zeros

    def flush(self) -> bytes:
        return self.real.flush()


def add_bomb(out: zipfile.ZipFile, name: str) -> None:
    """Add member `name`: a float64 array of 1 GiB of zeros, deflated to about 1 MB."""
    with out.open(name, "w", force_zip64=True) as member:
        member._compressor = ZerosDeflater()
        member.write(lying_member((GIB // 8,), b""))
        for _ in range(GIB // len(CHUNK)):
            member.write(CHUNK)


def bomb_file(path, entry: str) -> str:
    """A checkpoint of about 1 MB: real parameters w and b, and `entry`, which inflates to 1 GiB."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        out.writestr("param/w.npy", npy_bytes(np.arange(4.0)))
        out.writestr("param/b.npy", npy_bytes(np.array(0.5)))
        add_bomb(out, entry)
    assert os.path.getsize(path) < 1_100_000
    with zipfile.ZipFile(path) as check, check.open(entry) as member:
        assert check.getinfo(entry).file_size > GIB
        member.read(128)
        assert member.read(1 << 20) == bytes(1 << 20)  # it does inflate to zeros
    return str(path)


RSS = '''
import resource, sys
import numpy as np
import gorgon as G
from gorgon_ops_nn.checkpoint import load
g = G.Graph()
w = G.vector(g, G.Float64, 4, name="w", value=np.zeros(4))
b = G.scalar(g, G.Float64, name="b", value=np.array(0.0))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    load(sys.argv[1], [w, b])
    print("loaded")
except G.GorgonError as exc:
    print("refused:", exc)
print("grew_kib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
'''


def test_a_small_file_that_inflates_to_a_gigabyte_is_refused_without_growing(tmp_path):
    bomb = bomb_file(tmp_path / "bomb.npz", "junk.npy")
    done = subprocess.run([sys.executable, "-c", RSS, bomb], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    outcome, grew = done.stdout.splitlines()
    assert outcome == (f"refused: cannot load {bomb!r}: the file holds entries that are no parameter or "
                       "solver state: ['junk']")
    assert int(grew.split()[1]) < 64 * 1024, grew


def test_a_solver_entry_that_inflates_is_never_read_by_a_parameters_only_load(tmp_path):
    path = bomb_file(tmp_path / "with_state.npz", "solver/m/0.npy")
    done = subprocess.run([sys.executable, "-c", RSS, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    outcome, grew = done.stdout.splitlines()
    assert outcome == "loaded" and int(grew.split()[1]) < 64 * 1024, done.stdout


def test_a_solver_name_that_is_not_a_short_string_is_refused(tmp_path):
    path = tmp_path / "named.npz"
    archive(path, {"param/w.npy": npy_bytes(np.arange(4.0)), "param/b.npy": npy_bytes(np.array(0.5)),
                   "solver_name.npy": npy_bytes(np.zeros(3)), "solver/steps.npy": npy_bytes(np.array(1))})
    nodes = params()
    solver = G.solvers.SGD(params=nodes)
    with pytest.raises(G.GorgonError, match=r"the state of solver <\(3,\) float64 array>, not of SGD"):
        load(path, nodes, solver)
    assert unchanged(nodes) and solver.steps == 0


def test_format_2_headers_are_read_and_corrupt_data_is_a_clear_error(tmp_path):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.arange(4.0), version=(2, 0))
    path = tmp_path / "v2.npz"
    archive(path, {"param/w.npy": buffer.getvalue(), "param/b.npy": npy_bytes(np.array(0.25))})
    assert read(path)["param/w"].tolist() == [0.0, 1.0, 2.0, 3.0]
    path = tmp_path / "corrupt.npz"
    noise = np.random.default_rng(0).standard_normal(20_000)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("param/w.npy", npy_bytes(noise))
    data = bytearray(path.read_bytes())
    info = zipfile.ZipFile(path).getinfo("param/w.npy")
    data[info.header_offset + 30 + len(info.filename) + info.compress_size - 100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(G.GorgonError, match=r"corrupt.npz': member 'param/w': "):
        read(path)
