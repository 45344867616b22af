"""ONNX both ways: export the digits CNN (the main job's model) and run it in
onnxruntime; import a CNN exported from PyTorch, fine-tune it on the digits with
G.grad and Adam, and export the fine-tuned model again.

Needs gorgon_onnx; onnxruntime and torch are optional (their steps say when skipped).
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

import numpy as np

import digits_cnn
import gorgon as G
import gorgon_onnx


def onnxruntime_logits(path: Path, images: np.ndarray) -> np.ndarray | None:
    """The model's logits from onnxruntime, or None when it is not installed."""
    try:
        import onnxruntime
    except ImportError:
        return None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: images})[0]


def export_digits(folder: Path, epochs: int = 3, limit: int | None = None) -> dict:
    """Train the digits CNN, export its logits over the test set and compare them with
    onnxruntime's."""
    model, _, accuracy = digits_cnn.train(epochs=epochs, limit=limit, quiet=True)
    _, _, test_x, test_y = digits_cnn.load_digits()
    g = G.Graph().eval()
    x = G.tensor(g, G.Float32, test_x.shape, name="images", value=test_x)
    shared = [G.tensor(g, p.dtype, p.shape, name=p.name, value=p.value) for p in model.params]
    logits = digits_cnn.forward(x, shared)
    machine = G.TapeMachine(g)
    machine.run_all()
    ours = np.array(logits.value)
    path = folder / "digits_cnn.onnx"
    gorgon_onnx.export(logits, path, inputs=[x])
    theirs = onnxruntime_logits(path, test_x)
    result = {"path": path, "gorgon_accuracy": accuracy, "onnxruntime": theirs is not None}
    if theirs is not None:
        result["max_difference"] = float(np.abs(theirs - ours).max())
        result["same_predictions"] = bool(np.array_equal(theirs.argmax(1), ours.argmax(1)))
    return result


def pytorch_cnn(folder: Path, train_images: np.ndarray, train_labels: np.ndarray) -> Path | None:
    """A small CNN trained briefly in PyTorch (300 images, one pass) and exported with a
    dynamic batch axis; None when torch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                              torch.nn.Flatten(), torch.nn.Linear(128, 10))
    optimiser = torch.optim.SGD(net.parameters(), lr=0.1)
    for start in range(0, 300, 30):
        images = torch.from_numpy(train_images[start:start + 30])
        labels = torch.from_numpy(train_labels[start:start + 30])
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(net(images), labels).backward()
        optimiser.step()
    path = folder / "torch_cnn.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net.eval(), (torch.from_numpy(train_images[:1]),), str(path), dynamo=False,
                          opset_version=17, input_names=["images"], output_names=["logits"],
                          dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})
    return path


def accuracy_of(model: gorgon_onnx.OnnxModel, images: np.ndarray, labels: np.ndarray) -> float:
    logits = model.run({"images": images})["logits"]
    return float(np.mean(logits.argmax(1) == labels))


def fine_tune(path: Path, folder: Path, epochs: int = 3, batch: int = 32, limit: int | None = None) -> dict:
    """Import the PyTorch model twice (a training graph of `batch` images, a test graph of
    the test set) sharing parameter arrays, fine-tune with Adam, export again."""
    train_x, train_y, test_x, test_y = digits_cnn.load_digits()
    trained = gorgon_onnx.load(path, shapes={"images": (batch, 1, 8, 8)})
    tested = gorgon_onnx.load(path, shapes={"images": test_x.shape})
    for name, node in trained.parameters.items():
        G.let(tested.parameters[name], node.value)  # the very same arrays
    before = accuracy_of(tested, test_x, test_y)
    labels = G.vector(trained.graph, G.Int64, batch, name="labels")
    loss = G.cross_entropy(trained.outputs["logits"], labels)
    params = list(trained.parameters.values())
    G.grad(loss, *params)
    machine = G.TapeMachine(trained.graph)
    solver = G.solvers.Adam(params=params, learning_rate=3e-3)
    rng = np.random.default_rng(0)
    steps = len(train_y) // batch if limit is None else limit
    for _ in range(epochs):
        order = rng.permutation(len(train_y))
        for step in range(steps):
            chosen = order[step * batch:(step + 1) * batch]
            G.let(trained.inputs["images"], train_x[chosen])
            G.let(labels, train_y[chosen])
            machine.run_all()
            solver.step()
    after = accuracy_of(tested, test_x, test_y)
    again = folder / "fine_tuned.onnx"
    gorgon_onnx.export(tested.outputs["logits"], again, inputs=[tested.inputs["images"]])
    theirs = onnxruntime_logits(again, test_x)
    result = {"before": before, "after": after, "path": again, "onnxruntime": theirs is not None}
    if theirs is not None:
        result["onnxruntime_accuracy"] = float(np.mean(theirs.argmax(1) == test_y))
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3, help="training epochs of each step")
    parser.add_argument("--limit", type=int, help="batches per epoch (default: all; for quick runs)")
    parser.add_argument("--folder", type=Path, help="where to write the .onnx files (default: a temporary one)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.folder or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        exported = export_digits(folder, args.epochs, args.limit)
        print(f"digits CNN: test accuracy {exported['gorgon_accuracy']:.1%}, exported to {exported['path'].name}")
        if exported["onnxruntime"]:
            print(f"  onnxruntime: largest logit difference {exported['max_difference']:.2e}, same predictions: "
                  f"{exported['same_predictions']}")
        else:
            print("  onnxruntime is not installed: skipped running the exported model")
        train_x, train_y, _, _ = digits_cnn.load_digits()
        path = pytorch_cnn(folder, train_x, train_y)
        if path is None:
            print("PyTorch is not installed: skipped importing a PyTorch model")
            return
        tuned = fine_tune(path, folder, args.epochs, limit=args.limit)
        print(f"PyTorch CNN imported: test accuracy {tuned['before']:.1%}, after fine-tuning in gorgon "
              f"{tuned['after']:.1%}; exported again to {tuned['path'].name}")
        if tuned["onnxruntime"]:
            print(f"  onnxruntime on the fine-tuned model: test accuracy {tuned['onnxruntime_accuracy']:.1%}")


if __name__ == "__main__":
    main()
