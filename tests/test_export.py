"""Export to PyTorch and Keras: for a table of setups covering every init scheme, the snippets
compile, name the right initializer with the right arguments, and — run against small NumPy
stand-ins that follow each framework's documented semantics (weight orientation, fan rules,
truncation) — draw weights with the distribution evoinit draws. Plus the `evoinit export` CLI."""

import json
import math
import os
import re
import subprocess
import sys
import types

import numpy as np
import pytest

from evoinit.errors import RunFolderError, UsageError
from evoinit.ga.genome import Genome
from evoinit.interop import export, runsetup
from evoinit.nn import initializers
from evoinit.nn.presets import PRESETS
from evoinit.nn.training import TrainSettings

T = initializers.TRUNCATED_STD

# (genome, init params) — every scheme family, each with a scale other than 1, several activations
CASES = [
    ("200 tanh glorot_uniform ×1.5", {}),
    ("200 sigmoid glorot_normal ×0.5", {}),
    ("200 relu he_uniform ×2", {}),
    ("200 relu he_normal ×2", {}),
    ("200 selu lecun_uniform ×1.5", {}),
    ("200 selu lecun_normal ×0.7", {}),
    ("200 leaky_relu he_general_normal ×1.5", {"a": 0.2}),
    ("200 elu he_general_uniform ×0.5", {"a": 0.1, "mode": "fan_out"}),
    ("200 tanh orthogonal ×1.5", {}),
    ("200 gelu orthogonal ×2", {"gain": 1.2}),
    ("200 linear identity ×0.5", {}),
    ("200 sigmoid kwon_logistic_uniform ×0.5", {}),
    ("200 sigmoid kwon_logistic_normal ×0.25", {}),
    ("200 tanh kwon_tanh_uniform ×1.5", {}),
    ("200 tanh kwon_tanh_normal ×1.5", {}),
    ("200 relu kwon_relu_uniform ×2", {}),
    ("200 gelu kwon_relu_normal ×0.8", {}),
    ("200 softsign standard_uniform ×3", {}),
    ("200 tanh uniform ×2", {}),
    ("200 relu normal ×3", {}),
    ("200 tanh truncated_normal ×2", {}),
    ("200 tanh constant ×2", {"value": 0.3}),
    ("200 tanh zeros ×1.5", {}),
    ("200 tanh ones ×0.5", {}),
    ("200 relu variance_scaling ×1.5", {}),
    ("200 relu variance_scaling ×1.5", {"factor": 3.0, "mode": "fan_out", "distribution": "uniform"}),
    ("200 elu variance_scaling ×2", {"factor": 0.5, "mode": "fan_avg", "distribution": "untruncated_normal"}),
]
N_IN, N_OUT = 300, 120  # fan_in != fan_out in both layers, so a swapped fan shows


def _ids(cases):
    return [f"{g.split()[2]}×{g.split()[3][1:]}{'+' if p else ''}" for g, p in cases]


# -- NumPy stand-ins for the frameworks, per their documentation ---------------------------------


def _truncated(rng, shape, mean, std, lo, hi):
    x = rng.normal(mean, std, shape)
    bad = (x < lo) | (x > hi)
    while bad.any():
        x[bad] = rng.normal(mean, std, bad.sum())
        bad = (x < lo) | (x > hi)
    return x


class _Param:
    def __init__(self, shape):
        self.a = np.full(shape, np.nan)

    def mul_(self, k):
        self.a *= k
        return self


def _fake_torch(rng):
    """torch.nn.init on (out_features, in_features) weights: fan_in = size(1), fan_out = size(0)."""

    def fans(t):
        return t.a.shape[1], t.a.shape[0]

    def calculate_gain(nonlinearity, param=None):
        if nonlinearity == "leaky_relu":
            slope = 0.01 if param is None else param
            return math.sqrt(2.0 / (1 + slope**2))
        return {"linear": 1.0, "sigmoid": 1.0, "tanh": 5 / 3, "relu": math.sqrt(2.0), "selu": 0.75}[nonlinearity]

    def kaiming_std(t, a, mode, nonlinearity):
        fan_in, fan_out = fans(t)
        return calculate_gain(nonlinearity, a) / math.sqrt(fan_in if mode == "fan_in" else fan_out)

    def orthogonal_(t, gain=1.0):
        rows, cols = t.a.shape
        flat = rng.normal(size=(rows, cols))
        if rows < cols:
            flat = flat.T
        q, r = np.linalg.qr(flat)
        q *= np.sign(np.diag(r))
        t.a[...] = gain * (q.T if rows < cols else q)

    init = types.SimpleNamespace(
        zeros_=lambda t: t.a.fill(0.0),
        ones_=lambda t: t.a.fill(1.0),
        constant_=lambda t, val: t.a.fill(val),
        eye_=lambda t: t.a.__setitem__(Ellipsis, np.eye(*t.a.shape)),
        uniform_=lambda t, a=0.0, b=1.0: t.a.__setitem__(Ellipsis, rng.uniform(a, b, t.a.shape)),
        normal_=lambda t, mean=0.0, std=1.0: t.a.__setitem__(Ellipsis, rng.normal(mean, std, t.a.shape)),
        trunc_normal_=lambda t, mean=0.0, std=1.0, a=-2.0, b=2.0: t.a.__setitem__(
            Ellipsis, _truncated(rng, t.a.shape, mean, std, a, b)),
        xavier_uniform_=lambda t, gain=1.0: t.a.__setitem__(Ellipsis, rng.uniform(
            -1, 1, t.a.shape) * gain * math.sqrt(6.0 / sum(fans(t)))),
        kaiming_uniform_=lambda t, a=0, mode="fan_in", nonlinearity="leaky_relu": t.a.__setitem__(
            Ellipsis, rng.uniform(-1, 1, t.a.shape) * math.sqrt(3.0) * kaiming_std(t, a, mode, nonlinearity)),
        kaiming_normal_=lambda t, a=0, mode="fan_in", nonlinearity="leaky_relu": t.a.__setitem__(
            Ellipsis, rng.normal(0, kaiming_std(t, a, mode, nonlinearity), t.a.shape)),
        orthogonal_=orthogonal_,
    )

    class Linear:
        def __init__(self, in_features, out_features):
            self.weight, self.bias = _Param((out_features, in_features)), _Param((out_features,))

    class Sequential(list):
        def __init__(self, *modules):
            super().__init__(modules)

        def parameters(self):
            return [p for m in self if isinstance(m, Linear) for p in (m.weight, m.bias)]

    class Module:
        def __init__(self, *args, **kwargs):
            self.args, self.kwargs = args, kwargs

    class NoGrad:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    nn = types.ModuleType("torch.nn")
    nn.init, nn.Linear, nn.Sequential = init, Linear, Sequential
    for name in ("Identity", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "SELU", "Softsign", "GELU",
                 "CrossEntropyLoss", "MSELoss"):
        setattr(nn, name, type(name, (Module,), {}))
    torch = types.ModuleType("torch")
    torch.nn, torch.no_grad = nn, NoGrad
    torch.optim = types.SimpleNamespace(SGD=Module, Adam=Module)
    return {"torch": torch, "torch.nn": nn}


def _fake_keras(rng):
    """Keras 3 initializers on (fan_in, fan_out) kernels; VarianceScaling's scale is a variance."""

    class VarianceScaling:
        def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal"):
            assert scale > 0 and mode in ("fan_in", "fan_out", "fan_avg")
            assert distribution in ("truncated_normal", "untruncated_normal", "uniform")
            self.scale, self.mode, self.distribution = scale, mode, distribution

        def __call__(self, shape):
            fan_in, fan_out = shape
            n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
            var = self.scale / max(1.0, n)
            if self.distribution == "truncated_normal":
                std = math.sqrt(var) / T
                return _truncated(rng, shape, 0.0, std, -2 * std, 2 * std)
            if self.distribution == "untruncated_normal":
                return rng.normal(0, math.sqrt(var), shape)
            limit = math.sqrt(3 * var)
            return rng.uniform(-limit, limit, shape)

    def preset(scale, mode, distribution):
        return lambda: VarianceScaling(scale, mode, distribution)

    class Orthogonal:
        def __init__(self, gain=1.0):
            self.gain = gain

        def __call__(self, shape):
            rows, cols = shape
            q, r = np.linalg.qr(rng.normal(size=(max(shape), min(shape))))
            q *= np.sign(np.diag(r))
            return self.gain * (q.T if rows < cols else q)

    class Call:
        def __init__(self, fn):
            self.fn = fn

        def __call__(self, shape):
            return self.fn(shape)

    init = types.SimpleNamespace(
        VarianceScaling=VarianceScaling, Orthogonal=Orthogonal,
        GlorotUniform=preset(1.0, "fan_avg", "uniform"), GlorotNormal=preset(1.0, "fan_avg", "truncated_normal"),
        HeUniform=preset(2.0, "fan_in", "uniform"), HeNormal=preset(2.0, "fan_in", "truncated_normal"),
        LecunUniform=preset(1.0, "fan_in", "uniform"), LecunNormal=preset(1.0, "fan_in", "truncated_normal"),
        Zeros=lambda: Call(np.zeros), Ones=lambda: Call(np.ones),
        Constant=lambda value=0.0: Call(lambda s: np.full(s, value)),
        Identity=lambda gain=1.0: Call(lambda s: gain * np.eye(*s)),
        RandomUniform=lambda minval=-0.05, maxval=0.05: Call(lambda s: rng.uniform(minval, maxval, s)),
        RandomNormal=lambda mean=0.0, stddev=0.05: Call(lambda s: rng.normal(mean, stddev, s)),
        TruncatedNormal=lambda mean=0.0, stddev=0.05: Call(
            lambda s: _truncated(rng, s, mean, stddev, mean - 2 * stddev, mean + 2 * stddev)),
    )

    class Dense:
        def __init__(self, units, activation=None, kernel_initializer=None, bias_initializer=None):
            assert bias_initializer == "zeros"
            self.units, self.init, self.activation = units, kernel_initializer, activation

    class Layer:
        def __init__(self, *args, **kwargs):
            self.args, self.kwargs = args, kwargs

    class Model:
        def __init__(self, items):
            width = items[0]
            self.kernels, self.dense = [], []
            inits = set()
            for layer in items[1:]:
                if isinstance(layer, Dense):
                    assert id(layer.init) not in inits, "one initializer object shared by two layers"
                    inits.add(id(layer.init))
                    self.kernels.append(layer.init((width, layer.units)))
                    self.dense.append(layer)
                    width = layer.units

        def compile(self, **kw):
            self.compiled = kw

    layers = types.ModuleType("keras.layers")
    layers.Dense, layers.LeakyReLU, layers.ELU = Dense, type("LeakyReLU", (Layer,), {}), type("ELU", (Layer,), {})
    keras = types.ModuleType("keras")
    keras.initializers, keras.layers = init, layers
    keras.Input = lambda shape: shape[0]
    keras.Sequential = Model
    keras.activations = types.SimpleNamespace(gelu=lambda x, approximate=False: x)
    keras.optimizers = types.SimpleNamespace(SGD=Layer, Adam=Layer)
    keras.losses = types.SimpleNamespace(SparseCategoricalCrossentropy=Layer)
    return {"keras": keras}


def _run(code: str, modules: dict, monkeypatch) -> dict:
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    namespace: dict = {}
    exec(compile(code, "<snippet>", "exec"), namespace)
    return namespace


def _kernels_torch(code, monkeypatch, seed=1):
    model = _run(code, _fake_torch(np.random.default_rng(seed)), monkeypatch)["model"]
    linears = [m for m in model if hasattr(m, "weight")]
    for m in linears:
        assert np.all(m.bias.a == 0)
    return [m.weight.a.T for m in linears]  # evoinit orientation (fan_in, fan_out)


def _kernels_keras(code, monkeypatch, seed=1):
    return _run(code, _fake_keras(np.random.default_rng(seed)), monkeypatch)["model"].kernels


def _kurtosis(w):
    c = w - w.mean()
    return float((c**4).mean() / (c**2).mean() ** 2)


def _assert_same_distribution(got, genome, params, shape):
    """``got`` (fan_in, fan_out) drawn like evoinit's ``genome.init``: equal if deterministic,
    the same orthogonality if orthogonal, else the same mean, std and kurtosis (which tells
    uniform 1.8, normal cut at ±2 std 2.37 and normal 3 apart)."""
    want = initializers.draw(genome.init, shape, np.random.default_rng(2), scale=genome.scale, **params)
    assert got.shape == shape
    if not initializers.get(genome.init).random:
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    elif genome.init == "orthogonal":
        g = genome.scale * params.get("gain", 1.0)
        small = got.T @ got if shape[0] >= shape[1] else got @ got.T
        np.testing.assert_allclose(small, g * g * np.eye(min(shape)), atol=1e-9)
    else:
        assert abs(got.mean() - want.mean()) < 0.02 * want.std() + 1e-12
        assert got.std() == pytest.approx(want.std(), rel=0.03)
        assert _kurtosis(got) == pytest.approx(_kurtosis(want), abs=0.15)


@pytest.mark.parametrize("text, params", CASES, ids=_ids(CASES))
@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_snippet_compiles_and_draws_what_evoinit_draws(text, params, framework, monkeypatch):
    genome = Genome.parse(text)
    code = export.export(genome, N_IN, N_OUT, "classification", to=framework, init_params=params)
    compile(code, f"<{framework}>", "exec")
    assert str(genome) in code
    kernels = (_kernels_torch if framework == "torch" else _kernels_keras)(code, monkeypatch)
    sizes = (N_IN, *genome.hidden, N_OUT)
    assert [k.shape for k in kernels] == list(zip(sizes[:-1], sizes[1:]))
    for kernel in kernels:
        _assert_same_distribution(kernel, genome, params, kernel.shape)


def _torch_call(code, at, fn):
    m = re.search(rf"nn\.init\.{fn}\(model\[{at}\]\.weight, ([^)]*)\)", code)
    assert m, f"no {fn} on model[{at}] in\n{code}"
    return dict((k.strip(), v.strip().strip('"')) for k, v in (kv.split("=") for kv in m[1].split(", ")))


def test_he_normal_names_the_keras_preset_with_scale_squared_and_torch_truncation():
    keras = export.to_keras("64-32 relu he_normal ×2", 64, 10)
    assert 'initializers.VarianceScaling(scale=8.0, mode="fan_in", distribution="truncated_normal")' in keras
    torch = export.to_torch("64-32 relu he_normal ×2", 64, 10)
    assert "kaiming_normal_" not in torch  # untruncated in PyTorch: not evoinit's he_normal
    # Linear(64, 32) is model[2]: fan_in 64 in torch's (out, in) weight; realised std 2·sqrt(2/64)
    call = _torch_call(torch, 2, "trunc_normal_")
    realised = 2 * math.sqrt(2 / 64)
    assert float(call["std"]) == pytest.approx(realised / T, rel=1e-12)
    assert float(call["a"]) == pytest.approx(-2 * realised / T) and float(call["b"]) == pytest.approx(2 * realised / T)
    assert f"realised std {realised:.6g}" in torch
    # the output layer Linear(32, 10) has fan_in 32, not 10
    assert float(_torch_call(torch, 4, "trunc_normal_")["std"]) == pytest.approx(2 * math.sqrt(2 / 32) / T)


@pytest.mark.parametrize("text, params, torch_has, keras_has", [
    ("8 tanh glorot_uniform ×1.5", {}, ["xavier_uniform_(model[0].weight, gain=1.5)"],
     ['VarianceScaling(scale=2.25, mode="fan_avg", distribution="uniform")']),
    ("8 tanh glorot_uniform ×1", {}, ["xavier_uniform_(model[0].weight, gain=1.0)"], ["GlorotUniform()"]),
    ("8 relu he_normal ×1", {}, ["trunc_normal_"], ["HeNormal()"]),
    ("8 relu he_uniform ×2", {}, ['kaiming_uniform_(model[0].weight, mode="fan_in", nonlinearity="relu")',
                                  "model[0].weight.mul_(2.0)"],
     ['VarianceScaling(scale=8.0, mode="fan_in", distribution="uniform")']),
    ("8 selu lecun_uniform ×0.5", {}, ['nonlinearity="linear"', "mul_(0.5)"],
     ['VarianceScaling(scale=0.25, mode="fan_in", distribution="uniform")']),
    ("8 leaky_relu he_general_normal ×2", {"a": 0.2},
     ['kaiming_normal_(model[0].weight, a=0.2, mode="fan_in", nonlinearity="leaky_relu")', "mul_(2.0)",
      "nn.LeakyReLU(negative_slope=0.01)"],
     ['VarianceScaling(scale=7.69230769230769, mode="fan_in", distribution="untruncated_normal")',
      "layers.LeakyReLU(negative_slope=0.01)"]),
    ("8 elu he_general_uniform ×1", {"mode": "fan_out"}, ['mode="fan_out"', "nn.ELU(alpha=1.0)"],
     ['VarianceScaling(scale=2.0, mode="fan_out", distribution="uniform")', 'activation="elu"']),
    ("8 tanh orthogonal ×1.5", {"gain": 2.0}, ["orthogonal_(model[0].weight, gain=3.0)"], ["Orthogonal(gain=3.0)"]),
    ("8 linear identity ×0.5", {}, ["eye_(model[0].weight)", "model[0].weight.mul_(0.5)", "nn.Identity()"],
     ["Identity(gain=0.5)", 'activation="linear"']),
    ("8 sigmoid kwon_logistic_uniform ×0.5", {}, ["uniform_(model[0].weight, a=-"],
     ['VarianceScaling(scale=4.0, mode="fan_avg", distribution="uniform")', 'activation="sigmoid"']),
    ("8 tanh kwon_tanh_normal ×2", {}, ["normal_(model[0].weight, std="],
     ['VarianceScaling(scale=4.0, mode="fan_avg", distribution="untruncated_normal")']),
    ("8 relu kwon_relu_uniform ×1", {}, ["uniform_(model[0].weight"],
     ['VarianceScaling(scale=2.0, mode="fan_avg", distribution="uniform")']),
    ("8 softsign standard_uniform ×3", {}, ["nn.Softsign()"],
     ['VarianceScaling(scale=3.0, mode="fan_in", distribution="uniform")', 'activation="softsign"']),
    ("8 tanh uniform ×2", {}, ["uniform_(model[0].weight, a=-0.1, b=0.1)"],
     ["RandomUniform(minval=-0.1, maxval=0.1)"]),
    ("8 tanh normal ×3", {}, ["normal_(model[0].weight, mean=0.0, std=0.15)"],
     ["RandomNormal(mean=0.0, stddev=0.15)"]),
    ("8 tanh truncated_normal ×2", {}, ["trunc_normal_(model[0].weight, mean=0.0, std=0.1, a=-0.2, b=0.2)"],
     ["TruncatedNormal(mean=0.0, stddev=0.1)"]),
    ("8 tanh constant ×2", {"value": 0.3}, ["constant_(model[0].weight, 0.6)"], ["Constant(value=0.6)"]),
    ("8 tanh ones ×0.5", {}, ["constant_(model[0].weight, 0.5)"], ["Constant(value=0.5)"]),
    ("8 tanh ones ×1", {}, ["ones_(model[0].weight)"], ["Ones()"]),
    ("8 tanh zeros ×2", {}, ["zeros_(model[0].weight)"], ["Zeros()"]),
    ("8 tanh glorot_normal ×0", {}, ["zeros_(model[0].weight)"], ["Zeros()"]),
    ("8 relu variance_scaling ×2", {"factor": 3.0, "mode": "fan_out", "distribution": "normal"},
     ["trunc_normal_"], ['VarianceScaling(scale=12.0, mode="fan_out", distribution="truncated_normal")']),
    ("8 gelu he_uniform ×1", {}, ['nn.GELU(approximate="tanh")'],
     ["HeUniform()", "activation=gelu_tanh", "gelu(x, approximate=True)"]),
    ("8 selu lecun_normal ×1", {}, ["nn.SELU()"], ["LecunNormal()", 'activation="selu"']),
])
def test_snippet_names_the_initializer_and_its_arguments(text, params, torch_has, keras_has):
    torch = export.to_torch(text, 4, 3, init_params=params)
    keras = export.to_keras(text, 4, 3, init_params=params)
    for code in (torch, keras):
        compile(code, "<snippet>", "exec")
    for piece in torch_has:
        assert piece in torch, piece
    for piece in keras_has:
        assert piece in keras, piece


def test_kwon_and_standard_numbers_in_torch_are_for_each_layer_shape():
    code = export.to_torch("32 tanh kwon_tanh_uniform ×2", 64, 10)
    for at, (fan_in, fan_out) in ((0, (64, 32)), (2, (32, 10))):
        r = 2 * math.sqrt(6 / (fan_in + fan_out))
        call = _torch_call(code, at, "uniform_")
        assert float(call["a"]) == pytest.approx(-r) and float(call["b"]) == pytest.approx(r)
    code = export.to_torch("32 relu standard_uniform ×1", 64, 10)
    assert float(_torch_call(code, 2, "uniform_")["b"]) == pytest.approx(1 / math.sqrt(32))


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_is_exported_with_its_own_table_entry(name):
    """The exporters read the initializers' table: Keras gets the row's (factor·scale², mode,
    distribution), or its preset class at scale 1; torch's numbers are the row's for each layer."""
    p = PRESETS[name]
    keras = export.to_keras(f"8 tanh {name} ×1.5", 6, 3)
    assert (f'VarianceScaling(scale={export._num(p.factor * 1.5 * 1.5)}, mode="{p.mode}", '
            f'distribution="{p.distribution}")') in keras
    at_one = export.to_keras(f"8 tanh {name}", 6, 3)
    assert (f"initializers.{p.keras}()" if p.keras else f"VarianceScaling(scale={export._num(p.factor)},") in at_one
    torch = export.to_torch(f"8 tanh {name} ×1.5", 6, 3)
    if p.keras is None:  # PyTorch has no function for these: the numbers of Linear(8, 3)
        n = {"fan_in": 8, "fan_avg": 5.5}[p.mode]
        std = 1.5 * math.sqrt(p.factor / n)
        call = _torch_call(torch, 2, "uniform_" if p.distribution == "uniform" else "normal_")
        if p.distribution == "uniform":
            assert float(call["b"]) == pytest.approx(math.sqrt(3) * std, rel=1e-14)
        else:
            assert float(call["std"]) == pytest.approx(std, rel=1e-14)


def test_default_optimizer_line_is_train_settings_default():
    d = TrainSettings()
    assert (f"torch.optim.SGD(model.parameters(), lr={export._num(d.learning_rate)}, "
            f"momentum={export._num(d.momentum)})") in export.to_torch("8 tanh glorot_uniform", 4, 3)
    assert (f"keras.optimizers.SGD(learning_rate={export._num(d.learning_rate)}, "
            f"momentum={export._num(d.momentum)})") in export.to_keras("8 tanh glorot_uniform", 4, 3)


def test_regression_loss_optimizer_and_learning_rate_gene():
    settings = TrainSettings(optimizer="adam", learning_rate=0.003)
    torch = export.to_torch("16 tanh glorot_uniform ×1 lr=0.02", 5, 2, "regression", settings=settings)
    assert "def loss_fn(pred, target)" in torch and "torch.optim.Adam(model.parameters(), lr=0.02" in torch
    keras = export.to_keras("16 tanh glorot_uniform ×1", 5, 2, "regression", settings=settings)
    assert "loss=evoinit_loss" in keras and "keras.optimizers.Adam(learning_rate=0.003" in keras
    assert "SparseCategoricalCrossentropy(from_logits=True)" in export.to_keras("16 tanh glorot_uniform", 5, 2)


@pytest.mark.parametrize("call, message", [
    (lambda: export.export("8 tanh glorot_uniform", 4, 3, to="jax"), "--to must be one of torch, keras"),
    (lambda: export.to_torch("8 tanh glorot_uniform", 0, 3), "n_in must be a positive integer"),
    (lambda: export.to_keras("8 tanh glorot_uniform", 4, 3, "ranking"), "task must be one of"),
    (lambda: export.to_torch("8 tanh glorot_uniform", 4, 3, init_params={"gain": 2}), "has no parameter gain"),
    (lambda: export.to_keras("8 tanh he_general_normal", 4, 3, init_params={"mode": "fan_avg"}), "mode must be one of"),
    (lambda: export.to_torch("8 tanh glorot_unifrom", 4, 3), "did you mean 'glorot_uniform'"),
])
def test_bad_arguments_are_usage_errors(call, message):
    with pytest.raises(UsageError, match=message):
        call()


# -- run folders and the CLI ------------------------------------------------------------------------


def _run_folder(path, entries=None, config=None):
    path.mkdir()
    if entries is None:
        entries = [{"rank": 1, "genome": Genome.parse("32-16 relu he_normal ×1.5").to_json()},
                   {"rank": 2, "genome": Genome.parse("8 tanh orthogonal ×2").to_json()}]
    if config is None:
        config = {"dataset": {"name": "iris", "n_features": 4, "n_outputs": 3, "task": "classification"},
                  "search": {"train": TrainSettings(optimizer="adam", learning_rate=0.01).to_json()}}
    (path / "hall_of_fame.json").write_text(json.dumps({"schema": 1, "entries": entries}))
    (path / "config.json").write_text(json.dumps({"schema": 1} | config))  # as RunFolder.create writes it
    return path


def test_read_run_takes_the_ranked_genome_and_the_data_sizes(tmp_path):
    run = _run_folder(tmp_path / "run")
    best = runsetup.read_run(run)
    assert (str(best.genome), best.n_in, best.n_out, best.task) == ("32-16 relu he_normal ×1.5", 4, 3, "classification")
    assert best.settings.optimizer == "adam"
    assert str(runsetup.read_run(run, rank=2).genome) == "8 tanh orthogonal ×2"
    with pytest.raises(UsageError, match="--rank must be 1..2"):
        runsetup.read_run(run, rank=3)


@pytest.mark.parametrize("make, message", [
    (lambda p: p, "no run folder at"),
    (lambda p: (p.mkdir(), p)[1], "no hall_of_fame.json"),
    (lambda p: _run_folder(p, entries=[]), "the hall of fame is empty"),
    (lambda p: _run_folder(p, entries=[{"genome": {"hidden": [8]}}]), "entry 1 has no readable genome"),
    (lambda p: _run_folder(p, config={"dataset": {"name": "iris"}}), "no dataset sizes"),
    (lambda p: (_run_folder(p), (p / "hall_of_fame.json").write_text("{oops"))[0], "damaged"),
])
def test_bad_run_folders_are_one_clear_run_folder_error(tmp_path, make, message):
    run = make(tmp_path / "run")
    with pytest.raises(RunFolderError, match=message) as info:
        runsetup.read_run(run)
    assert "\n" not in str(info.value)


ENV = {**os.environ, "COLUMNS": "200", "OPENBLAS_NUM_THREADS": "1"}


def cli(*args):
    return subprocess.run([sys.executable, "-m", "evoinit", *args], capture_output=True, text=True,
                          env=ENV, timeout=120)


def test_cli_exports_a_genome_to_stdout_and_a_run_to_a_file(tmp_path):
    r = cli("export", "64-32 relu he_normal ×2", "--to", "torch")
    assert r.returncode == 0, r.stderr
    compile(r.stdout, "<stdout>", "exec")
    assert "nn.Linear(64, 64)" in r.stdout and "nn.Linear(32, 10)" in r.stdout  # digits: 64 in, 10 out
    run = _run_folder(tmp_path / "run")
    out = tmp_path / "model.py"
    r = cli("export", str(run), "--to", "keras", "--out", str(out))
    assert r.returncode == 0, r.stderr
    code = out.read_text()
    assert "keras.Input(shape=(4,))" in code and "layers.Dense(3," in code
    assert 'VarianceScaling(scale=4.5, mode="fan_in", distribution="truncated_normal")' in code
    assert "Adam(learning_rate=0.01" in code


@pytest.mark.parametrize("args, code, message", [
    (["64 relu he_normal", "--to", "tf"], 2, "error: --to must be one of torch, keras, got 'tf'"),
    (["runs/does-not-exist", "--to", "torch"], 1, "error: no run folder at runs/does-not-exist"),
    (["64 relu he_nromal", "--to", "keras"], 2, "error: unknown init 'he_nromal' (did you mean 'he_normal'?)"),
    (["64-relu", "--to", "keras"], 1, "error: no run folder at 64-relu (a setup reads like"),
    (["64 relu", "--to", "keras"], 2, "error: cannot read genome '64 relu'"),
])
def test_cli_errors_are_one_line(args, code, message):
    r = cli("export", *args)
    assert r.returncode == code, (r.stdout, r.stderr)
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_read_run_reads_a_folder_the_search_wrote(tmp_path):
    from evoinit import api
    from evoinit.ga.genome import SearchSpace

    result = api.search("iris", population=4, generations=1, repeats=1, epochs=2, n_jobs=1,
                           out=tmp_path / "run", space=SearchSpace(layers=(1, 2), widths=(4, 16)))
    setup = runsetup.read_run(tmp_path / "run")
    assert setup.genome == result.best.genome and (setup.n_in, setup.n_out, setup.task) == (4, 3, "classification")
    assert setup.settings.epochs == 2
    compile(export.to_torch(setup.genome, setup.n_in, setup.n_out, setup.task, settings=setup.settings),
            "<run>", "exec")


@pytest.mark.parametrize("k", [1, 3])
def test_exported_regression_loss_is_evoinits_so_the_gradient_is_too(k):
    """The emitted loss, run on NumPy stand-ins for the tensor ops (torch's ``.sum(1).mean()``;
    keras.ops, with Keras's documented mean over the rows of a batch), equals evoinit's loss, and its
    gradient with respect to the outputs (central differences) equals evoinit's output delta
    (pred − y)/n: ratio 1, where MSE gave 2/k."""
    from evoinit.nn.single import loss_and_grads
    from evoinit.nn.training import Start

    rng = np.random.default_rng(k)
    n = 9
    pred, target = rng.normal(size=(n, k)), rng.normal(size=(n, k))
    torch_ns, keras_ns = {}, {"keras": types.SimpleNamespace(ops=types.SimpleNamespace(sum=np.sum, square=np.square))}
    torch_code = export.to_torch("4 tanh glorot_uniform", 3, k, "regression")
    keras_code = export.to_keras("4 tanh glorot_uniform", 3, k, "regression")
    compile(torch_code, "<torch>", "exec"), compile(keras_code, "<keras>", "exec")
    assert "MSELoss" not in torch_code and '"mse"' not in keras_code.split("model.compile")[1]
    exec(_function(torch_code, "loss_fn"), torch_ns)
    exec(_function(keras_code, "evoinit_loss"), keras_ns)
    losses = {"torch": lambda p: torch_ns["loss_fn"](p, target),
              "keras": lambda p: keras_ns["evoinit_loss"](target, p).mean()}
    # evoinit's loss and gradient on the same outputs: a linear network whose output is `pred`
    start = Start.of([np.eye(k)], [np.zeros(k)])
    ours, (dW,), (db,) = loss_and_grads(start, pred, target, activation="linear", task="regression")
    np.testing.assert_allclose(db, (pred - target).mean(axis=0), rtol=1e-12)
    delta = (pred - target) / n
    for name, loss in losses.items():
        assert loss(pred) == pytest.approx(ours, rel=1e-12), name
        h = 1e-6
        numeric = np.zeros_like(pred)
        for i in np.ndindex(pred.shape):
            plus, minus = pred.copy(), pred.copy()
            plus[i] += h
            minus[i] -= h
            numeric[i] = (loss(plus) - loss(minus)) / (2 * h)
        np.testing.assert_allclose(numeric / delta, 1.0, rtol=1e-5, err_msg=name)
    mse = lambda p: ((p - target) ** 2).mean()  # what the exports emitted before: 2/k times the step
    ratio = (mse(pred + h * np.ones_like(pred)) - mse(pred - h * np.ones_like(pred))) / (
        losses["torch"](pred + h * np.ones_like(pred)) - losses["torch"](pred - h * np.ones_like(pred)))
    assert ratio == pytest.approx(2 / k, rel=1e-6)


def _function(code: str, name: str) -> str:
    """The source of the top-level function ``name`` in a snippet (up to the next blank lines)."""
    start = code.index(f"def {name}(")
    end = code.find("\n\n\n", start)
    return code[start:end if end > 0 else None]
