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
stops training and is reported diverged (contract 4); the others go on. Early stopping
(``settings.patience``): a network whose monitored validation score has not improved for that
many epochs stops too, and its result holds the parameters of its best epoch, kept in place
(``Stack.best``) — the bits of training exactly that many epochs (contract 9).

Training can pause and go on: ``initial_states`` → ``continue_training(..., until=k)`` → (pickle,
another process, a subset of the networks) → ``continue_training`` gives the bits of one
``train_population`` run. The arrays and passes of a chunk of networks live in ``stack.py``.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from evoinit.errors import UsageError
from evoinit.nn import activations as _activations
from evoinit.nn import initializers as _initializers
from evoinit.nn.stack import Stack, n_params, with_ones
from evoinit.nn.training import Start, TrainResult, TrainSettings, TrainState, watched

#: Working-set budget per chunk of networks: populations larger than the 2 MiB L2 cache slow down
#: (PERFORMANCE.md), so a population is trained in chunks that fit.
CHUNK_BYTES = 2 << 20


def layer_sizes(n_in: int, hidden: Sequence[int], n_out: int) -> tuple:
    return (int(n_in), *(int(h) for h in hidden), int(n_out))


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
                     progress: Callable[[int], None] | None = None,
                     sample_weight: np.ndarray | None = None) -> list[TrainResult]:
    """Train P same-shaped networks on ``data`` (a ``data.Dataset``) and return one result each.

    ``starts[p]`` is network p's starting weights; ``orders[p]`` the Generator that draws its
    minibatch order (one permutation of the training rows per epoch; unused when
    ``settings.shuffle`` is False), advanced as it draws. ``learning_rates`` overrides
    ``settings.learning_rate`` per network. The population is trained in cache-sized chunks, BLAS
    pinned to one thread; ``progress(n_done)`` is called after each chunk. ``sample_weight``
    ``(n_train,)`` (>= 0) weighs the training rows: each step follows the batch's weighted mean
    loss ``Σ wᵢ·lᵢ / Σ wᵢ`` (scikit-learn's MLP form), the training curve is ``Σ wᵢ·lᵢ / Σ wᵢ`` over
    the epoch; validation stays unweighted. The same as ``continue_training(initial_states(...),
    ...)``, run by the same code.
    """
    # no name holds the epoch-0 states: each chunk's are freed once it is trained
    done = _run(initial_states(starts, orders, settings=settings, learning_rates=learning_rates),
                orders, data, activation, settings, settings.epochs, chunk_size, progress, sample_weight)
    return [done[p].result() for p in range(len(done))]


def continue_training(states: Sequence[TrainState], data, *, activation,
                      settings: TrainSettings = TrainSettings(), until: int | None = None,
                      chunk_size: int | None = None,
                      progress: Callable[[int], None] | None = None,
                      sample_weight: np.ndarray | None = None) -> list[TrainState]:
    """Train each state on from its epoch to epoch ``until`` (default ``settings.epochs``).

    ``states`` may be any networks of one shape at one epoch — a whole population or the subset
    worth going on with — from ``initial_states`` or an earlier call, in this process or another:
    0 → E in one go and 0 → k, then k → E give the same bits, alone or in a population of any
    size (each network keeps its own generator, its own rows of every array). Diverged states
    and states already at ``until`` come back unchanged; the states passed in are not modified.
    """
    return _run(states, None, data, activation, settings, settings.epochs if until is None else until,
                chunk_size, progress, sample_weight)


def _generator(state: dict) -> np.random.Generator:
    """A generator resumed from its ``bit_generator.state`` dict."""
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937"):
        raise UsageError(f"not a NumPy bit-generator state: {name!r}")
    bits = getattr(np.random, name)()
    bits.state = state
    return np.random.Generator(bits)


def _run(states, orders, data, activation, settings: TrainSettings, until: int, chunk_size,
         progress, sample_weight=None) -> list[TrainState]:
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
    todo = [p for p, st in enumerate(states)
            if not st.diverged and not st.stopped(settings.patience) and st.epoch < until]
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
    weights = _sample_weight(sample_weight, len(data.X_train), settings.dtype)
    act = _activations.get(activation)
    size = chunk_size or _chunk_size(sizes, settings.batch_size, settings.dtype)
    with threadpool_limits(limits=1), np.errstate(all="ignore"):
        for lo in range(0, len(todo), size):
            rows = todo[lo:lo + size]
            chunk = _train_chunk([states[p] for p in rows], None if orders is None else [orders[p] for p in rows],
                                 data, act, settings, until, weights)
            for p, st in zip(rows, chunk):
                states[p] = st
            if progress:
                progress(min(lo + size, len(todo)))
    return states


def _sample_weight(sample_weight, n: int, dtype) -> np.ndarray | None:
    """``sample_weight`` checked: ``(n,)``, finite, >= 0, not all 0; in the training dtype."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any() or not w.any():
        raise UsageError(f"sample_weight must be {n} finite numbers >= 0 (one per training row), "
                         f"not all 0; got shape {w.shape}")
    return w.astype(dtype)


def _train_chunk(states, orders, data, act, s: TrainSettings, until: int,
                 weights: np.ndarray | None = None) -> list[TrainState]:
    """Train one chunk of states (same epoch) to ``until``; new states, the old ones untouched."""
    dt = np.dtype(s.dtype)
    X = with_ones(data.X_train, dt)
    Xv = with_ones(data.X_val, dt)
    task = data.task
    y = data.y_train if task == "classification" else np.asarray(data.y_train, dt).reshape(len(X), -1)
    yv = data.y_val if task == "classification" else np.asarray(data.y_val, dt)
    N, B = len(X), min(s.batch_size, len(X))
    stack = Stack(states, act, task, s)
    P, first = stack.P, states[0].epoch
    alive = np.arange(P)                      # original index of each row still training
    curves = np.full((3, P, until - first), np.nan)
    out: list = [None] * P
    metric = "val_error" if task == "classification" else "val_r2"
    if s.patience:                            # each network's best epoch so far and its score
        best_epoch = np.array([st.best_epoch or 0 for st in states])
        best_score = np.array([watched(s.monitor, st.val_loss, st.val_metric, metric)[st.best_epoch - 1]
                               if st.best_epoch else np.inf for st in states])
    for e, epoch in enumerate(range(first, until)):
        if s.shuffle:
            order = np.stack([orders[p].permutation(N) for p in alive])
        else:
            order = np.broadcast_to(np.arange(N), (len(alive), N))
        loss_sum = _epoch(stack, X, y, order, B, weights, task)
        train_loss = loss_sum / (N if weights is None else weights.sum(dtype=np.float64))
        val_loss, val_metric = stack.score(Xv, yv)
        curves[:, alive, e] = train_loss, val_loss, val_metric
        ok = np.isfinite(train_loss) & np.isfinite(val_loss) & (stack.max_abs_weight() <= s.weight_limit)
        go = ok
        if s.patience:
            # strictly better: a tie keeps the earlier epoch; a stopped network leaves the stack,
            # as a diverged one does (its rows are its own: the others' bits do not change)
            score = watched(s.monitor, val_loss, val_metric, metric)
            better = np.flatnonzero(ok & (score < best_score[alive]))
            if len(better):
                stack.snapshot(better)
                best_score[alive[better]] = score[better]
                best_epoch[alive[better]] = epoch + 1
            go = ok & (epoch + 1 - best_epoch[alive] < s.patience)
        if not go.all():
            for row in np.flatnonzero(~go):
                p = alive[row]
                best = (int(best_epoch[p]) or None) if s.patience else None
                if ok[row]:   # stopped early: its curves end with this epoch
                    out[p] = _state_of(stack, row, states[p], orders, p, curves[:, p, :e + 1], None, task, best)
                else:
                    out[p] = _state_of(stack, row, states[p], orders, p, curves[:, p, :e], epoch + 1, task, best)
            alive = alive[go]
            if not len(alive):
                break
            stack.keep(np.flatnonzero(go))
    for row, p in enumerate(alive):
        best = (int(best_epoch[p]) or None) if s.patience else None
        out[p] = _state_of(stack, row, states[p], orders, p, curves[:, p], None, task, best)
    return out


def _epoch(stack: Stack, X, y, order: np.ndarray, B: int, weights, task: str) -> np.ndarray:
    """One pass of minibatches over the rows in each network's ``order`` (P, N): forward, loss,
    backward, step; returns each network's summed training loss (row-weighted with ``weights``)."""
    loss_sum = np.zeros(len(order))
    for lo in range(0, order.shape[1], B):
        idx = order[:, lo:lo + B]
        w = stack.buffers(idx.shape[1])
        np.take(X, idx, axis=0, out=w.A[0], mode="clip")
        stack.forward(w)
        yb = np.take(y, idx, out=w.y, mode="clip") if task == "classification" else y[idx]
        if weights is None:
            loss_sum += stack.output_delta(w, yb, w.scale).sum(axis=1)
        else:
            wb = weights[idx]
            loss_sum += (stack.output_delta(w, yb, stack.weighted_scale(wb)) * wb).sum(axis=1)
        stack.backward(w)
        stack.step()
    return loss_sum


def _state_of(stack: Stack, row: int, before: TrainState, orders, p: int, curves: np.ndarray,
              diverged_epoch: int | None, task: str, best_epoch: int | None = None) -> TrainState:
    """Network ``row`` of ``stack`` as a state: ``before``'s curves extended by ``curves``; with
    early stopping, its best epoch and the parameters it had there."""
    epoch = diverged_epoch if diverged_epoch is not None else before.epoch + curves.shape[1]
    tl, vl, vm = (np.concatenate([old, new]) for old, new in
                  zip((before.train_loss, before.val_loss, before.val_metric), curves))
    keeps_velocity = stack.settings.optimizer == "adam" or stack.settings.momentum
    return TrainState(epoch, stack.steps, before.learning_rate, stack.blocks(stack.params, row),
                      stack.blocks(stack.velocity, row) if keeps_velocity else None,
                      stack.blocks(stack.second_moment, row),
                      None if orders is None else orders[p].bit_generator.state,
                      tl, vl, vm, "val_error" if task == "classification" else "val_r2", diverged_epoch,
                      best_epoch, None if best_epoch is None else stack.blocks(stack.best, row))


