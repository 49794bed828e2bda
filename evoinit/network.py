"""A population of same-shaped MLPs, trained together with batched matrix products.

Shapes, once for the whole module: P networks; layer l maps fan_in -> fan_out;
``W[l]`` is ``(P, fan_in, fan_out)`` (Keras orientation), ``b[l]`` is ``(P, 1, fan_out)``;
activations are batch-major ``(P, B, width)``. Each network has its own starting weights and its
own minibatch order, so every slice ``[p]`` is an independent network: NumPy's stacked matmul runs
one GEMM per slice, which is why a network trained alone and the same network trained inside a
population of any size give bit-identical curves (DESIGN.md contract 2).

Losses: softmax cross-entropy for classification, ½·mean squared error (summed over outputs) for
regression. Optimizers: SGD with (Nesterov) momentum in scikit-learn's form
``v ← μv − η∇;  w ← w + v`` (Nesterov: ``w ← w + μv − η∇``) and Adam; optional L2 weight
decay ``∇ ← ∇ + λw``. A network whose loss turns NaN/inf or whose weights pass ``weight_limit``
stops training and is reported diverged (contract 4); the others go on.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from evoinit import activations as _activations
from evoinit import initializers as _initializers
from evoinit.errors import UsageError

OPTIMIZERS = ("sgd", "adam")
DTYPES = ("float32", "float64")
#: Working-set budget per chunk of networks: populations larger than the 2 MiB L2 cache slow down
#: (PERFORMANCE.md), so a population is trained in chunks that fit.
CHUNK_BYTES = 2 << 20


@dataclass(frozen=True)
class TrainSettings:
    """How every network is trained. ``learning_rate`` may be overridden per network."""

    epochs: int = 20
    batch_size: int = 32
    optimizer: str = "sgd"
    learning_rate: float = 0.05
    momentum: float = 0.9
    nesterov: bool = False
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    weight_decay: float = 0.0
    dtype: str = "float32"
    shuffle: bool = True
    weight_limit: float = 1e5

    def __post_init__(self):
        checks = [
            (self.epochs >= 1, "epochs must be at least 1"),
            (self.batch_size >= 1, "batch_size must be at least 1"),
            (self.optimizer in OPTIMIZERS, f"optimizer must be one of {', '.join(OPTIMIZERS)}"),
            (self.learning_rate > 0 and math.isfinite(self.learning_rate), "learning_rate must be > 0"),
            (0 <= self.momentum < 1, "momentum must be in [0, 1)"),
            (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1, "beta1 and beta2 must be in [0, 1)"),
            (self.epsilon > 0, "epsilon must be > 0"),
            (self.weight_decay >= 0, "weight_decay must be >= 0"),
            (self.dtype in DTYPES, f"dtype must be one of {', '.join(DTYPES)}"),
            (self.weight_limit > 0, "weight_limit must be > 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise UsageError(f"bad training settings: {message}")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> "TrainSettings":
        return cls(**d)


@dataclass(frozen=True)
class Start:
    """Starting weights of one network: ``weights[l]`` is ``(fan_in, fan_out)``, ``biases[l]`` ``(fan_out,)``."""

    weights: tuple
    biases: tuple

    @property
    def sizes(self) -> tuple:
        return (self.weights[0].shape[0],) + tuple(w.shape[1] for w in self.weights)

    @classmethod
    def of(cls, weights, biases=None) -> "Start":
        """A start from explicit arrays (e.g. made elsewhere); biases default to zeros."""
        weights = tuple(np.asarray(w, dtype=np.float64) for w in weights)
        if biases is None:
            biases = tuple(np.zeros(w.shape[1]) for w in weights)
        biases = tuple(np.asarray(b, dtype=np.float64).reshape(-1) for b in biases)
        for l, (w, b) in enumerate(zip(weights, biases)):
            if w.ndim != 2 or b.shape != (w.shape[1],):
                raise UsageError(f"layer {l}: weights must be (fan_in, fan_out) and biases (fan_out,)")
            if l and w.shape[0] != weights[l - 1].shape[1]:
                raise UsageError(f"layer {l}: fan_in {w.shape[0]} != previous fan_out {weights[l - 1].shape[1]}")
        return cls(weights, biases)


@dataclass(frozen=True)
class TrainResult:
    """What training one network gave: per-epoch curves (up to divergence) and final weights."""

    train_loss: np.ndarray
    val_loss: np.ndarray
    val_metric: np.ndarray
    metric: str
    diverged_epoch: int | None
    weights: tuple = field(repr=False)
    biases: tuple = field(repr=False)

    @property
    def diverged(self) -> bool:
        return self.diverged_epoch is not None

    @property
    def epochs(self) -> int:
        return len(self.train_loss)


@dataclass(frozen=True)
class TrainState:
    """Where the training of one network stands after ``epoch`` epochs: what it needs to go on,
    later and in another process, with the bits of one uninterrupted run (``continue_training``).

    Plain picklable data. ``params[l]`` is layer l's block ``(fan_in + 1, fan_out)`` — its weights
    with the bias as the last row — in the training dtype; ``velocity`` is SGD's momentum buffer
    (``v`` in ``v ← μv − η∇``) or Adam's first moment and ``second_moment`` Adam's second moment,
    in the same blocks (None when the optimizer keeps none); ``steps`` counts optimizer steps (Adam's
    bias correction); ``order`` is the data-order generator's ``bit_generator.state`` dict (None
    without shuffling). The curves hold the epochs trained so far (up to divergence).
    """

    epoch: int
    steps: int
    learning_rate: float
    params: tuple = field(repr=False)
    velocity: tuple | None = field(repr=False)
    second_moment: tuple | None = field(repr=False)
    order: dict | None = field(repr=False)
    train_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    val_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    val_metric: np.ndarray = field(default_factory=lambda: np.zeros(0))
    metric: str = ""
    diverged_epoch: int | None = None

    @property
    def sizes(self) -> tuple:
        return (self.params[0].shape[0] - 1,) + tuple(b.shape[1] for b in self.params)

    @property
    def diverged(self) -> bool:
        return self.diverged_epoch is not None

    def result(self) -> TrainResult:
        """The curves and the weights (float64, Keras orientation) of the training so far."""
        return TrainResult(self.train_loss, self.val_loss, self.val_metric, self.metric,
                           self.diverged_epoch, tuple(np.array(b[:-1], np.float64) for b in self.params),
                           tuple(np.array(b[-1], np.float64) for b in self.params))


def layer_sizes(n_in: int, hidden: Sequence[int], n_out: int) -> tuple:
    return (int(n_in), *(int(h) for h in hidden), int(n_out))


def n_params(sizes: Sequence[int]) -> int:
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def initial_start(sizes, init, rng: np.random.Generator, *, scale: float = 1.0,
                  params: dict | None = None, bias=0.0) -> Start:
    """Draw a network's starting weights, layer by layer, from ``rng`` with scheme ``init``.

    ``bias`` is a constant (default 0) or the name of a scheme drawn on ``(fan_out,)`` after each
    layer's weights.
    """
    scheme = _initializers.get(init)
    params = dict(params or {})
    weights, biases = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        weights.append(scheme.fn((fan_in, fan_out), rng, scale=scale, **params))
        if isinstance(bias, str):
            biases.append(_initializers.get(bias).fn((fan_out,), rng))
        else:
            biases.append(np.full(fan_out, float(bias)))
    return Start(tuple(weights), tuple(biases))


class _Work:
    """Work buffers for P networks and a minibatch of r rows, allocated once per r.

    ``A[l]`` ``(P, r, n_l + 1)`` is the input of layer l with a constant column of ones last, so
    each layer's bias is the last row of its weight block and rides in the same matrix product
    (no broadcast bias add, no separate bias gradient). ``D[l]`` (and ``Z[l]`` when the derivative
    needs the pre-activation) is hidden layer l's dLoss/dZ, the same width as ``A[l + 1]``:
    elementwise work runs over whole contiguous buffers and the ones column carries harmless
    finite junk that no product reads. ``T`` is the output layer class-major ``(P, C, r)`` so the
    softmax reduces over a leading axis; ``base + y·r`` indexes true classes into ``pick``.
    """

    def __init__(self, P: int, r: int, sizes, dt, needs_input: bool):
        self.r = r
        self.A = [np.zeros((P, r, n + 1), dt) for n in sizes[:-1]]
        for a in self.A:
            a[:, :, -1] = 1
        hidden = [n + 1 for n in sizes[1:-1]]
        self.D = [np.zeros((P, r, n), dt) for n in hidden]
        self.Z = [np.zeros((P, r, n), dt) for n in hidden] if needs_input else None
        self.T = np.zeros((P, sizes[-1], r), dt)
        self.base = np.arange(P)[:, None] * (sizes[-1] * r) + np.arange(r)[None, :]
        self.pick = np.empty((P, r), np.intp)
        self.y = np.empty((P, r), np.intp)
        self.scale = None  # the output delta's factor, set once by _Stack.buffers


class _Stack:
    """The changing state of a chunk of P networks: parameters, optimizer state, work buffers.

    All parameters of a network live in one row of ``theta`` ``(P, n_params)`` so the optimizer
    is a few in-place passes over one array. Views into it: hidden layer l is ``V[l]``
    ``(P, fan_in + 1, fan_out)`` (Keras orientation, bias as the last row); the output layer is
    stored transposed, ``V[-1]`` ``(P, n_out, fan_in + 1)``, which makes its forward product, its
    gradient and the backpropagated delta all run without a slow transposed-view product, and
    leaves the logits class-major. ``Wt[l]`` is a contiguous transposed copy of hidden layer l >= 1
    (for the backward product), refreshed after every step. SGD folds ``-lr`` into the output
    delta, so its gradients come out as ``-lr·∇``.
    """

    def __init__(self, states: Sequence[TrainState], act, task: str, settings: TrainSettings):
        dt = np.dtype(settings.dtype)
        self.dt, self.act, self.task, self.s = dt, act, task, settings
        self.P = P = len(states)
        self.sizes = sizes = states[0].sizes
        self.L = L = len(sizes) - 1
        self.theta = np.empty((P, n_params(sizes)), dt)
        self.V = self._views(self.theta)
        self.grad = np.zeros_like(self.theta)
        self.gV = self._views(self.grad)
        self.m = np.zeros_like(self.theta)  # momentum / Adam's first moment
        self.u = np.zeros_like(self.theta) if settings.optimizer == "adam" else None
        for p, st in enumerate(states):
            for flat, blocks in ((self.theta, st.params), (self.m, st.velocity), (self.u, st.second_moment)):
                if flat is not None and blocks is not None:
                    self.load(flat, p, blocks)
        self.tmp = np.zeros_like(self.theta)
        self.lr = np.asarray([st.learning_rate for st in states], dtype=np.float64).reshape(P, 1).astype(dt)
        self.decay = None
        if settings.weight_decay:
            # L2 on weights only (as scikit-learn's alpha): ∇ += λ·w, SGD: -lr·∇ -= lr·λ·w
            mask = self._views(np.zeros((1, self.theta.shape[1]), dt))
            for l, v in enumerate(mask):
                (v[:, :, :-1] if l == L - 1 else v[:, :-1, :])[...] = 1
            factor = -self.lr if settings.optimizer == "sgd" else np.ones((P, 1), dt)
            self.decay = factor * settings.weight_decay * mask[0].base.reshape(1, -1)
        self.t = states[0].steps
        self.refresh()
        self.work: dict[int, _Work] = {}

    def load(self, flat: np.ndarray, row: int, blocks) -> None:
        """Put one network's layer blocks ``(fan_in + 1, fan_out)`` into row ``row`` of ``flat``."""
        for l, (v, block) in enumerate(zip(self._views(flat), blocks)):
            v[row] = block.T if l == self.L - 1 else block

    def blocks(self, flat: np.ndarray | None, row: int) -> tuple | None:
        """Row ``row`` of ``flat`` as layer blocks ``(fan_in + 1, fan_out)`` (copies, same dtype)."""
        if flat is None:
            return None
        return tuple(np.array(v[row].T if l == self.L - 1 else v[row])
                     for l, v in enumerate(self._views(flat)))

    def _views(self, flat: np.ndarray) -> list:
        views, off = [], 0
        for l, (i, o) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            shape = (o, i + 1) if l == self.L - 1 else (i + 1, o)
            views.append(flat[:, off:off + (i + 1) * o].reshape(flat.shape[0], *shape))
            off += (i + 1) * o
        return views

    def refresh(self) -> None:
        """Rebuild the transposed copies of hidden layers >= 1 after the weights changed."""
        self.Wt = [None] + [np.ascontiguousarray(v[:, :-1, :].transpose(0, 2, 1))
                            for v in self.V[1:-1]]

    def buffers(self, r: int) -> _Work:
        if r not in self.work:
            w = self.work[r] = _Work(self.P, r, self.sizes, self.dt, self.act.needs_input)
            w.scale = self.delta_scale(r)
        return self.work[r]

    def forward(self, w: _Work, x: np.ndarray | None = None) -> np.ndarray:
        """Run ``x`` (rows with a ones column; default the gathered batch ``w.A[0]``) through.

        Returns the output layer class-major ``(P, n_out, r)`` in ``w.T``.
        """
        a = w.A[0] if x is None else x
        for l in range(self.L - 1):
            full = w.A[l + 1]
            np.matmul(a, self.V[l], out=full[:, :, :-1])
            if w.Z is not None:
                np.copyto(w.Z[l], full)
            self.act.fn(full, out=full)
            full[:, :, -1] = 1
            a = full
        return np.matmul(self.V[-1], a.T if a.ndim == 2 else a.transpose(0, 2, 1), out=w.T)

    def output_delta(self, w: _Work, y: np.ndarray, scale, wrong: np.ndarray | None = None) -> np.ndarray:
        """Per-sample losses ``(P, r)`` of the output in ``w.T``, which becomes ``scale``·dLoss/dT.

        ``y``: class indices ``(P, r)``, or targets ``(P, r, n_out)`` for regression. If ``wrong``
        ``(P,)`` is given, each network's misclassified rows (argmax ≠ y) are added to it.
        """
        T = w.T
        if self.task == "classification":
            T -= T.max(axis=1, keepdims=True)
            pick = np.multiply(y, w.r, out=w.pick)
            pick += w.base
            flat = T.reshape(-1)
            picked = flat[pick]
            if wrong is not None:
                wrong += _misclassified(T, picked, y)
            np.exp(T, out=T)
            total = T.sum(axis=1)
            T /= total[:, None, :]
            losses = np.log(total) - picked
            flat[pick] -= 1
        else:
            T -= y.transpose(0, 2, 1)
            losses = 0.5 * np.einsum("pki,pki->pi", T, T)
        T *= scale
        return losses

    def backward(self, w: _Work) -> None:
        """Gradients into ``grad`` from the scaled output delta in ``w.T``."""
        L = self.L
        np.matmul(w.T, w.A[L - 1], out=self.gV[L - 1])
        if L == 1:
            return
        np.matmul(w.T.transpose(0, 2, 1), self.V[L - 1][:, :, :-1], out=w.D[L - 2][:, :, :-1])
        for l in range(L - 2, -1, -1):
            D = w.D[l]
            # A[l + 1] is not read again this step: its buffer takes f'(Z) (forward resets ones)
            D *= self.act.grad(None if w.Z is None else w.Z[l], w.A[l + 1], out=w.A[l + 1])
            np.matmul(w.A[l].transpose(0, 2, 1), D[:, :, :-1], out=self.gV[l])
            if l:
                np.matmul(D[:, :, :-1], self.Wt[l], out=w.D[l - 1][:, :, :-1])

    def delta_scale(self, r: int) -> np.ndarray:
        """What multiplies the output delta: 1/r for the batch mean, times -lr for SGD."""
        if self.s.optimizer == "sgd":
            return (-self.lr / self.dt.type(r)).reshape(-1, 1, 1)
        return self.dt.type(1.0 / r)

    def step(self) -> None:
        """One optimizer step in place: SGD momentum is three passes over the parameters."""
        s, p, g, m, tmp = self.s, self.theta, self.grad, self.m, self.tmp
        self.t += 1
        if self.decay is not None:
            np.multiply(p, self.decay, out=tmp)
            g += tmp
        if s.optimizer == "sgd":
            if not s.momentum:
                p += g
            else:
                m *= s.momentum
                m += g
                if s.nesterov:
                    np.multiply(m, s.momentum, out=tmp)
                    p += tmp
                    p += g
                else:
                    p += m
        else:
            u = self.u
            m *= s.beta1
            np.multiply(g, 1 - s.beta1, out=tmp)
            m += tmp
            u *= s.beta2
            np.multiply(g, g, out=tmp)
            tmp *= 1 - s.beta2
            u += tmp
            # scikit-learn's form: lr_t = lr·√(1−β2^t)/(1−β1^t); w ← w − lr_t·m/(√u + ε)
            corr = math.sqrt(1 - s.beta2 ** self.t) / (1 - s.beta1 ** self.t)
            np.sqrt(u, out=tmp)
            tmp += s.epsilon
            np.divide(m, tmp, out=tmp)
            tmp *= self.lr * self.dt.type(corr)
            p -= tmp
        for v, wt in zip(self.V[1:-1], self.Wt[1:]):
            np.copyto(wt, v[:, :-1, :].transpose(0, 2, 1))

    def score(self, X1: np.ndarray, y: np.ndarray, block: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """(mean loss, metric) per network on a whole set ``X1`` (rows with a ones column), in
        blocks of rows that stay in cache. Metric: error rate, or R² averaged over outputs."""
        n = len(X1)
        loss = np.zeros(self.P)
        metric = np.zeros(self.P)
        if self.task == "regression":
            y = y.reshape(n, -1)
            metric = np.zeros((self.P, y.shape[1]))
        for lo in range(0, n, block):
            xb, yb = X1[lo:lo + block], y[lo:lo + block]
            w = self.buffers(len(xb))
            self.forward(w, xb)
            if self.task == "classification":
                yb = np.broadcast_to(yb, (self.P, len(xb)))
                loss += self.output_delta(w, yb, 1, wrong=metric).sum(axis=1)
            else:
                yb = np.broadcast_to(yb, (self.P,) + yb.shape)
                loss += self.output_delta(w, yb, 1).sum(axis=1)
                metric += np.einsum("pki,pki->pk", w.T, w.T)
        if self.task == "classification":
            return loss / n, metric / n
        ss_tot = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
        return loss / n, (1 - metric / np.where(ss_tot > 0, ss_tot, 1)).mean(axis=1)

    def max_abs_weight(self) -> np.ndarray:
        return np.abs(self.theta).max(axis=1)

    def network(self, row: int) -> tuple:
        """(weights, biases) of one network, float64, Keras orientation."""
        blocks = [v[row].T if l == self.L - 1 else v[row] for l, v in enumerate(self.V)]
        return (tuple(np.array(b[:-1], np.float64) for b in blocks),
                tuple(np.array(b[-1], np.float64) for b in blocks))

    def keep(self, rows: np.ndarray) -> None:
        """Drop every network not in ``rows`` (diverged ones stop costing time)."""
        for name in ("theta", "grad", "m", "u", "tmp", "lr", "decay"):
            if getattr(self, name) is not None:
                setattr(self, name, np.ascontiguousarray(getattr(self, name)[rows]))
        self.P = len(rows)
        self.V, self.gV = self._views(self.theta), self._views(self.grad)
        self.refresh()
        self.work = {}


def _misclassified(shifted: np.ndarray, picked: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Rows per network whose argmax (first maximum, as ``np.argmax``) is not ``y``.

    ``shifted`` is the class-major output minus each row's maximum, ``picked`` its true-class
    entries: a row is right when its true class is at 0 and no earlier class ties it. Ties are
    checked only when some row has more than one maximum, because ``argmax`` over the leading
    class axis is ~10x slower here than the rest of the validation pass.
    """
    wrong = picked < 0
    if np.count_nonzero(shifted == 0) != picked.size:
        wrong = shifted.argmax(axis=1) != y
    return wrong.sum(axis=1)


def with_ones(X: np.ndarray, dtype) -> np.ndarray:
    """``X`` with a column of ones appended (the bias input), in ``dtype``."""
    out = np.ones((len(X), X.shape[1] + 1), dtype)
    out[:, :-1] = X
    return out


def _chunk_size(sizes, batch: int, dtype) -> int:
    """Networks per chunk so that parameters, optimizer state and work buffers stay in cache."""
    itemsize = np.dtype(dtype).itemsize
    per_net = (4 * n_params(sizes) + 3 * batch * sum(sizes)) * itemsize
    return int(max(1, min(64, CHUNK_BYTES // per_net)))


def initial_states(starts: Sequence[Start], orders: Sequence[np.random.Generator] | None, *,
                   settings: TrainSettings = TrainSettings(),
                   learning_rates: Sequence[float] | None = None) -> list[TrainState]:
    """Epoch-0 training states: ``starts[p]`` in the training dtype, optimizer buffers at zero,
    ``orders[p]``'s generator state (read, not advanced), the learning rate (``learning_rates[p]``
    or ``settings.learning_rate``)."""
    if not starts:
        return []
    sizes = starts[0].sizes
    for st in starts:
        if st.sizes != sizes:
            raise UsageError(f"a population needs one shape; got {st.sizes} and {sizes}")
    if settings.shuffle and (orders is None or len(orders) != len(starts)):
        raise UsageError("one data-order generator per network is needed when shuffling")
    lrs = (np.full(len(starts), settings.learning_rate) if learning_rates is None
           else np.asarray(learning_rates, float))
    dt = np.dtype(settings.dtype)
    sgd_plain = settings.optimizer == "sgd" and not settings.momentum
    states = []
    for p, st in enumerate(starts):
        params = tuple(np.vstack([w, b[None, :]]).astype(dt) for w, b in zip(st.weights, st.biases))
        zeros = None if sgd_plain else tuple(np.zeros_like(b) for b in params)
        second = tuple(np.zeros_like(b) for b in params) if settings.optimizer == "adam" else None
        order = orders[p].bit_generator.state if settings.shuffle else None
        states.append(TrainState(0, 0, float(lrs[p]), params, zeros, second, order))
    return states


def train_population(starts: Sequence[Start], orders: Sequence[np.random.Generator] | None, data, *,
                     activation, settings: TrainSettings = TrainSettings(),
                     learning_rates: Sequence[float] | None = None,
                     chunk_size: int | None = None,
                     progress: Callable[[int], None] | None = None) -> list[TrainResult]:
    """Train P same-shaped networks on ``data`` (a ``data.Dataset``) and return one result each.

    ``starts[p]`` is network p's starting weights; ``orders[p]`` the Generator that draws its
    minibatch order (one permutation of the training rows per epoch; unused when
    ``settings.shuffle`` is False), advanced as it draws. ``learning_rates`` overrides
    ``settings.learning_rate`` per network. The population is trained in cache-sized chunks, BLAS
    pinned to one thread; ``progress(n_done)`` is called after each chunk. The same as
    ``continue_training(initial_states(...), ...)``, run by the same code.
    """
    states = initial_states(starts, orders, settings=settings, learning_rates=learning_rates)
    done = _run(states, orders, data, activation, settings, settings.epochs, chunk_size, progress)
    return [st.result() for st in done]


def continue_training(states: Sequence[TrainState], data, *, activation,
                      settings: TrainSettings = TrainSettings(), until: int | None = None,
                      chunk_size: int | None = None,
                      progress: Callable[[int], None] | None = None) -> list[TrainState]:
    """Train each state on from its epoch to epoch ``until`` (default ``settings.epochs``).

    ``states`` may be any networks of one shape at one epoch — a whole population or the subset
    worth going on with — from ``initial_states`` or an earlier call, in this process or another:
    0 → E in one go and 0 → k, then k → E give the same bits, alone or in a population of any
    size (each network keeps its own generator, its own rows of every array). Diverged states
    and states already at ``until`` come back unchanged; the states passed in are not modified.
    """
    return _run(states, None, data, activation, settings, settings.epochs if until is None else until,
                chunk_size, progress)


def _generator(state: dict) -> np.random.Generator:
    """A generator resumed from its ``bit_generator.state`` dict."""
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937"):
        raise UsageError(f"not a NumPy bit-generator state: {name!r}")
    bits = getattr(np.random, name)()
    bits.state = state
    return np.random.Generator(bits)


def _run(states, orders, data, activation, settings: TrainSettings, until: int, chunk_size,
         progress) -> list[TrainState]:
    """Train the states that are alive and short of ``until``, in chunks; the others pass through.

    ``orders`` are live generators to draw from (advanced in place), or None to resume each
    state's own."""
    states = list(states)
    if not states:
        return []
    sizes = states[0].sizes
    if sizes[0] != data.n_features or sizes[-1] != data.n_outputs:
        raise UsageError(f"network {'-'.join(map(str, sizes))} does not fit the data "
                         f"({data.n_features} features, {data.n_outputs} outputs)")
    todo = [p for p, st in enumerate(states) if not st.diverged and st.epoch < until]
    if any(states[p].sizes != sizes for p in range(len(states))):
        raise UsageError("states to continue together need one shape")
    if len({(states[p].epoch, states[p].steps) for p in todo}) > 1:
        raise UsageError("states to continue together must be at the same epoch")
    if any(st.epoch > until for st in states):
        raise UsageError(f"until={until} is before a state's epoch")
    dt = np.dtype(settings.dtype)
    if any(st.params[0].dtype != dt for st in states):
        raise UsageError(f"the states were trained in another dtype than {settings.dtype}")
    if settings.shuffle:
        if orders is None:
            if any(states[p].order is None for p in todo):
                raise UsageError("a state without a data-order generator state cannot continue shuffled")
            orders = [_generator(states[p].order) if p in todo else None for p in range(len(states))]
        elif len(orders) != len(states):
            raise UsageError("one data-order generator per network is needed when shuffling")
    act = _activations.get(activation)
    size = chunk_size or _chunk_size(sizes, settings.batch_size, settings.dtype)
    with threadpool_limits(limits=1), np.errstate(all="ignore"):
        for lo in range(0, len(todo), size):
            rows = todo[lo:lo + size]
            chunk = _train_chunk([states[p] for p in rows], None if orders is None else [orders[p] for p in rows],
                                 data, act, settings, until)
            for p, st in zip(rows, chunk):
                states[p] = st
            if progress:
                progress(min(lo + size, len(todo)))
    return states


def _train_chunk(states, orders, data, act, s: TrainSettings, until: int) -> list[TrainState]:
    """Train one chunk of states (same epoch) to ``until``; new states, the old ones untouched."""
    dt = np.dtype(s.dtype)
    X = with_ones(data.X_train, dt)
    Xv = with_ones(data.X_val, dt)
    task = data.task
    y = data.y_train if task == "classification" else np.asarray(data.y_train, dt).reshape(len(X), -1)
    yv = data.y_val if task == "classification" else np.asarray(data.y_val, dt)
    N, B = len(X), min(s.batch_size, len(X))
    stack = _Stack(states, act, task, s)
    P, first = stack.P, states[0].epoch
    alive = np.arange(P)                      # original index of each row still training
    curves = np.full((3, P, until - first), np.nan)
    out: list = [None] * P
    for e, epoch in enumerate(range(first, until)):
        if s.shuffle:
            order = np.stack([orders[p].permutation(N) for p in alive])
        else:
            order = np.broadcast_to(np.arange(N), (len(alive), N))
        loss_sum = np.zeros(len(alive))
        for lo in range(0, N, B):
            idx = order[:, lo:lo + B]
            w = stack.buffers(idx.shape[1])
            np.take(X, idx, axis=0, out=w.A[0], mode="clip")
            stack.forward(w)
            yb = np.take(y, idx, out=w.y, mode="clip") if task == "classification" else y[idx]
            losses = stack.output_delta(w, yb, w.scale)
            loss_sum += losses.sum(axis=1)
            stack.backward(w)
            stack.step()
        train_loss = loss_sum / N
        val_loss, val_metric = stack.score(Xv, yv)
        curves[:, alive, e] = train_loss, val_loss, val_metric
        ok = np.isfinite(train_loss) & np.isfinite(val_loss) & (stack.max_abs_weight() <= s.weight_limit)
        if not ok.all():
            for row in np.flatnonzero(~ok):
                p = alive[row]
                out[p] = _state_of(stack, row, states[p], orders, p, curves[:, p, :e], epoch + 1, task)
            alive = alive[ok]
            if not len(alive):
                break
            stack.keep(np.flatnonzero(ok))
    for row, p in enumerate(alive):
        out[p] = _state_of(stack, row, states[p], orders, p, curves[:, p], None, task)
    return out


def _state_of(stack: "_Stack", row: int, before: TrainState, orders, p: int, curves: np.ndarray,
              diverged_epoch: int | None, task: str) -> TrainState:
    """Network ``row`` of ``stack`` as a state: ``before``'s curves extended by ``curves``."""
    epoch = diverged_epoch if diverged_epoch is not None else before.epoch + curves.shape[1]
    tl, vl, vm = (np.concatenate([old, new]) for old, new in
                  zip((before.train_loss, before.val_loss, before.val_metric), curves))
    return TrainState(epoch, stack.t, before.learning_rate, stack.blocks(stack.theta, row),
                      stack.blocks(stack.m, row) if stack.s.optimizer == "adam" or stack.s.momentum else None,
                      stack.blocks(stack.u, row), None if orders is None else orders[p].bit_generator.state,
                      tl, vl, vm, "val_error" if task == "classification" else "val_r2", diverged_epoch)


def loss_and_grads(start: Start, X: np.ndarray, y: np.ndarray, *, activation, task: str,
                   dtype="float64") -> tuple[float, tuple, tuple]:
    """Mean loss of one network on (X, y) and its gradients, through the training code path.

    Used to check the backward pass against finite differences.
    """
    settings = TrainSettings(dtype=dtype, optimizer="adam", learning_rate=1.0, shuffle=False)
    stack = _Stack(initial_states([start], None, settings=settings), _activations.get(activation), task, settings)
    w = stack.buffers(len(X))
    np.copyto(w.A[0], with_ones(X, dtype)[None])
    yb = np.asarray(y)[None] if task == "classification" else np.asarray(y, dtype).reshape(1, len(X), -1)
    with threadpool_limits(limits=1):
        stack.forward(w)
        losses = stack.output_delta(w, yb, stack.delta_scale(len(X)))
        stack.backward(w)
    stack.theta = stack.grad  # read the gradients out in Keras orientation
    stack.V = stack.gV
    weights, biases = stack.network(0)
    return float(losses.mean()), weights, biases


def trace(start: Start, X: np.ndarray, y: np.ndarray, *, activation, task: str,
          dtype="float64") -> tuple[list, list]:
    """Per-layer signals of one network on (X, y), through the training code path.

    Returns ``(activations, deltas)``: ``activations[l]`` is hidden layer l's output f(Z) and the
    last entry the output layer's logits/values, each ``(n, width)``; ``deltas[l]`` is
    dLoss/dZ of layer l (the back-propagated gradient, mean loss over the rows), same shapes.
    Used by the diagnostics (Glorot & Bengio's per-layer statistics).
    """
    settings = TrainSettings(dtype=dtype, optimizer="adam", learning_rate=1.0, shuffle=False)
    stack = _Stack(initial_states([start], None, settings=settings), _activations.get(activation), task, settings)
    n = len(X)
    w = stack.buffers(n)
    np.copyto(w.A[0], with_ones(X, dtype)[None])
    yb = np.asarray(y)[None] if task == "classification" else np.asarray(y, dtype).reshape(1, n, -1)
    with threadpool_limits(limits=1):
        stack.forward(w)
        acts = [a[0, :, :-1].astype(np.float64) for a in w.A[1:]] + [w.T[0].T.astype(np.float64)]
        stack.output_delta(w, yb, stack.delta_scale(n))
        deltas = [w.T[0].T.astype(np.float64)]
        L = stack.L
        if L > 1:
            np.matmul(w.T.transpose(0, 2, 1), stack.V[L - 1][:, :, :-1], out=w.D[L - 2][:, :, :-1])
        for l in range(L - 2, -1, -1):
            D = w.D[l]
            D *= stack.act.grad(None if w.Z is None else w.Z[l], w.A[l + 1], out=w.A[l + 1])
            deltas.insert(0, D[0, :, :-1].astype(np.float64))
            if l:
                np.matmul(D[:, :, :-1], stack.Wt[l], out=w.D[l - 1][:, :, :-1])
    return acts, deltas


def predict(weights, biases, X: np.ndarray, *, activation) -> np.ndarray:
    """Output layer of one network (logits for classification, values for regression), float64."""
    act = _activations.get(activation)
    A = np.asarray(X, np.float64)
    for l, (W, b) in enumerate(zip(weights, biases)):
        A = A @ W + b
        if l < len(weights) - 1:
            A = act.fn(A)
    return A


def score(weights, biases, X: np.ndarray, y: np.ndarray, *, activation, task: str) -> tuple[float, float]:
    """(mean loss, metric) of one network on (X, y) in float64: metric is the error rate (first
    maximum as the prediction) or R² averaged over outputs — the same definitions as training."""
    out = predict(weights, biases, X, activation=activation)
    if task == "classification":
        z = out - out.max(axis=1, keepdims=True)
        loss = np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(z)), y]
        return float(loss.mean()), float(np.mean(out.argmax(axis=1) != y))
    y2 = np.asarray(y, np.float64).reshape(len(out), -1)
    err = out - y2
    ss_tot = ((y2 - y2.mean(axis=0)) ** 2).sum(axis=0)
    r2 = 1 - (err**2).sum(axis=0) / np.where(ss_tot > 0, ss_tot, 1)
    return float(0.5 * (err**2).sum(axis=1).mean()), float(r2.mean())

