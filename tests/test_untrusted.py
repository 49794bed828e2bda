"""Issue 32: a run folder or a data file from someone else is untrusted input. Each class of the
issue is tried as a hostile folder or file would try it — through the CLI (subprocesses) or the
API — next to the control that must keep working: writes never go through a link out of the run
folder (a sentinel folder outside is hashed before and after), every sink escapes for itself
(logbook.csv, the terminal, exported code), inputs are bounded before they are read, big integer
labels keep their identity, values read back are checked at the reader, and a lost Dask
connection or a text target is named for what it is."""

import csv
import hashlib
import io
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from helpers import ENV

import evoinit as S
from evoinit import data, errors
from evoinit.errors import ConfigError, DataError, RunFolderError, WorkerError
from evoinit.ga.config import SearchConfig
from evoinit.ga.configfile import load_toml
from evoinit.interop import export
from evoinit.nn.training import TrainSettings
from evoinit.reporting.report import report
from evoinit.runfolder import files
from evoinit.runfolder import folder as rundir

SMALL = SearchConfig(dataset="iris", population=4, generations=1, repeats=1, seed=3, hall_of_fame=2,
                     train=TrainSettings(epochs=2))


def tree(folder) -> dict:
    """sha256 of every entry under ``folder`` (a link by its target's name): equal before and
    after = nothing touched."""
    folder = Path(folder)
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.name == ".lock" and not p.is_symlink():   # the lock a refused command held
            continue
        key = str(p.relative_to(folder))
        out[key] = ("link " + os.readlink(p)) if p.is_symlink() else (
            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "folder")
    return out


def cli(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "evoinit", *map(str, args)], capture_output=True, text=True,
                          env=ENV, cwd=cwd, timeout=timeout)


def one_line(r, code=None) -> str:
    """The command's one error line (asserting: no traceback, one line, a non-zero exit)."""
    assert "Traceback" not in r.stderr + r.stdout, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert r.returncode != 0 and (code is None or r.returncode == code), r.returncode
    return lines[0]


def copy(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    for f in src.iterdir():
        if f.is_file() and f.name != ".lock":
            (dst / f.name).write_bytes(f.read_bytes())
    return dst


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    run = tmp_path_factory.mktemp("untrusted") / "run"
    S.search(config=SMALL, n_jobs=1, out=run)
    return run


@pytest.fixture(scope="module")
def paused(tmp_path_factory):
    run = tmp_path_factory.mktemp("untrusted") / "paused"
    S.search(config=SMALL, n_jobs=1, out=run, stop_after=0)
    return run


@pytest.fixture
def sentinel(tmp_path):
    """A folder outside every run folder, with a file in it: what a link points at."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("someone else's file\n")
    (outside / "fitness.png").write_bytes(b"not yours")
    return outside


# -- 1. one rule for paths under a run folder ----------------------------------------------------

def _plant(run: Path, name: str, target: Path) -> None:
    (run / name).unlink(missing_ok=True)
    (run / name).symlink_to(target)


@pytest.mark.parametrize("name, points_at, command", [
    (".replaced", "folder", "resume"),         # settle() emptied the folder it points at
    (".replaced", "folder", "overwrite"),      # --overwrite's replace-and-restore dance
    (".lock", "file", "resume"),               # the lock emptied the file and wrote its pid in it
    ("figures", "folder", "report"),           # report overwrote fitness.png there
    ("report.html", "file", "report"),
    ("evaluations.jsonl", "file", "resume"),   # a log rewritten, then appended to
    (".checkpoint.json.4242.tmp", "file", "resume"),   # a "temp file" cleaned up at resume
])
def test_a_link_in_the_run_folder_is_refused_and_nothing_outside_is_touched(tmp_path, paused, finished,
                                                                            sentinel, name, points_at, command):
    run = copy(finished if command == "report" else paused, tmp_path / "run")
    original = (run / name).read_bytes() if (run / name).is_file() else None
    _plant(run, name, sentinel if points_at == "folder" else sentinel / "keep.txt")
    outside, inside = tree(sentinel), tree(run)
    args = {"resume": ["resume", run, "--n-jobs=1"], "report": ["report", run],
            "overwrite": ["search", "--dataset=iris", "--population=2", "--generations=0", "--epochs=1",
                          "--repeats=1", "--n-jobs=1", "--overwrite", f"--out={run}"]}[command]
    line = one_line(cli(*args, cwd=tmp_path), 1)
    assert f"{run / name} is a symbolic link" in line and "never through a link" in line
    assert tree(sentinel) == outside and tree(run) == inside
    # the control: the same folder without the link does what it is asked
    (run / name).unlink()
    if original is not None:
        (run / name).write_bytes(original)
    r = cli(*args, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert tree(sentinel) == outside


def test_the_replace_and_restore_dance_touches_only_its_own_files(tmp_path, finished, sentinel):
    """A real ``.replaced`` left by a killed --overwrite is settled or put back — unless it holds
    something evoinit did not put there (a link), which is refused before anything moves."""
    run = copy(finished, tmp_path / "run")
    aside = run / rundir.REPLACED
    aside.mkdir()
    (aside / "checkpoint.json").symlink_to(sentinel / "keep.txt")
    before, outside = tree(run), tree(sentinel)
    with pytest.raises(RunFolderError, match=r"checkpoint.json is a symbolic link"):
        S.resume(run, n_jobs=1)
    assert tree(run) == before and tree(sentinel) == outside
    (aside / "checkpoint.json").unlink()
    (aside / "notes.txt").write_text("x")
    with pytest.raises(RunFolderError, match="not a file evoinit put there"):
        S.resume(run, n_jobs=1)
    assert tree(sentinel) == outside
    # control: a .replaced holding only a run's files (an overwrite killed after its checkpoint) goes
    (aside / "notes.txt").unlink()
    (aside / "config.json").write_text("{}")
    assert S.resume(run, n_jobs=1).finished and not aside.exists()


def test_atomic_writes_never_write_through_a_link(tmp_path, sentinel):
    before = tree(sentinel)
    target = tmp_path / "out.json"
    tmp = tmp_path / f".out.json.{os.getpid()}.tmp"
    tmp.symlink_to(sentinel / "keep.txt")
    with pytest.raises(RunFolderError, match="is a symbolic link"):
        files.write_json(target, {"a": 1})
    tmp.unlink()
    target.symlink_to(sentinel / "keep.txt")
    with pytest.raises(RunFolderError, match="out.json is a symbolic link"):
        files.write_json(target, {"a": 1})
    assert tree(sentinel) == before
    target.unlink()
    tmp.write_text("left by a killed write")   # control: a stale temp file of ours is replaced
    files.write_json(target, {"a": 1})
    assert json.loads(target.read_text()) == {"a": 1} and not tmp.exists()


def test_a_named_pipe_in_a_run_folder_is_refused_not_waited_on(tmp_path, finished):
    run = copy(finished, tmp_path / "run")
    (run / "checkpoint.json").unlink()
    os.mkfifo(run / "checkpoint.json")
    r = cli("report", run, cwd=tmp_path, timeout=60)
    assert "checkpoint.json is a named pipe" in one_line(r, 1)


# -- 2. values read back are checked at the reader -----------------------------------------------

@pytest.mark.parametrize("edit, message", [
    (lambda d: d["dataset"].update(n_features=math.inf), "dataset.n_features is inf"),
    (lambda d: d["dataset"].update(n_outputs=1e999), "dataset.n_outputs is inf"),
    (lambda d: d["dataset"].update(n_features="64"), "dataset.n_features is '64'"),
    (lambda d: d["dataset"].update(name="x" * 20_000), "dataset.name is 'xxxx"),
    (lambda d: d["dataset"].update(task="[link=http://e]x"), "dataset.task is"),
    (lambda d: d["dataset"].update(payload=1), "unknown key 'payload' in its dataset"),
    (lambda d: d["dataset"]["spec"].update(seed=math.nan), "dataset.spec is"),
])
def test_config_json_dataset_block_is_checked_once_at_the_reader(tmp_path, finished, edit, message):
    run = copy(finished, tmp_path / "run")
    config = json.loads((run / "config.json").read_text())
    edit(config)
    (run / "config.json").write_text(json.dumps(config))   # Infinity / NaN as JSON writes them
    before = tree(run)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda args: cli(*args, cwd=tmp_path),
                                [["export", run, "--to=torch"], ["report", run], ["resume", run, "--n-jobs=1"]]))
    for r in results:
        line = one_line(r, 1)
        assert "config.json is damaged" in line and message in line and len(line) < 300, line
    assert tree(run) == before


@pytest.mark.parametrize("edit, message", [
    (lambda row: row.update({'=cmd|" /C calc"!A0': 1}), "logbook row 0: '=cmd"),
    (lambda row: row.update(min=math.inf), "logbook row 0: 'min'"),
    (lambda row: row.update(nevals=-1), "logbook row 0: 'nevals'"),
    (lambda row: row.update(best="x" * 20_000), "logbook row 0: 'best'"),
])
def test_logbook_rows_have_known_columns_finite_numbers_and_bounded_text(tmp_path, paused, edit, message):
    run = copy(paused, tmp_path / "run")
    ck = json.loads((run / "checkpoint.json").read_text())
    edit(ck["logbook"][0])
    (run / "checkpoint.json").write_text(json.dumps(ck))
    before = tree(run)
    for call in (lambda: report(run), lambda: S.resume(run, n_jobs=1)):
        with pytest.raises(RunFolderError, match="checkpoint.json is damaged") as info:
            call()
        assert message in str(info.value)
    assert tree(run) == before


@pytest.mark.parametrize("edit", [
    lambda f: f.__setitem__(0, {"fitness": {}}),                         # overwrote the member's keys
    lambda f: f[0].update(text="[/x] [link=http://evil]click[/link]"),
    lambda f: f[0]["baseline"].update(text="[link=http://evil]ours[/link]"),
    lambda f: f[0]["test"]["error"].update(mean=math.inf),
    lambda f: f[0]["improvement"]["test_error"].update(values=["=1+1"]),
])
def test_a_malformed_final_record_is_damage_naming_the_checkpoint(tmp_path, finished, edit):
    run = copy(finished, tmp_path / "run")
    ck = json.loads((run / "checkpoint.json").read_text())
    edit(ck["final"])
    (run / "checkpoint.json").write_text(json.dumps(ck))
    line = one_line(cli("report", run, cwd=tmp_path), 1)
    assert f"{run / 'checkpoint.json'} is damaged (final record 0" in line


def test_the_untouched_folder_reads_exports_and_reports(tmp_path, finished):
    """The control of the three tests above."""
    run = copy(finished, tmp_path / "run")
    r = cli("export", run, "--to=keras", cwd=tmp_path)
    assert r.returncode == 0 and "keras.Sequential" in r.stdout, r.stderr
    summary = report(run)
    assert summary["finished"] and summary["hall_of_fame"][0].test.error.mean is not None


# -- 3. every sink escapes for itself ------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil","x")', "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def test_logbook_csv_neutralises_formula_cells_and_keeps_numbers(tmp_path, paused):
    run = copy(paused, tmp_path / "run")
    ck = json.loads((run / "checkpoint.json").read_text())
    ck["logbook"][0]["best"] = FORMULAS[0]
    (run / "checkpoint.json").write_text(json.dumps(ck))
    r = cli("resume", run, "--n-jobs=1", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = (run / "logbook.csv").read_text().splitlines()
    assert rows[1].endswith(',"\'=HYPERLINK(""http://evil"",""x"")"'), rows[1]
    assert "'" not in "".join(rows[:1] + rows[2:])   # the control: header, numbers and setups as they were
    # the rule, cell by cell: text that would start a formula gets a quote; numbers do not
    folder = rundir.RunFolder(tmp_path / "csv")
    folder.path.mkdir()
    folder.write_csv("t.csv", [{"text": t, "number": -0.5, "numeric text": "-1e3", "none": None} for t in FORMULAS]
                     + [{"text": "plain", "number": 2, "numeric text": "+7", "none": None}])
    with open(folder / "t.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["text", "number", "numeric text", "none"]
    # (a carriage return inside a cell is written as the escape \\r: unquoted, it would start a row)
    assert rows[1:-1] == [["'" + formula.replace("\r", "\\r"), "-0.5", "-1e3", ""] for formula in FORMULAS]
    assert rows[-1] == ["plain", "2", "+7", ""]


def test_terminal_prints_folder_text_as_text(monkeypatch):
    """Markup is printed, not parsed (``[/x]`` crashed rich, ``[link=…]`` made a live link) and
    control characters are shown as escapes, never sent to the terminal."""
    from rich.console import Console

    from evoinit.cli import exits, terminal
    from evoinit.ga.genome import Genome
    from evoinit.ga.results import Entry

    out = io.StringIO()
    monkeypatch.setattr(terminal, "console", Console(file=out, width=300))
    hostile = "[/x] [link=http://evil]click[/link] \x1b]8;;http://evil\x1b\\y"
    entry = Entry(Genome((64,), "tanh", "glorot_uniform"), hostile, {"val_loss": 0.5}, False, 10, 0.5, 0.1, (), 1)
    terminal.print_hall_of_fame([entry, replace(entry, text="64 tanh glorot_uniform ×1", rank=2)],
                                ["val_loss"], finished=False)
    shown = out.getvalue()
    assert "[/x] [link=http://evil]click[/link]" in shown and "\\x1b]8;;http://evil" in shown
    assert "\x1b" not in shown
    assert "64 tanh glorot_uniform ×1" in shown               # the control
    err = io.StringIO()
    monkeypatch.setattr(exits, "err_console", Console(file=err, width=300))
    exits.say(f"error: {hostile}\nerror: a second line")
    assert err.getvalue().count("\n") == 1 and "\x1b" not in err.getvalue()
    assert "\\x1b" in err.getvalue() and "\\nerror: a second line" in err.getvalue()


def test_a_run_folder_named_like_markup_is_reported_by_its_name(tmp_path, finished):
    run = copy(finished, tmp_path / "a[/x]b[link=http://evil]c")
    r = cli("report", run, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"report: {run / 'report.html'}" in r.stdout and "Traceback" not in r.stderr


def test_figures_draw_names_as_text_not_formulas(tmp_path):
    """matplotlib parses $…$ as a formula: a data file or init name from elsewhere that holds one
    failed the figure with a ParseSyntaxException traceback; now it is drawn as the text it is."""
    rows = "a,b,y\n" + "".join(f"{i % 7},{i % 3},{i % 2}\n" for i in range(40))
    for name in ("m$\\frac{x$.csv", "plain.csv"):   # the hostile name, and the control
        (tmp_path / name).write_text(rows)
        r = cli("train", f"--dataset={tmp_path / name}", "--epochs=1", "--seeds=1", "--hidden=4",
                f"--out={tmp_path / name}.out", cwd=tmp_path)
        assert r.returncode == 0 and (tmp_path / f"{name}.out" / "learning_curves.png").stat().st_size > 0, r.stderr


@pytest.mark.parametrize("scale, framework, init", [
    (1e200, "torch", "he_normal"), (1e200, "torch", "glorot_uniform"), (1e200, "torch", "truncated_normal"),
    (1e200, "keras", "truncated_normal"), (1e150, "keras", "he_normal"), (1.7e308, "keras", "orthogonal"), (1.0, "torch", "he_normal"), (1.0, "keras", "glorot_normal"),
])
def test_exported_code_at_huge_scales_runs_and_draws_finite_weights(monkeypatch, scale, framework, init):
    from test_export import _kernels_keras, _kernels_torch

    code = export.export(f"8 relu {init} ×{scale!r}", 4, 3, to=framework)
    assert not re.search(r"\b(inf|nan)\b", code)
    kernels = (_kernels_torch if framework == "torch" else _kernels_keras)(code, monkeypatch)
    assert all(np.isfinite(k).all() for k in kernels)


@pytest.mark.parametrize("genome, framework", [("8 relu he_normal ×1e200", "keras"),
                                               ("8 relu glorot_uniform ×1.7e308", "keras"),
                                               ("8 relu he_normal ×1.7e308", "torch")])
def test_export_refuses_a_number_no_float_holds_in_one_line(tmp_path, genome, framework):
    line = one_line(cli("export", genome, f"--to={framework}", cwd=tmp_path), 2)
    assert "beyond the largest float" in line and "export a smaller scale" in line


def test_a_long_setup_text_is_a_setup_not_a_path(tmp_path):
    text = "-".join(["128"] * 100) + " relu he_normal ×1"   # 417 bytes: too long for a file name
    r = cli("export", text, "--to=torch", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.count("nn.Linear(") == 101, r.stderr
    assert "no run folder at runs/x" in one_line(cli("export", "runs/x", "--to=torch", cwd=tmp_path), 1)
    line = one_line(cli("export", text + " junk", "--to=torch", cwd=tmp_path), 2)
    assert "cannot read genome" in line and len(line) < 200


# -- 4. inputs bounded before they are read ------------------------------------------------------

def test_only_regular_files_are_opened_as_datasets(tmp_path):
    os.mkfifo(tmp_path / "pipe.csv")
    os.mkfifo(tmp_path / "pipe.npz")
    for name in ("pipe.csv", "pipe.npz"):
        started = time.monotonic()
        r = cli("train", f"--dataset={tmp_path / name}", "--epochs=1", "--seeds=1", cwd=tmp_path, timeout=60)
        assert "is a named pipe; a dataset is a regular .csv or .npz file" in one_line(r, 2)
        assert time.monotonic() - started < 30
    (tmp_path / "ok.csv").write_text("a,b,y\n" + "".join(f"{i % 7},{i % 3},{i % 2}\n" for i in range(40)))
    r = cli("train", f"--dataset={tmp_path / 'ok.csv'}", "--epochs=1", "--seeds=1", cwd=tmp_path)
    assert r.returncode == 0, r.stderr


def _npz_declaring(path: Path, shape, descr: str = "<f8", data: bytes = b"") -> Path:
    """An .npz whose X.npy header declares ``shape`` of ``descr`` with only ``data`` behind it."""
    from numpy.lib import format as npy

    y = io.BytesIO()
    np.save(y, np.arange(40) % 2)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("X.npy", "w", force_zip64=True) as f:
            npy.write_array_header_2_0(f, {"descr": descr, "fortran_order": False, "shape": shape})
            f.write(data)
        z.writestr("y.npy", y.getvalue())
    return path


def test_an_npz_declaring_more_than_memory_is_refused_before_decompression(tmp_path):
    bomb = _npz_declaring(tmp_path / "bomb.npz", (2**32, 64), data=bytes(2**24))   # 2 TiB declared
    assert bomb.stat().st_size < 100_000
    started = time.monotonic()
    with pytest.raises(DataError, match=r"array 'X' declares shape \(4294967296, 64\) of float64") as info:
        data.load(bomb)
    assert time.monotonic() - started < 5
    assert "population" not in str(info.value) and "layer" not in str(info.value)
    line = one_line(cli("train", f"--dataset={bomb}", "--epochs=1", "--seeds=1", cwd=tmp_path), 2)
    assert "declares shape" in line and "--population" not in line
    # control: an honest file of the same layout loads
    ok = _npz_declaring(tmp_path / "ok.npz", (40, 2), data=np.arange(80.0).tobytes())
    assert data.load(ok).n_features == 2


@pytest.mark.parametrize("arrays, message", [
    ({"X": np.ones((40, 2)) * (1 + 1j), "y": np.arange(40) % 2}, "array 'X' holds complex numbers"),
    ({"X": np.ones((40, 2)), "y": np.ones(40) * 1j}, "array 'y' holds complex numbers"),
    ({"X": np.ones((40, 2)), "y": np.array([{"a": 1}] * 40, dtype=object)}, "holds Python objects"),
    ({"X": np.zeros(40, dtype=[("a", "f8"), ("b", "f8")]), "y": np.arange(40) % 2}, "structured records"),
    ({"X": np.ones((40, 2)), "y": np.arange(40) % 2}, None),                          # the control
])
def test_complex_object_and_structured_arrays_are_refused(tmp_path, arrays, message):
    np.savez(tmp_path / "d.npz", **arrays)
    if message is None:
        assert data.load(tmp_path / "d.npz").n_classes == 2
        return
    with pytest.raises(DataError, match=message):
        data.load(tmp_path / "d.npz")
    with pytest.raises(DataError, match="complex numbers"):    # in memory too: never silently real
        data.from_arrays(np.ones((40, 2)) * (1 + 1j), np.arange(40) % 2)


@pytest.mark.parametrize("text, message", [
    ("population = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    ("[space]\nscales = " + "[" * 30 + "1" + "]" * 30 + "\n", "has the wrong type"),
    ('dataset = "' + "a" * 10_000_000 + '"\n', "larger than 1 MiB"),
    ('dataset = "' + "a" * 500_000 + '"\n', "is a string of 500,000 characters"),
    ('population = "' + "a" * 500_000 + '"\n', "population has the wrong type"),
    ("a" * 500_000 + " = 1\n", "unknown key 'aaaa"),
])
def test_a_toml_file_is_bounded_and_its_errors_quote_little(tmp_path, text, message):
    (tmp_path / "c.toml").write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_toml(tmp_path / "c.toml")
    assert "a" * 100 not in str(info.value) and len(str(info.value)) < 800 and "\n" not in str(info.value)


def test_a_toml_file_through_the_cli_is_one_short_line_and_the_control_works(tmp_path):
    (tmp_path / "deep.toml").write_text("population = " + "[" * 5000 + "]" * 5000 + "\n")
    (tmp_path / "big.toml").write_text('target = "' + "b" * 900_000 + '"\n')
    (tmp_path / "ok.toml").write_text("population = 2\ngenerations = 0\nepochs = 1\nrepeats = 1\n"
                                      'dataset = "iris"\n[space]\nscales = [0.5, 2.0]\n')
    for name in ("deep.toml", "big.toml"):
        line = one_line(cli("search", f"--config={tmp_path / name}", f"--out={tmp_path / 'r'}", cwd=tmp_path), 2)
        assert len(line) < 400, line
    r = cli("search", f"--config={tmp_path / 'ok.toml'}", "--n-jobs=1", f"--out={tmp_path / 'r'}", cwd=tmp_path)
    assert r.returncode == 0, r.stderr


def test_error_lines_quote_at_most_about_80_characters_of_a_cell(tmp_path):
    (tmp_path / "d.csv").write_text("a,b,y\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(30))
                                    + ("x" * 100_000) + ",1,0\n")
    with pytest.raises(DataError, match="non-numeric value 'xxx") as info:
        data.load(tmp_path / "d.csv")
    assert len(str(info.value)) < 400


# -- 5. labels compared as given -----------------------------------------------------------------

def test_integer_labels_past_2_53_keep_their_identity(tmp_path):
    labels = ["1", "99999999999999999999999", "99999999999999999999998"]
    (tmp_path / "big.csv").write_text("a,b,label\n" + "".join(
        f"{i % 7},{(i * 3) % 5},{labels[i % 3]}\n" for i in range(60)))
    ds = data.load(tmp_path / "big.csv")
    assert ds.task == "classification" and sorted(ds.class_names) == sorted(labels)
    assert data.load(tmp_path / "big.csv", task="regression").task == "regression"
    ds = data.from_arrays(np.ones((60, 2)) * np.arange(60)[:, None], np.array([1, 2**60, 2**60 + 1] * 20))
    assert ds.n_classes == 3
    # control: ordinary labels are numbers, as before (and 1 and 1.0 are one class)
    (tmp_path / "small.csv").write_text("a,b,label\n" + "".join(
        f"{i % 7},{(i * 3) % 5},{['1', '2', '1.0'][i % 3]}\n" for i in range(60)))
    ds = data.load(tmp_path / "small.csv")
    assert ds.class_names == ("1", "2")
    # huge labels that floats do not merge stay floats (a regression target of big values)
    (tmp_path / "apart.csv").write_text("a,label\n" + "".join(f"{i},{(i + 1) * 10**25}\n" for i in range(60)))
    assert data.load(tmp_path / "apart.csv").task == "regression"


# -- 6. messages name the real cause -------------------------------------------------------------

def test_a_regressor_given_text_targets_names_y():
    from evoinit.interop.sklearn import EvoMLPRegressor

    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match=r"EvoMLPRegressor: y must hold numbers .* such as 'a'"):
        EvoMLPRegressor("4 tanh glorot_uniform", epochs=1).fit(X, ["a", "b"] * 10)
    model = EvoMLPRegressor("4 tanh glorot_uniform", epochs=1).fit(X, np.array(["1.5", "2"] * 10))   # control
    assert model.predict(X[:2]).shape == (2,)


def _raised_in(filename: str, message: str) -> OSError:
    try:
        exec(compile(f"raise OSError({message!r})", filename, "exec"))
    except OSError as e:
        return e


def test_a_lost_connection_is_told_from_a_full_disk(tmp_path):
    from distributed.comm.core import CommClosedError

    lost = [CommClosedError("ConnectionPool closing."), ConnectionResetError(104, "reset"),
            _raised_in("/site-packages/distributed/comm/core.py", "Timed out trying to connect")]
    disk = [OSError(28, "No space left on device", "x"), OSError(27, "File too large"),
            _raised_in("/site-packages/evoinit/runfolder/folder.py", "x")]
    assert all(map(errors.lost_connection, lost)) and not any(map(errors.lost_connection, disk))
    folder = rundir.RunFolder(tmp_path)
    with pytest.raises(WorkerError, match=r"lost the connection to the Dask cluster \(ConnectionPool closing.\); "
                                          r"no generation had been saved yet"):
        with folder.writing():
            raise lost[0]
    with pytest.raises(RunFolderError, match="cannot write the run folder .*No space left on device"):
        with folder.writing():
            raise disk[0]


def test_a_scheduler_lost_mid_search_is_one_line_that_says_so_and_the_run_resumes(tmp_path):
    from test_dask import running_cluster

    out = tmp_path / "run"
    with running_cluster(tmp_path, n_workers=1) as cluster:
        proc = subprocess.Popen([sys.executable, "-m", "evoinit", "search", "--dataset=digits", "--population=6",
                                 "--generations=6", "--epochs=20", "--repeats=1", f"--scheduler={cluster.address}",
                                 f"--out={out}"], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if json.loads((out / "checkpoint.json").read_text())["generation"] >= 1:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.05)
        os.killpg(cluster.procs[0].pid, signal.SIGKILL)    # the scheduler
        _, stderr = proc.communicate(timeout=120)
    r = subprocess.CompletedProcess(proc.args, proc.returncode, "", stderr)
    line = one_line(r, 1)
    assert "lost the connection to the Dask" in line and f"evoinit resume {out}" in line
    assert "cannot write" not in line and "once there is room" not in line
    resumed = cli("resume", out, "--n-jobs=1", cwd=tmp_path)   # the folder itself is whole
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((out / "checkpoint.json").read_text())["finished"]
