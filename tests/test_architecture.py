"""The data flow of DESIGN.md, enforced: an import against the arrows fails here."""

import ast
import pathlib

PKG = pathlib.Path(__file__).resolve().parents[1] / "evoinit"

# module -> evoinit modules it may import (leaf utilities errors/checks/seeding are allowed everywhere).
ALLOWED = {
    "errors": set(),
    "checks": set(),
    "seeding": set(),
    "presets": set(),
    "fans": set(),  # a shape's fans and an activation's gain
    "initializers": {"presets", "fans"},
    "activations": {"fans"},
    "datafiles": set(),
    "datasets": {"datafiles"},  # the built-in datasets by name
    "standardize": set(),  # scaling with training statistics
    "data": {"datafiles", "datasets", "standardize"},
    "diagnostics": {"activations"},
    "stack": set(),
    "training": set(),  # the trainer's values: settings, starts, states, results
    "network": {"initializers", "activations", "data", "stack", "training"},
    "genome": {"initializers", "activations"},
    "rundir": set(),
    "evaluate": {"schedule", "network", "genome", "data", "initializers", "activations"},
    "schedule": {"genome"},   # tasks into populations, and their order
    "config": {"data", "genome", "network"},
    "saving": {"rundir", "config", "genome"},  # what the search writes into its run folder
    "checkpoint": {"rundir", "config", "genome", "evaluate", "network", "saving"},
    "baselines": {"config", "evaluate", "genome"},
    "backends": set(),
    "runs": {"evaluate", "genome", "data", "config", "backends"},  # search's parts that are not the GA
    "rungs": {"evaluate", "genome", "data", "network"},  # successive halving in a generation
    "surrogate": {"genome", "evaluate"},  # a random forest pre-selects the offspring (sklearn)
    "search": {"evaluate", "genome", "rundir", "data", "network", "config", "baselines", "plots",
               "backends", "checkpoint", "runs", "islands", "rungs", "individuals", "surrogate", "steady"},
    "islands": {"individuals", "evaluate", "backends", "checkpoint", "runs"},   # the island model's GA
    "steady": {"individuals", "evaluate", "backends", "schedule", "runs"},   # the steady-state GA with a lag
    "individuals": {"checkpoint"},   # DEAP's pieces for the GA
    "plots": {"rundir"},  # figures are written as every file is (atomic, never through a link)
    "export": {"activations", "initializers", "genome", "network", "checkpoint", "rundir"},
    # the fronts: the scikit-learn estimators and the command line
    "estimator": {"data", "evaluate", "genome", "network", "search", "config"},
    "sklearn": {"data", "estimator", "evaluate", "genome", "network", "search"},
    "cli": None,  # everything
    "cliargs": {"config", "rundir"},  # the command's option text -> the library's values
    "exits": {"checkpoint", "rundir"},  # signals, exit codes, the one-line error
    "terminal": {"exits", "checkpoint", "baselines", "initializers", "activations", "data"},  # what it prints
    "importance": set(),
    "htmlpage": set(),
    "report": {"checkpoint", "plots", "importance", "htmlpage", "initializers", "config", "rundir", "saving"},
}
#: errors, checks and seeding are leaves; ``__version__`` is the package's own.
EVERYWHERE = {"errors", "checks", "seeding", "__version__"}
#: Files that are not modules of the flow: the lazy package namespace and ``python -m evoinit``.
NOT_IN_THE_FLOW = {"__init__", "__main__"}


def _imports(path: pathlib.Path) -> tuple[set[str], set[str]]:
    """(evoinit modules imported, top-level third-party packages imported)."""
    tree = ast.parse(path.read_text())
    own, other = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split(".")
                (own.add(parts[1]) if parts[0] == "evoinit" and len(parts) > 1 else other.add(parts[0]))
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level:  # relative: from . import x / from .x import y
                if mod:
                    own.add(mod.split(".")[0])
                else:
                    own.update(a.name for a in node.names)
            elif mod.split(".")[0] == "evoinit":
                parts = mod.split(".")
                if len(parts) > 1:
                    own.add(parts[1])
                else:
                    own.update(a.name for a in node.names)
            else:
                other.add(mod.split(".")[0])
    return own, other


def test_imports_follow_the_data_flow():
    bad = []
    for name, allowed in ALLOWED.items():
        path = PKG / f"{name}.py"
        assert path.exists(), f"ALLOWED names {name}.py, which does not exist"
        own, _ = _imports(path)
        if allowed is None:
            continue
        extra = own - allowed - EVERYWHERE - {name}
        if extra:
            bad.append(f"{name}.py imports {sorted(extra)}")
    assert not bad, bad


def test_every_module_has_a_place_in_the_flow():
    """A new module must say what it may import: one missing from ALLOWED is not checked at all."""
    modules = {p.stem for p in PKG.glob("*.py")} - NOT_IN_THE_FLOW
    assert modules == set(ALLOWED), (sorted(modules - set(ALLOWED)), sorted(set(ALLOWED) - modules))


def test_the_run_folder_is_read_in_one_place():
    """The schema is read by checkpoint.py: no other module turns a line or file of the run folder
    back into values (``read_lines``, ``read_checkpoint``, ``from_json`` of an Evaluation; evaluate
    defines the record and rebuilds its workers' results with it)."""
    readers = [p.stem for p in PKG.glob("*.py") if p.stem not in ("checkpoint", "rundir", "evaluate")
               and any(word in p.read_text() for word in ("read_lines(", "read_checkpoint(", "Evaluation.from_json"))]
    assert readers == [], readers


def test_deap_only_in_search():
    """DEAP stays in the GA: search.py, its pieces in individuals.py, islands.py and steady.py."""
    users = [p.name for p in PKG.rglob("*.py") if "deap" in _imports(p)[1]]
    assert set(users) <= {"search.py", "individuals.py", "islands.py", "steady.py"}, users


def test_no_pickle_loading_in_package():
    for p in PKG.rglob("*.py"):
        text = p.read_text()
        assert "pickle.load" not in text and "allow_pickle=True" not in text, p.name


def test_the_public_names_resolve():
    """Every name ``evoinit`` lists is reachable and is the object of the module that owns it
    (the trainer's pause-and-continue API included); the lazy namespace loads nothing it lists not."""
    import importlib

    import evoinit

    for name in evoinit.__all__:
        assert getattr(evoinit, name) is not None, name
    for name, module in evoinit._NAMES.items():
        assert getattr(evoinit, name) is getattr(importlib.import_module(f"evoinit.{module}"), name), name
    assert {"TrainState", "initial_states", "continue_training", "opened", "from_arrays"} <= set(evoinit.__all__)
