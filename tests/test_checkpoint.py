"""The run folder's read side (evoinit/checkpoint.py): what the search writes comes back as the
same values, and every damaged file is refused there, with one line naming the file."""

import json
import shutil

import pytest

import evoinit as S
from evoinit.errors import RunFolderError
from evoinit.ga.config import SearchConfig
from evoinit.ga.evaluation import Evaluation
from evoinit.ga.results import Entry, FinalScores
from evoinit.nn.training import TrainSettings
from evoinit.runfolder import read as checkpoint
from evoinit.runfolder import views
from evoinit.runfolder.files import dumps, write_json
from evoinit.runfolder.folder import RunFolder
from evoinit.runfolder.write import checkpoint_json

SMALL = SearchConfig(dataset="iris", population=4, generations=2, repeats=2, seed=3, train=TrainSettings(epochs=2))


@pytest.fixture(scope="module")
def paused(tmp_path_factory):
    """A search paused after generation 1 (of 2), and a finished one."""
    base = tmp_path_factory.mktemp("runs")
    S.search(SMALL.dataset, config=SMALL, n_jobs=1, out=base / "paused", stop_after=1)
    S.search(SMALL.dataset, config=SMALL, n_jobs=1, out=base / "done")
    return base


@pytest.fixture
def run(paused, tmp_path):
    """A fresh copy of the paused run, free to spoil."""
    return RunFolder(shutil.copytree(paused / "paused", tmp_path / "run"))


def _read(folder: RunFolder):
    config, config_file = checkpoint.read_config(folder)
    return checkpoint.read(folder, config, config_file["search"])


def _edit(folder: RunFolder, name: str, change) -> None:
    d = json.loads((folder / name).read_text())
    change(d)
    (folder / name).write_text(json.dumps(d))


def test_what_is_read_back_writes_the_same_bytes(run):
    """read then write is the identity: the typed checkpoint holds every value of the file."""
    config, config_file = checkpoint.read_config(run)
    state, log = checkpoint.read(run, config, config_file["search"])
    assert (state.generation, state.finished, len(state.population)) == (1, False, SMALL.population)
    before = (run / "checkpoint.json").read_bytes()
    write_json(run / "again.json", checkpoint_json(config.to_json(), state))
    assert (run / "again.json").read_bytes() == before
    rows = run.read_lines("evaluations.jsonl")
    assert len(log) == state.n_evaluations == len(rows)
    for line, row in zip(log, rows):
        assert isinstance(line.evaluation, Evaluation) and line.row == row
        assert dumps({"n": row["n"], "generation": row["generation"]} | line.evaluation.to_json()) == dumps(row)


def test_final_scores_and_saved_generation(paused):
    done = RunFolder(paused / "done")
    assert views.saved_generation(done) == (2, 2, True)
    assert views.saved_generation(RunFolder(paused / "paused")) == (1, 2, False)
    entries = views.read_hall_of_fame(done)
    best = Entry.from_json(entries[0])          # the typed reader: written and read by one type
    assert best.to_json() == entries[0] and best.test.error.mean == entries[0]["test"]["error"]["mean"]
    assert best.baseline.genome.init == entries[0]["baseline"]["genome"]["init"]
    assert best.gain == (entries[0]["improvement"]["test_error"]["mean"], entries[0]["improvement"]["test_error"]["ci95"])
    assert Entry.from_json(views.read_hall_of_fame(RunFolder(paused / "paused"))[0]).test is None
    for damaged in ({"test": {"error": "nan"}, "baseline": {}}, {"fitness": {}}, {"test": {"loss": {"values": [1e999]}}}):
        with pytest.raises(ValueError):
            FinalScores.from_json(damaged)
    log = checkpoint.read_evaluations(done, len(done.read_lines("evaluations.jsonl")))
    assert {line.stage for line in log} == {None, "final"}


DAMAGED_CHECKPOINTS = {
    "schema": (lambda d: d.update(schema=99), "checkpoint.json has schema version 99"),
    "other search": (lambda d: d["config"].update(population=5), "belongs to another search"),
    "negative count": (lambda d: d.update(n_evaluations=-1), r"damaged \(n_evaluations is -1\)"),
    "bool count": (lambda d: d.update(counter=True), r"damaged \(counter is True\)"),
    "no generation": (lambda d: d.pop("generation"), r"damaged \(KeyError: 'generation'\)"),
    "too far": (lambda d: d.update(generation=7), "damaged \\(generation 7 of 2"),
    "finished": (lambda d: d.update(finished="yes"), "finished 'yes'"),
    "logbook": (lambda d: d["logbook"].pop(), "its logbook does not have 2 generations"),
    "population": (lambda d: d["population"].pop(), "a population of 3, not 4"),
    "final": (lambda d: d.update(final=[1]), "final record 0 is not the test scores"),
    "final-keys": (lambda d: d.update(final=[{"fitness": {}}]), "final record 0 is not the test scores"),
    "final-inf": (lambda d: d.update(final=[{"test": {"loss": {"values": [1e999]}}}]), "not a finite number"),
    "genes": (lambda d: d["population"][0]["genes"].pop(), "an individual with"),
    "gene type": (lambda d: d["population"][0]["genes"].__setitem__(0, "2"), "are not all numbers"),
    "keys": (lambda d: d["hall_of_fame"][0].update(keys=[[0, 999, 0]]), r"damaged \(KeyError"),
    "key type": (lambda d: d["hall_of_fame"][0].update(keys=[["a"]]), "are not lists of counts"),
    "python random": (lambda d: d["python_random"].__setitem__(1, [1, 2]), "checkpoint.json is damaged"),
    "numpy random": (lambda d: d.update(numpy_random={"bit_generator": "MT19937"}), "checkpoint.json is damaged"),
    "too many evaluations": (lambda d: d.update(n_evaluations=d["n_evaluations"] + 1),
                             "complete lines but the checkpoint counts"),
}


@pytest.mark.parametrize("how", DAMAGED_CHECKPOINTS)
def test_a_damaged_checkpoint_is_refused_by_the_reader(run, how):
    change, message = DAMAGED_CHECKPOINTS[how]
    _edit(run, "checkpoint.json", change)
    logs = {n: (run / n).read_bytes() for n in ("evaluations.jsonl", "generations.jsonl")}
    with pytest.raises(RunFolderError, match=message) as info:
        _read(run)
    assert "\n" not in str(info.value)
    with pytest.raises(RunFolderError, match=message):  # resume goes through the same reader
        checkpoint.restore(run, n_jobs=1)
    assert logs == {n: (run / n).read_bytes() for n in logs}  # nothing was cut back


def _spoil_line(name, n, text):
    def spoil(folder):
        lines = (folder / name).read_text().splitlines(keepends=True)
        lines[n] = text
        (folder / name).write_text("".join(lines))
    return spoil


DAMAGED_FILES = {
    "evaluation": (_spoil_line("evaluations.jsonl", 2, '{"n": 2, "genome": 5}\n'), "evaluations.jsonl line 3 is damaged"),
    "renumbered": (_spoil_line("evaluations.jsonl", 1, dumps({"n": 7}) + "\n"), "line 2 is damaged .*numbered 7"),
    "not json": (_spoil_line("evaluations.jsonl", 0, "{oops\n"), "line 1 is damaged"),
    "no log": (lambda f: (f / "evaluations.jsonl").unlink(), "evaluations.jsonl has 0 complete lines"),
    "no config": (lambda f: (f / "config.json").unlink(), "config.json is missing"),
    "config schema": (lambda f: _edit(f, "config.json", lambda d: d.pop("schema")), "no schema version"),
    "no search": (lambda f: _edit(f, "config.json", lambda d: d.pop("search")), "no search settings"),
    "bad search": (lambda f: _edit(f, "config.json", lambda d: d["search"].update(population="4")),
                   "config.json is damaged"),
    "in memory": (lambda f: _edit(f, "config.json", lambda d: d["search"].update(dataset=None)),
                  "in-memory data; it cannot be resumed"),
}


@pytest.mark.parametrize("how", DAMAGED_FILES)
def test_a_damaged_log_or_config_is_refused_by_the_reader(run, how):
    spoil, message = DAMAGED_FILES[how]
    spoil(run)
    with pytest.raises(RunFolderError, match=message) as info:
        _read(run)
    assert "\n" not in str(info.value)


def test_generations_and_hall_of_fame_readers(run):
    assert [row["gen"] for row in views.read_generations(run, 2)] == [0, 1]
    _spoil_line("generations.jsonl", 1, '{"gen": 1, "population": [{"genome": 3}]}\n')(run)
    with pytest.raises(RunFolderError, match="generations.jsonl line 2 is damaged"):
        views.read_generations(run, 2)
    assert views.read_hall_of_fame(run)[0]["rank"] == 1
    for text, message in (('{"schema": 1, "entries": []}', "the hall of fame is empty"),
                          ('{"schema": 1}', "no list of entries"), ('{"schema": 2, "entries": []}', "schema 2"),
                          ('{"schema": 1, "ent', "damaged")):
        (run / "hall_of_fame.json").write_text(text)
        with pytest.raises(RunFolderError, match=message):
            views.read_hall_of_fame(run)
    (run / "hall_of_fame.json").unlink()
    with pytest.raises(RunFolderError, match="no hall_of_fame.json"):
        views.read_hall_of_fame(run)


def test_without_a_checkpoint(run):
    """Killed in the first generation: it may start over; logs beyond it mean a lost checkpoint."""
    config, _ = checkpoint.read_config(run)
    (run / "checkpoint.json").unlink()
    assert views.saved_generation(run) is None
    with pytest.raises(RunFolderError, match="is missing but the logs hold more than the first generation"):
        checkpoint.check_no_checkpoint(run, config, read_only=False)
    for name in ("evaluations.jsonl", "generations.jsonl"):
        run.rewind(name, 1)
    checkpoint.check_no_checkpoint(run, config, read_only=False)  # one generation's worth: fine
    with pytest.raises(RunFolderError, match="no checkpoint yet"):  # but nothing to report yet
        checkpoint.check_no_checkpoint(run, config, read_only=True)


def test_an_edited_dataset_is_refused(run):
    config, config_file = checkpoint.read_config(run)
    checkpoint.check_dataset(run, config, config_file["dataset"])
    with pytest.raises(RunFolderError, match="n_samples differ from config.json"):
        checkpoint.check_dataset(run, config, config_file["dataset"] | {"n_samples": 1})
