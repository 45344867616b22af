"""Models saved whole and loaded back: JSON architecture plus safetensors weights, no code
run, unknown types refused, every shape checked first, hostile files refused; weights
written by PyTorch load too."""

import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest
from safetensors.numpy import save as safetensors_bytes

import gorgon as G
import gorgon_layers as nn
from gorgon_layers import saving


@nn.register
class Block(nn.Module):
    def __init__(self, width: int, hidden: int = 4):
        super().__init__()
        self.inner = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width))
        self.norm = nn.LayerNorm(width)

    def forward(self, x):
        return self.norm(x + self.inner(x))


def model():
    nn.seed(1)
    return nn.Sequential(nn.Linear(3, 6), Block(6, hidden=5), nn.BatchNorm1d(6), nn.Dropout(0.2),
                         nn.Linear(6, 2, dtype=np.float32))


def test_a_saved_model_loads_back_whole_and_predicts_the_same(tmp_path):
    m = model()
    x = np.random.default_rng(0).standard_normal((7, 3)).astype(np.float32)
    m.save(tmp_path / "m.gorgon")
    loaded = nn.load(tmp_path / "m.gorgon")
    assert type(loaded[1]) is Block and loaded[1].inner[0].out_features == 5
    np.testing.assert_array_equal(loaded.predict(x), m.predict(x))
    for name, value in m.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[name], value)
    assert all(p.flags.writeable for p in loaded.parameters())


def test_the_file_is_safetensors_with_the_architecture_as_json(tmp_path):
    model().save(tmp_path / "m.gorgon")
    raw = (tmp_path / "m.gorgon").read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    architecture = json.loads(header["__metadata__"]["architecture"])
    assert architecture["type"] == "Sequential"
    assert architecture["args"][1] == {"module": {"type": "Block", "args": [6], "kwargs": {"hidden": 5}}}
    assert architecture["args"][4]["module"]["kwargs"] == {"dtype": {"dtype": "float32"}}
    assert header["0.weight"]["shape"] == [6, 3]


def test_loading_in_a_fresh_process_predicts_the_same(tmp_path):
    m = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.GlobalAvgPool2d(), nn.Linear(2, 3))
    x = np.random.default_rng(0).standard_normal((5, 1, 4, 4)).astype(np.float32)
    m.save(tmp_path / "m.gorgon")
    np.save(tmp_path / "x.npy", x)
    code = ("import numpy as np, gorgon_layers as nn, sys; m = nn.load(sys.argv[1]); "
            "np.save(sys.argv[2], m.predict(np.load(sys.argv[3])))")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "m.gorgon"), str(tmp_path / "y.npy"),
                    str(tmp_path / "x.npy")], check=True)
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), m.predict(x))


def test_an_unregistered_module_cannot_be_saved(tmp_path):
    class Unknown(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(G.ArgumentValueError, match="Unknown is not registered.*@nn.register"):
        nn.Sequential(Unknown()).save(tmp_path / "m.gorgon")
    assert not list(tmp_path.iterdir())


def write(path, architecture, tensors, **metadata):
    meta = {"format": saving.FORMAT, "version": saving.VERSION, "architecture": architecture, **metadata}
    path.write_bytes(safetensors_bytes(tensors, metadata=meta))
    return path


def test_an_unknown_module_type_is_refused_by_name_and_runs_no_code(tmp_path, monkeypatch):
    called = []
    monkeypatch.setattr(os, "system", lambda *a: called.append(a))
    text = json.dumps({"type": "system", "args": ["echo hacked"], "kwargs": {}})
    with pytest.raises(nn.ModelFileError, match="unknown module type 'system'"):
        nn.load(write(tmp_path / "m", text, {"w": np.zeros(1)}))
    assert not called


def test_a_file_that_does_not_fit_its_architecture_lists_every_problem(tmp_path):
    text = json.dumps(saving.architecture(nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))))
    tensors = {"0.weight": np.zeros((2, 4), np.float32), "1.weight": np.zeros(2, np.float32),
               "1.bias": np.zeros(2, np.float32), "1.running_mean": np.zeros(2, np.float32),
               "1.running_var": np.zeros(2, np.int32), "1.num_batches_tracked": np.zeros((), np.int64),
               "2.weight": np.zeros(1, np.float32)}
    with pytest.raises(nn.ModelFileError) as error:
        nn.load(write(tmp_path / "m", text, tensors))
    message = str(error.value)
    assert "missing entries ['0.bias']" in message and "unexpected entries ['2.weight']" in message
    assert "'0.weight' has shape (2, 4), the architecture needs (2, 3)" in message
    assert "'1.running_var' has dtype int32" in message


def test_a_huge_shape_in_the_architecture_is_refused_without_allocating(tmp_path):
    text = json.dumps({"type": "Linear", "args": [2 ** 40, 2], "kwargs": {}})
    with pytest.raises(nn.ModelFileError, match=r"in_features must lie in \[1, 2\*\*31\)"):
        nn.load(write(tmp_path / "m", text, {"weight": np.zeros((2, 1))}))
    big = json.dumps({"type": "Linear", "args": [2 ** 30, 2 ** 30], "kwargs": {}})  # 4 EiB if allocated
    with pytest.raises(nn.ModelFileError, match=r"'weight' has shape \(2, 1\), the architecture needs "
                                                r"\(1073741824, 1073741824\)"):
        nn.load(write(tmp_path / "m", big, {"weight": np.zeros((2, 1)), "bias": np.zeros(2 ** 30 // 2 ** 30)}))


def test_a_huge_shape_in_the_safetensors_header_is_refused(tmp_path):
    good = tmp_path / "good"
    nn.Linear(2, 2).save(good)
    raw = good.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    header["weight"]["shape"] = [2 ** 40, 2]
    text = json.dumps(header).encode()
    (tmp_path / "bad").write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + length:])
    with pytest.raises(nn.ModelFileError, match="not a readable safetensors file"):
        nn.load(tmp_path / "bad")


@pytest.mark.parametrize("damage", ["truncated", "header length", "garbage header", "empty", "not json"])
def test_corrupt_files_are_refused_clearly(tmp_path, damage):
    path = tmp_path / "m"
    nn.Linear(4, 4).save(path)
    raw = path.read_bytes()
    damaged = {"truncated": raw[:len(raw) - 10], "header length": struct.pack("<Q", 2 ** 62) + raw[8:],
               "garbage header": raw[:8] + b"\xff" * (len(raw) - 8), "empty": b"",
               "not json": raw[:8] + b"{" * 20 + raw[28:]}[damage]
    path.write_bytes(damaged)
    with pytest.raises(nn.ModelFileError):
        nn.load(path)


def test_a_json_bomb_is_refused(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(nn.ModelFileError, match="nested deeper than 64"):
        nn.load(write(tmp_path / "deep", deep, {"w": np.zeros(1)}))
    wide = json.dumps({"type": "Sequential", "args": [0] * 600_000, "kwargs": {}})
    with pytest.raises(nn.ModelFileError, match="exceeds the limit"):
        nn.load(write(tmp_path / "wide", wide, {"w": np.zeros(1)}))
    many = json.dumps({"type": "Sequential", "args": [{"module": {"type": "ReLU", "args": [], "kwargs": {}}}]
                       * 10_001, "kwargs": {}})
    with pytest.raises(nn.ModelFileError, match="more than 10000 modules"):
        nn.load(write(tmp_path / "many", many, {"w": np.zeros(1)}))


def test_weights_only_files_and_bad_architectures(tmp_path):
    path = tmp_path / "w"
    path.write_bytes(safetensors_bytes({"weight": np.zeros((2, 2))}))
    with pytest.raises(nn.ModelFileError, match="use nn.load_weights"):
        nn.load(path)
    for text, pattern in [("{not json", "not valid JSON"), ('{"type": "Linear"}', "not {type, args, kwargs}"),
                          ('{"type": "Linear", "args": [{"evil": 1}], "kwargs": {}}', "unexpected object"),
                          ('{"type": "Linear", "args": ["3", 2], "kwargs": {}}', "cannot build Linear")]:
        with pytest.raises(nn.ModelFileError, match=pattern):
            nn.load(write(tmp_path / "a", text, {"w": np.zeros(1)}))
    with pytest.raises(nn.ModelFileError, match="version"):
        nn.load(write(tmp_path / "v", "{}", {"w": np.zeros(1)}, version="99"))


def test_a_failed_save_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.gorgon"
    nn.Linear(2, 2).save(path)
    before = path.read_bytes()

    def broken(*args):
        raise OSError("disk full")

    monkeypatch.setattr(saving.os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        nn.Linear(3, 3).save(path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["m.gorgon"]


def test_load_weights_from_a_dict_into_a_model():
    m = nn.Linear(2, 1)
    weights = nn.load_weights({"weight": [[1.0, 2.0]], "bias": np.array([3.0])}, model=m)
    assert sorted(weights) == ["bias", "weight"]
    np.testing.assert_array_equal(m.weight, [[1.0, 2.0]])


def test_a_pytorch_safetensors_file_loads_and_predicts_the_same(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                                 torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(16, 3))
    with torch.no_grad():
        theirs(torch.randn(8, 1, 4, 4))  # move the running statistics
    theirs.train()
    theirs(torch.randn(8, 1, 4, 4))
    theirs.eval()
    save_file(theirs.state_dict(), str(tmp_path / "torch.safetensors"))
    ours = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(16, 3))
    nn.load_weights(tmp_path / "torch.safetensors", model=ours)
    x = np.random.default_rng(0).standard_normal((10, 1, 4, 4)).astype(np.float32)
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours.predict(x, batch_size=3), expected, rtol=1e-5, atol=1e-6)
    assert int(ours[1].num_batches_tracked) == 2


def test_a_sequential_is_saved_with_its_current_children(tmp_path):
    m = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    setattr(m, "1", nn.Tanh())  # replaced in place: the order stays
    m.save(tmp_path / "m")
    loaded = nn.load(tmp_path / "m")
    assert [type(c).__name__ for c in loaded] == ["Linear", "Tanh", "Linear"]
    x = np.ones((2, 2), np.float32)
    np.testing.assert_array_equal(loaded.predict(x), m.predict(x))
