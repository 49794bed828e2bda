"""Export a search's kept network, trained weights included: PyTorch or Keras code that builds the
network, loads its weights from an .npz of plain arrays beside it (``np.load(allow_pickle=False)``;
neither framework reads pickle here) and ``predict``s raw rows with the run's input scaling.

For PyTorch the .npz is a ``state_dict`` (``"0.weight"`` ``(out, in)``, ``"0.bias"``, …), turned
into tensors with ``torch.from_numpy``; for Keras it holds the kernels ``W0, b0, …`` in Keras's
own orientation, given to ``set_weights``. Both also hold the scaling: ``input.mean``,
``input.scale`` (and ``output.mean``, ``output.scale`` for regression). Neither framework is
imported here; the code is text.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from evoinit.errors import UsageError
from evoinit.interop.export import FRAMEWORKS, _keras_activation, _torch_activation
from evoinit.nn import activations as _activations
from evoinit.runfolder import networks as _networks
from evoinit.runfolder.files import atomic_write


def _scaling(net) -> dict:
    d = {"input.mean": net.x_mean, "input.scale": net.x_scale}
    return d if net.task == "classification" else d | {"output.mean": net.y_mean, "output.scale": net.y_scale}


def torch_arrays(net) -> dict:
    """The network as a PyTorch ``state_dict`` of plain arrays (``nn.Linear`` at 0, 2, 4, …)."""
    d = {}
    for l, (W, b) in enumerate(zip(net.weights, net.biases)):
        d[f"{2 * l}.weight"], d[f"{2 * l}.bias"] = np.ascontiguousarray(np.asarray(W).T), np.asarray(b)
    return d | _scaling(net)


def keras_arrays(net) -> dict:
    """The network's kernels and biases as Keras's ``get_weights`` lists them: W0, b0, W1, …"""
    d = {}
    for l, (W, b) in enumerate(zip(net.weights, net.biases)):
        d[f"W{l}"], d[f"b{l}"] = np.asarray(W), np.asarray(b)
    return d | _scaling(net)


def _header(net, weights_name: str, framework: str) -> list[str]:
    from evoinit import __version__

    shape = " -> ".join(map(str, net.sizes))
    what = ("logits; the class is CLASSES[argmax]" if net.task == "classification"
            else "values in the targets' units")
    return [f'"""{net.genome} — {shape} ({net.task}), trained by evoinit {__version__}, exported for {framework}.',
            "",
            f"Hall-of-fame entry {net.rank}, seed key {list(net.key)} under run seed {net.run_seed}.",
            f"Validation error {net.val_error:.6g}"
            + ("" if net.test_error is None else f", test error {net.test_error:.6g}") + ".",
            "Weights: the .npz WEIGHTS names, beside this file: plain arrays, np.load(allow_pickle=False).",
            f"predict(X) takes raw rows (n, {net.n_in}) as the run's data held them and returns {what}.",
            '"""']


def _tail(net, forward: list[str]) -> list[str]:
    classes = [repr(list(net.class_names))] if net.task == "classification" else []
    lines = ["", "", "def predict(X):", '    """The network\'s output for raw rows X (n, n_in)."""',
             '    X = (np.asarray(X, np.float64) - ARRAYS["input.mean"]) / ARRAYS["input.scale"]',
             *forward]
    if net.task == "regression":
        lines.append('    out = out * ARRAYS["output.scale"] + ARRAYS["output.mean"]')
    lines.append("    return out")
    if classes:
        lines += ["", "", f"CLASSES = {classes[0]}"]
    return lines


def to_torch_trained(net, weights_name: str) -> str:
    act = _activations.get(net.activation)
    lines = _header(net, weights_name, "PyTorch") + [
        "import pathlib", "", "import numpy as np", "import torch", "from torch import nn", "",
        f"WEIGHTS = pathlib.Path(__file__).with_name({weights_name!r})",
        f"DTYPE = torch.{np.asarray(net.weights[0]).dtype.name}", "", "model = nn.Sequential("]
    for l, (fan_in, fan_out) in enumerate(zip(net.sizes[:-1], net.sizes[1:])):
        last = l == len(net.sizes) - 2
        lines.append(f"    nn.Linear({fan_in}, {fan_out}),{'  # outputs' if last else ''}")
        if not last:
            lines.append(f"    {_torch_activation(act)},")
    lines += [").to(DTYPE)", "with np.load(WEIGHTS, allow_pickle=False) as f:",
              "    ARRAYS = {k: f[k] for k in f.files}",
              "model.load_state_dict({k: torch.from_numpy(v) for k, v in ARRAYS.items() if k[0].isdigit()})",
              "model.eval()"]
    lines += _tail(net, ["    with torch.no_grad():",
                         "        out = model(torch.from_numpy(X).to(DTYPE)).double().numpy()"])
    return "\n".join(lines) + "\n"


def to_keras_trained(net, weights_name: str) -> str:
    dense_act, extra = _keras_activation(_activations.get(net.activation))
    lines = _header(net, weights_name, "Keras 3") + [
        "import pathlib", "", "import keras", "import numpy as np", "from keras import layers", "",
        f"WEIGHTS = pathlib.Path(__file__).with_name({weights_name!r})", ""]
    if dense_act == "gelu_tanh":
        lines += ["", "def gelu_tanh(x):", '    """GELU in its tanh form, as evoinit computes it."""',
                  "    return keras.activations.gelu(x, approximate=True)", "", ""]
    lines += ["model = keras.Sequential([", f"    keras.Input(shape=({net.n_in},)),"]
    for l, width in enumerate(net.sizes[1:]):
        last = l == len(net.sizes) - 2
        activation = "" if last or dense_act is None else f", activation={dense_act}"
        lines.append(f"    layers.Dense({width}{activation}, dtype={np.asarray(net.weights[0]).dtype.name!r}),"
                     + ("  # outputs" if last else ""))
        if extra and not last:
            lines.append(f"    {extra},")
    n = len(net.weights)
    lines += ["])", "with np.load(WEIGHTS, allow_pickle=False) as f:", "    ARRAYS = {k: f[k] for k in f.files}",
              f'model.set_weights([ARRAYS[f"{{p}}{{l}}"] for l in range({n}) for p in ("W", "b")])']
    lines += _tail(net, ["    out = np.asarray(model.predict(X, verbose=0), np.float64)"])
    return "\n".join(lines) + "\n"


def export_trained(run, rank: int = 1, *, to: str, weights_name: str) -> tuple[str, dict]:
    """(code, arrays of its weights file) for kept network ``rank`` of run folder ``run``; the
    code reads ``weights_name`` beside itself. A run without kept networks is a RunFolderError."""
    key = str(to).strip().lower()
    if key not in FRAMEWORKS:
        raise UsageError(f"--to must be one of {', '.join(FRAMEWORKS)}, got {to!r}")
    net = _networks.read(run, rank)
    if key == "torch":
        return to_torch_trained(net, weights_name), torch_arrays(net)
    return to_keras_trained(net, weights_name), keras_arrays(net)


def write(run, rank: int = 1, *, to: str, out) -> Path:
    """``evoinit export RUN --trained``: the code to ``out`` (a .py file), its weights to ``out``
    with suffix .npz (returned)."""
    out = Path(out) if out is not None else None
    if out is None or out.suffix != ".py":
        raise UsageError("--trained writes code and its weights: give --out FILE.py (the weights go "
                         "beside it, as FILE.npz)")
    weights = out.with_suffix(".npz")
    code, arrays = export_trained(run, rank, to=to, weights_name=weights.name)
    atomic_write(weights, _networks.npz_bytes(arrays))
    atomic_write(out, code)
    return weights
