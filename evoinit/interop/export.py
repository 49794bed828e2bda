"""Export a setup as a short, runnable PyTorch or Keras snippet that builds the same network and
draws the same kind of start: the matching initializer calls and arguments in each framework's own
weight orientation. Neither framework is imported here; the snippets are text.

Orientation. evoinit and Keras store a kernel as ``(fan_in, fan_out)``; PyTorch's
``nn.Linear.weight`` is ``(out_features, in_features)`` and its init functions read
``fan_in = weight.size(1) = in_features``, so the fans — and every number computed from them —
are the same; only the matrix is transposed, which leaves each scheme's distribution unchanged
(orthogonal and identity included: both are defined along the shorter side).

Scale. evoinit's ``scale`` multiplies a scheme's std, limit, constant or gain. Keras's
``VarianceScaling(scale=...)`` multiplies the *variance*, so a scheme of variance factor f at
evoinit scale s becomes ``VarianceScaling(scale=f·s²)``; the fixed-width initializers take s
times their bounds/stddev/value, Orthogonal and Identity a gain of s·gain. In PyTorch a named
init that matches the scheme is kept and followed by ``weight.mul_(s)``, which scales a draw
exactly; where PyTorch lacks the scheme, the numbers are computed for each layer's shape.

Truncation. evoinit's ``lecun_normal``, ``glorot_normal`` and ``he_normal`` (and
``variance_scaling`` with a truncated normal) follow Keras 3: a normal of std
σ/0.87962566103423978 cut at ±2 of that std, so the realised std is σ. PyTorch's
``xavier_normal_`` and ``kaiming_normal_`` are untruncated, so those become
``trunc_normal_(w, std=s, a=-2*s, b=2*s)`` with s = σ/0.8796… computed per layer.
"""

from __future__ import annotations

import functools
import math

from evoinit.errors import UsageError
from evoinit.ga.genome import Genome
from evoinit.nn import activations as _activations
from evoinit.nn import initializers as _initializers
from evoinit.nn.training import TrainSettings

FRAMEWORKS = ("torch", "keras")
TASKS = ("classification", "regression")
#: The regression loss evoinit trains with, which the exports emit (not MSE: its mean over the k
#: outputs makes the step 2/k times evoinit's).
REGRESSION_LOSS = "evoinit's loss: ½·squared error summed over the outputs, mean over the rows"
TRUNCATED_STD = _initializers.TRUNCATED_STD


class _NotFinite(ValueError):
    """A number the snippet would print is inf or NaN: no Python literal holds it."""


def _num(x: float) -> str:
    """A float literal, the ``repr`` of ``x`` rounded to 15 significant digits (``8.0``, ``0.01``,
    ``0.568448151933143``, ``1e+200``) — or of ``x`` itself where that rounding would pass the
    largest float. inf and NaN have no literal (``inf`` in a snippet is a NameError): refused."""
    x = float(x)
    if not math.isfinite(x):
        raise _NotFinite(x)
    rounded = float(f"{x:.15g}")
    return repr(rounded if math.isfinite(rounded) else x)


def _finite(framework: str):
    """``to_torch``/``to_keras`` refuse, in one line, a setup whose numbers overflow: Keras's
    ``VarianceScaling`` takes factor·scale² (inf from scale ≈ 1e155 on), a truncated normal's cut
    is 2·std/0.8796 (inf near the largest floats)."""
    def wrap(fn):
        @functools.wraps(fn)
        def call(genome, *args, **kwargs):
            try:
                return fn(genome, *args, **kwargs)
            except _NotFinite as e:
                raise UsageError(f"cannot export {genome} for {framework}: a number of its start would be "
                                 f"{e.args[0]!r}, beyond the largest float; export a smaller scale") from None
        return call
    return wrap


# -- the schemes, as numbers of one layer ---------------------------------------------------------


def _resolve(genome, init_params) -> tuple[Genome, dict]:
    if isinstance(genome, str):
        genome = Genome.parse(genome)
    if not isinstance(genome, Genome):
        raise UsageError(f"genome must be a Genome or its string form, got {genome!r}")
    return genome, _initializers.parameters(genome.init, init_params)


def _check_sizes(n_in, n_out, task) -> None:
    for name, n in (("n_in", n_in), ("n_out", n_out)):
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise UsageError(f"{name} must be a positive integer, got {n!r}")
    if task not in TASKS:
        raise UsageError(f"task must be one of {', '.join(TASKS)}, got {task!r}")


def _header(genome: Genome, sizes: tuple, task: str, framework: str) -> list[str]:
    from evoinit import __version__

    shape = " -> ".join(map(str, sizes))
    return [f'"""{genome} — {shape} ({task}), exported by evoinit {__version__} for {framework}.',
            ""]


def _learning_rate(genome: Genome, settings) -> float:
    if genome.learning_rate is not None:
        return genome.learning_rate
    return (settings or TrainSettings()).learning_rate


# -- PyTorch --------------------------------------------------------------------------------------


def _torch_activation(act) -> str:
    fixed = {"linear": "nn.Identity()", "sigmoid": "nn.Sigmoid()", "tanh": "nn.Tanh()",
             "relu": "nn.ReLU()", "selu": "nn.SELU()", "softsign": "nn.Softsign()",
             "gelu": 'nn.GELU(approximate="tanh")'}
    if act.name == "leaky_relu":
        return f"nn.LeakyReLU(negative_slope={_num(act.param)})"
    if act.name == "elu":
        return f"nn.ELU(alpha={_num(act.param)})"
    return fixed[act.name]


def _torch_scaled(call: str, w: str, factor: float) -> list[str]:
    """``call`` then, unless ``factor`` is 1, ``w.mul_(factor)`` (scales the draw exactly)."""
    return [call] + ([] if factor == 1.0 else [f"{w}.mul_({_num(factor)})"])


def _torch_init(init: str, params: dict, s: float, w: str, fan_in: int, fan_out: int) -> list[str]:
    """Lines that draw weight ``w`` of a Linear(fan_in, fan_out) as evoinit's ``init`` ×``s``."""
    if s == 0.0 or init == "zeros" or (init == "constant" and float(params["value"]) == 0.0):
        return [f"nn.init.zeros_({w})"]
    if init == "ones":
        return [f"nn.init.ones_({w})"] if s == 1.0 else [f"nn.init.constant_({w}, {_num(s)})"]
    if init == "constant":
        return [f"nn.init.constant_({w}, {_num(s * float(params['value']))})"]
    if init == "uniform":
        return [f"nn.init.uniform_({w}, a={_num(s * float(params['minval']))}, "
                f"b={_num(s * float(params['maxval']))})"]
    if init == "normal":
        return [f"nn.init.normal_({w}, mean={_num(params['mean'])}, std={_num(s * float(params['stddev']))})"]
    if init == "truncated_normal":
        mean, sd = float(params["mean"]), s * float(params["stddev"])
        return [f"nn.init.trunc_normal_({w}, mean={_num(mean)}, std={_num(sd)}, a={_num(mean - 2 * sd)}, "
                f"b={_num(mean + 2 * sd)})"]
    if init == "orthogonal":
        return [f"nn.init.orthogonal_({w}, gain={_num(s * float(params['gain']))})"]
    if init == "identity":
        return _torch_scaled(f"nn.init.eye_({w})", w, s * float(params["gain"]))
    if init == "glorot_uniform":
        return [f"nn.init.xavier_uniform_({w}, gain={_num(s)})"]
    if init in ("he_uniform", "lecun_uniform"):
        gain = "relu" if init == "he_uniform" else "linear"
        return _torch_scaled(f'nn.init.kaiming_uniform_({w}, mode="fan_in", nonlinearity="{gain}")', w, s)
    if init in ("he_general_normal", "he_general_uniform"):
        kind = "normal" if init.endswith("normal") else "uniform"
        return _torch_scaled(f'nn.init.kaiming_{kind}_({w}, a={_num(params["a"])}, mode="{params["mode"]}", '
                             f'nonlinearity="leaky_relu")', w, s)
    # the rest is variance scaling PyTorch has no function for: numbers for this shape
    vs = _initializers.as_preset(init, params)
    std = s * math.sqrt(vs.factor / _initializers.fan((fan_in, fan_out), vs.mode))
    if vs.distribution == "truncated_normal":
        cut = std / TRUNCATED_STD
        return [f"# realised std {std:.6g}: a normal of std {cut:.6g} = {std:.6g}/0.8796…, cut at ±2 of it",
                f"nn.init.trunc_normal_({w}, std={_num(cut)}, a={_num(-2 * cut)}, b={_num(2 * cut)})"]
    if vs.distribution == "untruncated_normal":
        return [f"nn.init.normal_({w}, std={_num(std)})"]
    limit = math.sqrt(3.0) * std
    return [f"nn.init.uniform_({w}, a={_num(-limit)}, b={_num(limit)})"]


@_finite("PyTorch")
def to_torch(genome, n_in: int, n_out: int, task: str = "classification", *,
             init_params: dict | None = None, settings=None) -> str:
    """A PyTorch snippet building ``genome`` for ``n_in`` features and ``n_out`` outputs
    (classes for classification) with evoinit's start: the init per Linear layer, biases 0.

    ``init_params`` overrides the scheme's parameters (e.g. ``{"a": 0.2}`` for
    ``he_general_normal``); ``settings`` (a ``TrainSettings``) fills in the optimizer line.
    """
    _check_sizes(n_in, n_out, task)
    genome, params = _resolve(genome, init_params)
    act = _activations.get(genome.activation)
    sizes = (n_in, *genome.hidden, n_out)
    scheme = _initializers.get(genome.init)
    lines = _header(genome, sizes, task, "PyTorch") + [
        "nn.Linear.weight is (out_features, in_features); torch reads fan_in = in_features, the fan_in",
        "of evoinit's (fan_in, fan_out) kernels, so fans and numbers match. Biases start at 0.",
        f"evoinit's {genome.init}: {scheme.formula}, ×{genome.scale:g} on its std/limit/constant/gain.",
        '"""',
        "import torch",
        "from torch import nn",
        "",
        "model = nn.Sequential(",
    ]
    linear_at = []
    for l, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear_at.append(2 * l)
        last = l == len(sizes) - 2
        lines.append(f"    nn.Linear({fan_in}, {fan_out}),{'  # outputs' if last else ''}")
        if not last:
            lines.append(f"    {_torch_activation(act)},")
    lines += [")", "", "with torch.no_grad():"]
    for at, fan_in, fan_out in zip(linear_at, sizes[:-1], sizes[1:]):
        w = f"model[{at}].weight"
        lines.append(f"    # Linear({fan_in}, {fan_out})")
        lines += [f"    {line}" for line in _torch_init(genome.init, params, genome.scale, w, fan_in, fan_out)]
        lines.append(f"    nn.init.zeros_(model[{at}].bias)")
    lr = _learning_rate(genome, settings)
    if task == "classification":
        lines += ["", "loss_fn = nn.CrossEntropyLoss()  # softmax cross-entropy on the logits, as evoinit trains"]
    else:
        lines += ["", "", "def loss_fn(pred, target):", f'    """{REGRESSION_LOSS}"""',
                  "    return 0.5 * ((pred - target) ** 2).sum(1).mean()", "", ""]
    if settings is not None and settings.optimizer == "adam":
        lines.append(f"optimizer = torch.optim.Adam(model.parameters(), lr={_num(lr)}, "
                     f"betas=({_num(settings.beta1)}, {_num(settings.beta2)}), eps={_num(settings.epsilon)})")
    else:
        momentum = (settings or TrainSettings()).momentum
        nesterov = ", nesterov=True" if settings is not None and settings.nesterov else ""
        lines.append(f"optimizer = torch.optim.SGD(model.parameters(), lr={_num(lr)}, "
                     f"momentum={_num(momentum)}{nesterov})")
    return "\n".join(lines) + "\n"


# -- Keras ----------------------------------------------------------------------------------------


def _keras_init(init: str, params: dict, s: float) -> str:
    """A Keras 3 initializer expression drawing a ``(fan_in, fan_out)`` kernel as ``init`` ×``s``;
    none depends on the layer's shape, so one expression serves every layer."""
    k = "initializers."
    if s == 0.0 or init == "zeros" or (init == "constant" and float(params["value"]) == 0.0):
        return k + "Zeros()"
    if init == "ones":
        return k + ("Ones()" if s == 1.0 else f"Constant(value={_num(s)})")
    if init == "constant":
        return k + f"Constant(value={_num(s * float(params['value']))})"
    if init == "uniform":
        return k + f"RandomUniform(minval={_num(s * float(params['minval']))}, maxval={_num(s * float(params['maxval']))})"
    if init in ("normal", "truncated_normal"):
        name = "RandomNormal" if init == "normal" else "TruncatedNormal"
        return k + f"{name}(mean={_num(params['mean'])}, stddev={_num(s * float(params['stddev']))})"
    if init in ("orthogonal", "identity"):
        return k + f"{init.capitalize()}(gain={_num(s * float(params['gain']))})"
    vs = _initializers.as_preset(init, params)
    if vs.keras is not None and s == 1.0:
        return k + f"{vs.keras}()"
    return k + (f'VarianceScaling(scale={_num(vs.factor * s * s)}, mode="{vs.mode}", '
                f'distribution="{vs.distribution}")')


def _keras_activation(act) -> tuple[str | None, str | None]:
    """(Dense ``activation=`` argument, or a layer to follow the Dense) for ``act``."""
    if act.name == "leaky_relu":
        return None, f"layers.LeakyReLU(negative_slope={_num(act.param)})"
    if act.name == "elu" and act.param != 1.0:
        return None, f"layers.ELU(alpha={_num(act.param)})"
    if act.name == "gelu":
        return "gelu_tanh", None
    return f'"{act.name}"', None


@_finite("Keras")
def to_keras(genome, n_in: int, n_out: int, task: str = "classification", *,
             init_params: dict | None = None, settings=None) -> str:
    """A Keras 3 snippet building ``genome`` for ``n_in`` features and ``n_out`` outputs with
    evoinit's start: one fresh initializer object per Dense layer, biases 0.

    ``init_params`` and ``settings`` as in :func:`to_torch`.
    """
    _check_sizes(n_in, n_out, task)
    genome, params = _resolve(genome, init_params)
    act = _activations.get(genome.activation)
    sizes = (n_in, *genome.hidden, n_out)
    scheme = _initializers.get(genome.init)
    kernel = _keras_init(genome.init, params, genome.scale)
    dense_act, extra = _keras_activation(act)
    lines = _header(genome, sizes, task, "Keras 3") + [
        "Dense kernels are (fan_in, fan_out), evoinit's own orientation. Biases start at 0.",
        f"evoinit's {genome.init}: {scheme.formula}, ×{genome.scale:g} on its std/limit/constant/gain.",
    ]
    if "VarianceScaling" in kernel:
        lines.append("VarianceScaling's scale multiplies the variance: the scheme's factor × scale².")
    lines += [
        "Each layer gets a fresh initializer object, unseeded: one object reused, or given a fixed",
        "seed, returns the same weights on every call.",
        '"""',
        "import keras",
        "from keras import initializers, layers",
        "",
        "",
        "def kernel_init():",
        f'    """{genome.init} ×{genome.scale:g}, a new object for each layer."""',
        f"    return {kernel}",
        "",
    ]
    if dense_act == "gelu_tanh":
        lines += ["", "def gelu_tanh(x):",
                  '    """GELU in its tanh form, as evoinit computes it (Keras\'s "gelu" is the erf form)."""',
                  "    return keras.activations.gelu(x, approximate=True)", ""]
    lines += ["", "model = keras.Sequential([", f"    keras.Input(shape=({n_in},)),"]
    for l, width in enumerate(sizes[1:]):
        last = l == len(sizes) - 2
        activation = "" if last or dense_act is None else f", activation={dense_act}"
        lines.append(f'    layers.Dense({width}{activation}, kernel_initializer=kernel_init(), '
                     f'bias_initializer="zeros"),{"  # outputs" if last else ""}')
        if extra and not last:
            lines.append(f"    {extra},")
    lines.append("])")
    lr = _learning_rate(genome, settings)
    if settings is not None and settings.optimizer == "adam":
        optimizer = (f"keras.optimizers.Adam(learning_rate={_num(lr)}, beta_1={_num(settings.beta1)}, "
                     f"beta_2={_num(settings.beta2)}, epsilon={_num(settings.epsilon)})")
    else:
        momentum = (settings or TrainSettings()).momentum
        nesterov = ", nesterov=True" if settings is not None and settings.nesterov else ""
        optimizer = f"keras.optimizers.SGD(learning_rate={_num(lr)}, momentum={_num(momentum)}{nesterov})"
    loss, definition = _keras_loss(task)
    lines += definition
    lines.append(f"model.compile(optimizer={optimizer},\n              loss={loss})")
    return "\n".join(lines) + "\n"


def _keras_loss(task: str) -> tuple[str, list]:
    """(the compile argument, the lines defining it): evoinit's loss for the task."""
    if task == "classification":
        return 'keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]', []
    return "evoinit_loss", [
        "", "", "def evoinit_loss(y_true, y_pred):",
        '    """½·squared error summed over the outputs of each row; Keras takes the mean over',
        '    the rows, which makes it evoinit\'s loss (not "mse": its mean over the outputs)."""',
        "    return 0.5 * keras.ops.sum(keras.ops.square(y_pred - y_true), axis=-1)", "", ""]


_EXPORTERS = {"torch": to_torch, "keras": to_keras}


def export(genome, n_in: int, n_out: int, task: str = "classification", *, to: str, **kw) -> str:
    """The snippet for framework ``to`` ("torch" or "keras"); see :func:`to_torch`."""
    key = str(to).strip().lower()
    if key not in _EXPORTERS:
        raise UsageError(f"--to must be one of {', '.join(FRAMEWORKS)}, got {to!r}")
    return _EXPORTERS[key](genome, n_in, n_out, task, **kw)


# -- reading a run folder -------------------------------------------------------------------------


