"""The trainer's engine: the arrays of a chunk of P same-shaped networks and the passes over them.

Only ``network.py`` uses it (``train_population``, ``continue_training``, ``loss_and_grads``,
``trace``). Shapes as there: layer l maps fan_in -> fan_out, activations are batch-major
``(P, r, width)`` for a minibatch of r rows. Every network owns its rows of every array, and
NumPy's stacked matmul runs one GEMM per network, so a network's bits do not depend on the others.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def n_params(sizes: Sequence[int]) -> int:
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def with_ones(X: np.ndarray, dtype) -> np.ndarray:
    """``X`` with a column of ones appended (the bias input), in ``dtype``."""
    out = np.ones((len(X), X.shape[1] + 1), dtype)
    out[:, :-1] = X
    return out


class Work:
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
        self.scale = None  # the output delta's factor for a training step, set once by Stack.buffers


class Stack:
    """The changing state of a chunk of P networks: parameters, optimizer state, work buffers.

    All parameters of a network live in one row of ``params`` ``(P, n_params)`` so the optimizer
    is a few in-place passes over one array; ``velocity`` (SGD momentum, Adam's first moment),
    ``second_moment`` (Adam) and ``grad`` have the same layout. ``layers[l]`` is a view of hidden
    layer l ``(P, fan_in + 1, fan_out)`` (Keras orientation, bias as the last row); the output
    layer is stored transposed, ``layers[-1]`` ``(P, n_out, fan_in + 1)``, which makes its forward
    product, its gradient and the backpropagated delta all run without a slow transposed-view
    product, and leaves the logits class-major. ``grad_layers`` are the same views of ``grad``.
    ``transposed[l]`` is a contiguous transposed copy of hidden layer l >= 1 (for the backward
    product), refreshed after every step. For a training step SGD folds ``-lr`` into the output
    delta (``step_scale``), so its ``grad`` holds ``-lr·∇``; ``plain_scale`` gives ``∇`` itself.
    ``best`` (early stopping only) holds each network's parameters at its best epoch, laid out as
    ``params``.
    """

    def __init__(self, states: Sequence, act, task: str, settings):
        """``states``: ``network.TrainState`` values of one shape (params and optimizer buffers)."""
        dt = np.dtype(settings.dtype)
        self.dt, self.act, self.task, self.settings = dt, act, task, settings
        self.P = P = len(states)
        self.sizes = sizes = states[0].sizes
        self.L = L = len(sizes) - 1
        self.params = np.empty((P, n_params(sizes)), dt)
        self.grad = np.zeros_like(self.params)
        self.velocity = np.zeros_like(self.params)
        self.second_moment = np.zeros_like(self.params) if settings.optimizer == "adam" else None
        for flat, name in ((self.params, "params"), (self.velocity, "velocity"),
                           (self.second_moment, "second_moment")):
            if flat is not None:
                self.load(flat, [getattr(st, name) for st in states])
        self.scratch = np.zeros_like(self.params)
        self.best = None
        if settings.patience:
            # early stopping: each network's parameters at its best epoch so far (``snapshot``)
            self.best = self.params.copy()
            self.load(self.best, [st.best_params for st in states])
        self.lr = np.asarray([st.learning_rate for st in states], dtype=np.float64).reshape(P, 1).astype(dt)
        self.decay = None
        if settings.weight_decay:
            # L2 on weights only (as scikit-learn's alpha): ∇ += λ·w, SGD: -lr·∇ -= lr·λ·w
            mask = self._views(np.zeros((1, self.params.shape[1]), dt))
            for l, v in enumerate(mask):
                (v[:, :, :-1] if l == L - 1 else v[:, :-1, :])[...] = 1
            factor = -self.lr if settings.optimizer == "sgd" else np.ones((P, 1), dt)
            self.decay = factor * settings.weight_decay * mask[0].base.reshape(1, -1)
        self.steps = states[0].steps
        self._relayout()

    def _views(self, flat: np.ndarray) -> list:
        views, off = [], 0
        for l, (i, o) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            shape = (o, i + 1) if l == self.L - 1 else (i + 1, o)
            views.append(flat[:, off:off + (i + 1) * o].reshape(flat.shape[0], *shape))
            off += (i + 1) * o
        return views

    def _relayout(self) -> None:
        """Views, transposed copies and work buffers for the current ``params``/``grad`` arrays."""
        self.layers, self.grad_layers = self._views(self.params), self._views(self.grad)
        self.transposed = [None] + [np.ascontiguousarray(v[:, :-1, :].transpose(0, 2, 1))
                                    for v in self.layers[1:-1]]
        self.work: dict[int, Work] = {}

    def load(self, flat: np.ndarray, networks: Sequence) -> None:
        """Put each network's layer blocks ``(fan_in + 1, fan_out)`` (or None: leave zeros) into
        its row of ``flat``."""
        views = self._views(flat)
        for row, blocks in enumerate(networks):
            for l, block in enumerate(blocks or ()):
                views[l][row] = block.T if l == self.L - 1 else block

    def blocks(self, flat: np.ndarray | None, row: int) -> tuple | None:
        """Row ``row`` of ``flat`` as layer blocks ``(fan_in + 1, fan_out)`` (copies, same dtype)."""
        if flat is None:
            return None
        return tuple(np.array(v[row].T if l == self.L - 1 else v[row])
                     for l, v in enumerate(self._views(flat)))

    def buffers(self, r: int) -> Work:
        if r not in self.work:
            w = self.work[r] = Work(self.P, r, self.sizes, self.dt, self.act.needs_input)
            w.scale = self.step_scale(r)
        return self.work[r]

    def step_scale(self, r: int):
        """What multiplies the output delta of a training step: 1/r (the batch mean), times -lr
        for SGD (folded here, so SGD's update is additions only)."""
        if self.settings.optimizer == "sgd":
            return (-self.lr / self.dt.type(r)).reshape(-1, 1, 1)
        return self.plain_scale(r)

    def plain_scale(self, r: int):
        """What makes the output delta dLoss/dT of the mean loss over r rows (plain gradients)."""
        return self.dt.type(1.0 / r)

    def weighted_scale(self, weights: np.ndarray):
        """The training step's output-delta factor ``(P, 1, r)`` for per-row weights ``(P, r)``:
        row i counts ``w_i / Σ w`` of the batch (scikit-learn's weighted mean), times -lr for SGD."""
        total = weights.sum(axis=1, keepdims=True)
        share = weights / np.where(total > 0, total, 1)  # a batch of weight 0 takes no step
        if self.settings.optimizer == "sgd":
            share *= -self.lr
        return share[:, None, :]

    def forward(self, w: Work, x: np.ndarray | None = None) -> np.ndarray:
        """Run ``x`` (rows with a ones column; default the gathered batch ``w.A[0]``) through.

        Returns the output layer class-major ``(P, n_out, r)`` in ``w.T``.
        """
        a = w.A[0] if x is None else x
        for l in range(self.L - 1):
            full = w.A[l + 1]
            np.matmul(a, self.layers[l], out=full[:, :, :-1])
            if w.Z is not None:
                np.copyto(w.Z[l], full)
            self.act.fn(full, out=full)
            full[:, :, -1] = 1
            a = full
        return np.matmul(self.layers[-1], a.T if a.ndim == 2 else a.transpose(0, 2, 1), out=w.T)

    def output_delta(self, w: Work, y: np.ndarray, scale, wrong: np.ndarray | None = None) -> np.ndarray:
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
                wrong += misclassified(T, picked, y)
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

    def backward(self, w: Work, signals: list | None = None) -> None:
        """Gradients into ``grad`` from the scaled output delta in ``w.T``.

        If ``signals`` is a list, each hidden layer's delta ``(P, r, width)`` (dZ, times the
        delta's scale) is put in it too, first layer first.
        """
        L = self.L
        np.matmul(w.T, w.A[L - 1], out=self.grad_layers[L - 1])
        if L == 1:
            return
        np.matmul(w.T.transpose(0, 2, 1), self.layers[L - 1][:, :, :-1], out=w.D[L - 2][:, :, :-1])
        for l in range(L - 2, -1, -1):
            D = w.D[l]
            # A[l + 1] is not read again this step: its buffer takes f'(Z) (forward resets ones)
            D *= self.act.grad(None if w.Z is None else w.Z[l], w.A[l + 1], out=w.A[l + 1])
            if signals is not None:
                signals.insert(0, D[:, :, :-1].copy())
            np.matmul(w.A[l].transpose(0, 2, 1), D[:, :, :-1], out=self.grad_layers[l])
            if l:
                np.matmul(D[:, :, :-1], self.transposed[l], out=w.D[l - 1][:, :, :-1])

    def step(self) -> None:
        """One optimizer step in place: SGD momentum is three passes over the parameters."""
        s, p, g, m, tmp = self.settings, self.params, self.grad, self.velocity, self.scratch
        self.steps += 1
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
            u = self.second_moment
            m *= s.beta1
            np.multiply(g, 1 - s.beta1, out=tmp)
            m += tmp
            u *= s.beta2
            np.multiply(g, g, out=tmp)
            tmp *= 1 - s.beta2
            u += tmp
            # scikit-learn's form: lr_t = lr·√(1−β2^t)/(1−β1^t); w ← w − lr_t·m/(√u + ε)
            corr = math.sqrt(1 - s.beta2 ** self.steps) / (1 - s.beta1 ** self.steps)
            np.sqrt(u, out=tmp)
            tmp += s.epsilon
            np.divide(m, tmp, out=tmp)
            tmp *= self.lr * self.dt.type(corr)
            p -= tmp
        for v, wt in zip(self.layers[1:-1], self.transposed[1:]):
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

    def snapshot(self, rows: np.ndarray) -> None:
        """Copy the parameters of networks ``rows`` into ``best`` (they reached a better epoch)."""
        self.best[rows] = self.params[rows]

    def max_abs_weight(self) -> np.ndarray:
        return np.abs(self.params).max(axis=1)

    def keep(self, rows: np.ndarray) -> None:
        """Drop every network not in ``rows`` (diverged or stopped ones stop costing time)."""
        for name in ("params", "grad", "velocity", "second_moment", "scratch", "lr", "decay", "best"):
            if getattr(self, name) is not None:
                setattr(self, name, np.ascontiguousarray(getattr(self, name)[rows]))
        self.P = len(rows)
        self._relayout()


def misclassified(shifted: np.ndarray, picked: np.ndarray, y: np.ndarray) -> np.ndarray:
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
