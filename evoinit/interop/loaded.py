"""An estimator fitted from a run folder's kept network (``EvoMLPClassifier.from_run``): the
network's arrays become the estimator's ``coefs_``/``intercepts_``, with the dataset's input
standardisation folded into the first layer (``W/x_scale``, ``b − (x_mean/x_scale)·W``) and, for
regression, the targets' scaling into the last, so ``predict`` takes raw rows as the search's
data file held them. Nothing is trained."""

from __future__ import annotations

import numpy as np

from evoinit.errors import RunFolderError
from evoinit.runfolder import networks as _networks
from evoinit.runfolder import views
from evoinit.runfolder.folder import RunFolder

#: The estimator parameters a run's training settings fill in (same names).
_PARAMS = ("epochs", "batch_size", "optimizer", "learning_rate", "momentum", "nesterov", "weight_decay", "dtype")


def from_run(cls, run, rank: int = 1):
    """A fitted ``cls`` (EvoMLPClassifier or EvoMLPRegressor) holding kept network ``rank`` of
    the run folder ``run``; its parameters are the run's genome and training settings."""
    net = _networks.read(run, rank)
    if net.task != cls._task:
        other = "EvoMLPClassifier" if net.task == "classification" else "EvoMLPRegressor"
        raise RunFolderError(f"{run} is a {net.task} run: load it with {other}.from_run")
    settings = views.train_settings(RunFolder(run).read_config())
    params = {k: getattr(settings, k) for k in _PARAMS} if settings is not None else {}
    model = cls(str(net.genome), **params)
    coefs = [np.asarray(W, np.float64) for W in net.weights]
    intercepts = [np.asarray(b, np.float64) for b in net.biases]
    intercepts[0] = intercepts[0] - (net.x_mean / net.x_scale) @ coefs[0]
    coefs[0] = coefs[0] / net.x_scale[:, None]
    if net.task == "regression":
        coefs[-1], intercepts[-1] = coefs[-1] * net.y_scale, intercepts[-1] * net.y_scale + net.y_mean
    else:
        model.classes_ = np.asarray(net.class_names)
    model.coefs_, model.intercepts_ = coefs, intercepts
    model.n_features_in_, model.n_layers_, model.n_outputs_ = net.n_in, len(coefs) + 1, net.n_out
    model.genome_, model.seed_, model.search_result_, model._state = net.genome, net.run_seed, None, None
    model.n_iter_, model.loss_curve_, model.loss_, model.validation_scores_ = 0, [], float(net.val_loss), None
    model.network_ = net
    return model
