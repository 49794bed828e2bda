"""The hall of fame's trained networks, kept in the run folder: chosen by validation, rebuilt bit
for bit from their seed keys, exported with their weights, loaded by the estimators, and refused
in one line when missing or damaged (never unpickled)."""

import importlib.util
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import evoinit
from evoinit import data as _data
from evoinit.errors import RunFolderError
from evoinit.ga.evaluation import Evaluation
from evoinit.ga.kept import Network, best_network, rebuild
from evoinit.interop.sklearn import EvoMLPClassifier, EvoMLPRegressor
from evoinit.interop.trained import export_trained
from evoinit.nn import activations
from evoinit.runfolder import networks


def _search(out, dataset, **kw):
    return evoinit.search(dataset, population=4, generations=1, epochs=4, repeats=2, hall_of_fame=3,
                          n_jobs=1, out=out, **kw)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("keep") / "run"
    return out, _search(out, "iris")


@pytest.fixture(scope="module")
def reg_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("keep_reg") / "run"
    return out, _search(out, "linnerud", seed=3)


def _evaluations(out: Path) -> dict:
    lines = [json.loads(line) for line in (out / "evaluations.jsonl").read_text().splitlines()]
    return {(json.dumps(d["genome"]), tuple(d["seed"])): Evaluation.from_json(d, 0.0)
            for d in lines if d.get("stage") != "final"}


def test_each_entry_keeps_its_best_validation_repeat(run):
    out, result = run
    fame = json.loads((out / "hall_of_fame.json").read_text())["entries"]
    evals = _evaluations(out)
    assert len(result.networks) == len(fame) >= 2
    for entry, net in zip(fame, result.networks):
        repeats = [evals[(json.dumps(entry["genome"]), tuple(k))] for k in entry["seeds"]]
        losses = [e.final_val_loss for e in repeats]
        assert list(net.key) == entry["seeds"][int(np.argmin(losses))]
        assert net.val_loss == min(losses)   # the retrained network is the one the search scored
        assert (out / "networks" / f"rank-{net.rank}.npz").is_file()


def test_a_kept_network_is_rebuilt_bit_for_bit_from_its_seed_key(run):
    out, result = run
    kept = networks.read(out, 2)
    config = result.config
    again = rebuild(kept.genome, kept.key, _data.load(config.dataset), config.train, config.seed, 2)
    assert len(kept.weights) == len(again.weights) == len(kept.genome.hidden) + 1
    for a, b in zip(kept.weights + kept.biases, again.weights + again.biases):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    with np.load(out / "networks" / "rank-2.npz", allow_pickle=False) as f:
        assert {"W0", "b0", "x_mean", "x_scale"} <= set(f.files) and "y_mean" not in f.files


def _raw_test_rows(config):
    ds = _data.load(config.dataset)
    return ds, ds.X_test * ds.x_scale + ds.x_mean


def test_the_estimator_loaded_from_the_run_predicts_what_evoinit_predicts(run):
    out, result = run
    ds, raw = _raw_test_rows(result.config)
    net = networks.read(out, 1)
    model = EvoMLPClassifier.from_run(out, rank=1)
    expected = net.output(ds.X_test)
    np.testing.assert_allclose(np.log(model.predict_proba(raw)), expected - np.log(np.exp(
        expected - expected.max(1, keepdims=True)).sum(1, keepdims=True)) - expected.max(1, keepdims=True),
        rtol=1e-6, atol=1e-9)
    assert (model.predict(raw) == np.asarray(ds.class_names)[expected.argmax(1)]).all()
    assert model.network_.key == net.key and str(model.genome_) == str(net.genome)
    with pytest.raises(RunFolderError, match="EvoMLPClassifier"):
        EvoMLPRegressor.from_run(out)


def test_a_regressor_loaded_from_a_regression_run(reg_run):
    out, result = reg_run
    ds, raw = _raw_test_rows(result.config)
    net = networks.read(out, 1)
    want = net.output(ds.X_test) * ds.y_scale + ds.y_mean
    model = EvoMLPRegressor.from_run(out)
    np.testing.assert_allclose(model.predict(raw), want, rtol=1e-9, atol=1e-9 * np.abs(want).max())
    np.testing.assert_allclose(net.predict(raw), want, rtol=1e-9, atol=1e-9 * np.abs(want).max())


def _numpy_forward(arrays: dict, activation: str, X: np.ndarray, framework: str) -> np.ndarray:
    act = activations.get(activation).fn
    n = sum(1 for k in arrays if k.endswith(".weight") or k.startswith("W"))
    A = (X - arrays["input.mean"]) / arrays["input.scale"]
    for l in range(n):
        W, b = ((arrays[f"{2 * l}.weight"].T, arrays[f"{2 * l}.bias"]) if framework == "torch"
                else (arrays[f"W{l}"], arrays[f"b{l}"]))
        A = A @ W.astype(np.float32).astype(np.float64) + b.astype(np.float32)
        if l < n - 1:
            A = act(A)
    return A


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_export_trained_loads_the_weights_and_predicts_what_evoinit_predicts(run, tmp_path, framework):
    out, result = run
    ds, raw = _raw_test_rows(result.config)
    net = networks.read(out, 1)
    code, arrays = export_trained(out, 1, to=framework, weights_name="model.npz")
    compile(code, "model.py", "exec")
    (tmp_path / "model.py").write_text(code)
    (tmp_path / "model.npz").write_bytes(networks.npz_bytes(arrays))
    with np.load(tmp_path / "model.npz", allow_pickle=False) as f:
        saved = {k: f[k] for k in f.files}
    got = _numpy_forward(saved, net.activation, raw, framework)
    want = net.output(ds.X_test)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())   # float32 rounding
    module = {"torch": "torch", "keras": "keras"}[framework]
    if importlib.util.find_spec(module) is not None:   # the framework itself, only where installed
        env = {"__file__": str(tmp_path / "model.py"), "__name__": "exported"}
        exec(compile(code, str(tmp_path / "model.py"), "exec"), env)
        np.testing.assert_allclose(env["predict"](raw), want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def _fake_frameworks(activation):
    """Just enough of torch and keras, on NumPy, to run the exported code's own lines (key names,
    orientation, load_state_dict / set_weights, predict) where the real ones are not installed."""
    import types

    fn = activations.get(activation).fn
    torch, nn = types.ModuleType("torch"), types.ModuleType("torch.nn")
    torch.float32, torch.float64 = np.float32, np.float64

    class T(np.ndarray):
        def to(self, dtype):
            return self.astype(dtype).view(T)

        def double(self):
            return self.astype(np.float64).view(T)

        def numpy(self):
            return np.asarray(self)

    torch.from_numpy = lambda a: np.asarray(a).view(T)

    class Linear:
        def __init__(self, n_in, n_out):
            self.shape = (n_out, n_in)

    class Act:
        def __init__(self, *a, **k):
            pass

    class Sequential:
        def __init__(self, *mods):
            self.mods = list(mods)

        def to(self, dtype):
            self.dtype = dtype
            return self

        def eval(self):
            return self

        def load_state_dict(self, state):
            linear = [i for i, m in enumerate(self.mods) if isinstance(m, Linear)]
            assert set(state) == {f"{i}.{p}" for i in linear for p in ("weight", "bias")}
            for i in linear:
                assert state[f"{i}.weight"].shape == self.mods[i].shape
                self.mods[i].W, self.mods[i].b = state[f"{i}.weight"].astype(self.dtype), state[f"{i}.bias"]

        def __call__(self, X):
            for m in self.mods:
                X = X @ m.W.T + m.b if isinstance(m, Linear) else fn(X)
            return X.view(T)

    class NoGrad:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    torch.no_grad = NoGrad
    nn.Linear, nn.Sequential = Linear, Sequential
    for name in ("Tanh", "ReLU", "Sigmoid", "SELU", "ELU", "GELU", "Softsign", "LeakyReLU", "Identity"):
        setattr(nn, name, Act)
    torch.nn = nn

    keras, layers = types.ModuleType("keras"), types.ModuleType("keras.layers")

    class Dense:
        def __init__(self, units, activation=None, dtype=None):
            self.units, self.activation = units, activation

    class KerasModel:
        def __init__(self, items):
            self.dense = [m for m in items if isinstance(m, Dense)]

        def set_weights(self, arrays):
            self.arrays = arrays

        def predict(self, X, verbose=0):
            for l in range(len(self.dense)):
                X = X @ self.arrays[2 * l] + self.arrays[2 * l + 1]
                if self.dense[l].activation is not None:
                    X = fn(X)
            return X

    keras.Sequential, keras.Input, keras.layers = KerasModel, lambda shape: None, layers
    layers.Dense = Dense
    return {"torch": torch, "torch.nn": nn, "keras": keras, "keras.layers": layers}


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_the_exported_code_runs_and_predicts_what_evoinit_predicts(run, tmp_path, framework, monkeypatch):
    """The generated lines themselves, run against NumPy stand-ins (the real frameworks are not
    dependencies): the state dict's keys and orientation, set_weights' order, the scaling."""
    out, result = run
    ds, raw = _raw_test_rows(result.config)
    net = networks.read(out, 1)
    if net.activation not in ("tanh", "relu", "sigmoid", "softsign", "linear"):
        pytest.skip(f"the stand-in runs only plain activations, not {net.activation}")
    code, arrays = export_trained(out, 1, to=framework, weights_name="model.npz")
    (tmp_path / "model.npz").write_bytes(networks.npz_bytes(arrays))
    for name, module in _fake_frameworks(net.activation).items():
        monkeypatch.setitem(sys.modules, name, module)
    env = {"__file__": str(tmp_path / "model.py"), "__name__": "exported"}
    exec(compile(code, str(tmp_path / "model.py"), "exec"), env)
    want = net.output(ds.X_test)
    np.testing.assert_allclose(env["predict"](raw), want, rtol=1e-6, atol=1e-9 * np.abs(want).max())
    assert env["CLASSES"] == list(ds.class_names)


def test_the_cli_writes_code_and_weights_and_refuses_a_run_without_networks(run, tmp_path):
    out, _ = run
    target = tmp_path / "m.py"
    done = subprocess.run([sys.executable, "-m", "evoinit", "export", str(out), "--trained", "--to", "torch",
                           "--out", str(target)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert target.is_file() and (tmp_path / "m.npz").is_file()
    old = tmp_path / "old"
    shutil.copytree(out, old)
    shutil.rmtree(old / "networks")
    done = subprocess.run([sys.executable, "-m", "evoinit", "export", str(old), "--trained", "--to", "keras",
                           "--out", str(tmp_path / "k.py")], capture_output=True, text=True)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "no trained network" in done.stderr


def _damaged_copy(out, tmp_path, name="d"):
    copy = tmp_path / name
    shutil.copytree(out, copy)
    return copy


def _npz_with(arrays: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@pytest.mark.parametrize("damage", ["object", "truncated", "shape", "text", "sidecar", "other_run", "missing"])
def test_damaged_or_missing_weight_files_are_one_clear_line(run, tmp_path, damage):
    out, _ = run
    copy = _damaged_copy(out, tmp_path)
    npz, side = copy / "networks" / "rank-1.npz", copy / "networks" / "rank-1.json"
    with np.load(npz, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    if damage == "object":
        arrays["W0"] = np.array([{"x": 1}] * 4, dtype=object)
        npz.write_bytes(_npz_with(arrays))
    elif damage == "truncated":
        npz.write_bytes(npz.read_bytes()[:200])
    elif damage == "shape":
        arrays["W0"] = arrays["W0"][:, :1]
        npz.write_bytes(_npz_with(arrays))
    elif damage == "text":
        arrays["b0"] = np.array(["a"] * len(arrays["b0"]))
        npz.write_bytes(_npz_with(arrays))
    elif damage == "sidecar":
        side.write_text("{not json")
    elif damage == "other_run":
        meta = json.loads(side.read_text())
        meta["key"] = [9, 9, 9]
        side.write_text(json.dumps(meta))
    else:
        npz.unlink()
    with pytest.raises(RunFolderError) as e:
        networks.read(copy, 1)
    assert "\n" not in str(e.value)
    if damage == "object":
        assert "pickle" in str(e.value)
    with pytest.raises(RunFolderError):
        EvoMLPClassifier.from_run(copy)


def test_an_old_run_folder_without_networks_resumes_and_reports(tmp_path):
    out = tmp_path / "old"
    paused = _search(out, "iris", stop_after=0)
    assert not paused.finished and not (out / "networks").exists()
    done = evoinit.resume(out, n_jobs=1)
    assert done.finished and (out / "networks" / "rank-1.npz").is_file()
    shutil.rmtree(out / "networks")   # a run finished before networks were kept
    again = evoinit.resume(out, n_jobs=1)
    assert again.finished and again.networks == ()
    assert evoinit.report(out, resamples=2)["finished"]


def _result_with(networks_, finished=True):
    from types import SimpleNamespace

    return SimpleNamespace(networks=networks_, finished=finished)


LONG = "256-256-256-256-256-256 leaky_relu he_general_normal ×0.123456 lr=0.001"


def _net(rank, val_loss, text=LONG, key=(0, 12345, 2)):
    from evoinit.ga.genome import Genome

    return Network(rank, Genome.parse(text), key, 0, "classification", 4, 3, val_loss, 0.031, 0.2, 0.0412, None)


def test_the_verdict_names_the_best_network_when_it_is_not_the_best_setups():
    from evoinit.cli.terminal import best_network_line

    assert best_network_line(_result_with((_net(1, 0.1), _net(2, 0.2)))) is None
    line = best_network_line(_result_with((_net(1, 0.3), _net(2, 0.2))))
    assert line.startswith("best network found: #2 seed (0,12345,2)")
    assert "val error 0.0310" in line and "test error 0.0412" in line and len(line) <= 80
    untested = _net(2, 0.2, text="64 relu he_normal ×1", key=(0, 3, 1)).__dict__ | {"test_error": None}
    short = best_network_line(_result_with((_net(1, 0.3), Network(**untested))))
    assert short == "best network found: #2 seed (0,3,1), val error 0.0310 — 64 relu he_normal ×1"
    assert best_network((_net(1, 0.3), _net(2, 0.2))).rank == 2
    assert best_network_line(_result_with((_net(1, 0.3), _net(2, 0.2)), finished=False)) is None


def test_networks_left_by_a_replaced_run_are_refused(run, tmp_path):
    out, _ = run
    copy = _damaged_copy(out, tmp_path, "replaced")
    assert networks.read(copy, 1).rank == 1
    _search(copy, "iris", overwrite=True, stop_after=0)   # the same search again, paused: same setups
    with pytest.raises(RunFolderError, match="another run"):
        networks.read(copy, 1)


def test_a_search_without_test_scores_keeps_networks_unscored_on_test(tmp_path):
    result = evoinit.search("iris", population=4, generations=0, epochs=3, hall_of_fame=2, n_jobs=1, test=False)
    assert result.run_dir is None and len(result.networks) == 2
    assert all(n.test_error is None and n.test_loss is None for n in result.networks)
