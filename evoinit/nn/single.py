"""One network at a time, outside the population trainer: its prediction and scores, and its loss,
gradients and per-layer trace for the checks and diagnostics (the same passes as ``Stack``, P = 1)."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from evoinit.nn import activations as _activations
from evoinit.nn.network import initial_states
from evoinit.nn.stack import Stack, with_ones
from evoinit.nn.training import Start, TrainSettings


def _one(start: Start, X: np.ndarray, y: np.ndarray, activation, task: str, dtype):
    """A stack of one network fed (X, y) as one batch: (stack, work buffers, targets)."""
    settings = TrainSettings(dtype=dtype, shuffle=False)
    stack = Stack(initial_states([start], None, settings=settings), _activations.get(activation), task, settings)
    w = stack.buffers(len(X))
    np.copyto(w.A[0], with_ones(X, dtype)[None])
    yb = np.asarray(y)[None] if task == "classification" else np.asarray(y, dtype).reshape(1, len(X), -1)
    return stack, w, yb


def loss_and_grads(start: Start, X: np.ndarray, y: np.ndarray, *, activation, task: str,
                   dtype="float64") -> tuple[float, tuple, tuple]:
    """Mean loss of one network on (X, y) and its gradients, through the training code path.

    Used to check the backward pass against finite differences.
    """
    stack, w, yb = _one(start, X, y, activation, task, dtype)
    with threadpool_limits(limits=1):
        stack.forward(w)
        losses = stack.output_delta(w, yb, stack.plain_scale(len(X)))
        stack.backward(w)
    blocks = stack.blocks(stack.grad, 0)
    return (float(losses.mean()), tuple(np.array(b[:-1], np.float64) for b in blocks),
            tuple(np.array(b[-1], np.float64) for b in blocks))


def trace(start: Start, X: np.ndarray, y: np.ndarray, *, activation, task: str,
          dtype="float64") -> tuple[list, list]:
    """Per-layer signals of one network on (X, y), through the training code path.

    Returns ``(activations, deltas)``: ``activations[l]`` is hidden layer l's output f(Z) and the
    last entry the output layer's logits/values, each ``(n, width)``; ``deltas[l]`` is
    dLoss/dZ of layer l (the back-propagated gradient, mean loss over the rows), same shapes.
    Used by the diagnostics (Glorot & Bengio's per-layer statistics).
    """
    stack, w, yb = _one(start, X, y, activation, task, dtype)
    signals: list = []
    with threadpool_limits(limits=1):
        stack.forward(w)
        acts = [a[0, :, :-1].astype(np.float64) for a in w.A[1:]] + [w.T[0].T.astype(np.float64)]
        stack.output_delta(w, yb, stack.plain_scale(len(X)))
        output = w.T[0].T.astype(np.float64)
        stack.backward(w, signals)
    return acts, [d[0].astype(np.float64) for d in signals] + [output]


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
