"""The layers of DESIGN.md, enforced: an import against the arrows fails here."""

import ast
import pathlib

PKG = pathlib.Path(__file__).resolve().parents[1] / "evoinit"

#: Each layer may import the layers before it in this list, never one after it.
LAYERS = ["leaves", "nn", "data", "ga", "runfolder", "api", "reporting", "interop", "cli"]
LEAVES = {"errors", "checks", "seeding", "__version__"}
#: Imports allowed inside ``ga`` beyond the order: the engine knows no variant (a factory maps a
#: config to them), and a variant knows the engine only through the object it is handed.
ENGINE_FREE_OF = "evoinit.ga.variants"


def _layer(module: str) -> str:
    """'evoinit.ga.engine' -> 'ga'; 'evoinit.errors' -> 'leaves'; 'evoinit.api' -> 'api'."""
    parts = module.split(".")
    if len(parts) < 2 or parts[1] in LEAVES:
        return "leaves"
    return parts[1]


def _module(path: pathlib.Path) -> str:
    return ".".join(("evoinit",) + path.relative_to(PKG).with_suffix("").parts).removesuffix(".__init__")


def _imports(path: pathlib.Path) -> tuple[set[str], set[str]]:
    """(evoinit modules imported, top-level third-party packages imported), dotted in full."""
    own, other = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for a in node.names:
                (own if a.name.startswith("evoinit") else other).add(a.name if a.name.startswith("evoinit")
                                                                     else a.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and not node.level:
            mod = node.module or ""
            if mod.split(".")[0] != "evoinit":
                other.add(mod.split(".")[0])
            elif mod == "evoinit":
                own.update(f"evoinit.{a.name}" for a in node.names)
            else:
                own.add(mod)
                own.update(f"{mod}.{a.name}" for a in node.names if (PKG.parent / mod.replace(".", "/") / a.name).exists()
                           or (PKG.parent / mod.replace(".", "/") / f"{a.name}.py").exists())
    return own, other


MODULES = {_module(p): p for p in PKG.rglob("*.py") if p.name != "__main__.py"}


def test_imports_follow_the_layers():
    bad = []
    for name, path in MODULES.items():
        mine = LAYERS.index(_layer(name)) if _layer(name) in LAYERS else None
        assert mine is not None or name == "evoinit", f"{name} is in no layer of {LAYERS}"
        if name == "evoinit":
            continue  # the lazy public namespace
        for imported in _imports(path)[0]:
            theirs = _layer(imported)
            if theirs in LAYERS and LAYERS.index(theirs) > mine:
                bad.append(f"{name} imports {imported}")
    assert not bad, bad


def test_the_engine_imports_no_variant_and_deap_stays_in_the_ga():
    assert not any(m.startswith(ENGINE_FREE_OF) for m in _imports(MODULES["evoinit.ga.engine"])[0])
    users = {name for name, path in MODULES.items() if "deap" in _imports(path)[1]}
    assert users and all(name.startswith("evoinit.ga.") for name in users), users


def test_the_library_never_prints():
    """Only the CLI prints (the library reports through a callback); rich is the CLI's."""
    for name, path in MODULES.items():
        if _layer(name) == "cli":
            continue
        tree = ast.parse(path.read_text())
        assert "rich" not in _imports(path)[1], name
        assert not any(isinstance(n, ast.Call) and getattr(n.func, "id", None) == "print" for n in ast.walk(tree)), name


def test_the_run_folder_is_read_in_one_place():
    """The schema is read inside runfolder/ (read.py: the search's state; views.py: what report and
    export show): no other module turns a line or file of the run folder back into values."""
    readers = [name for name, p in MODULES.items() if not name.startswith("evoinit.runfolder.")
               and any(word in p.read_text() for word in ("read_lines(", "read_checkpoint("))]
    assert readers == [], readers


def test_no_pickle_loading_in_package():
    for p in PKG.rglob("*.py"):
        text = p.read_text()
        assert "pickle.load" not in text and "allow_pickle=True" not in text, p.name


def test_the_public_names_resolve():
    """Every name ``evoinit`` lists is reachable and is the object of the module that defines it;
    ``search`` and ``report`` are plain functions, not callable modules."""
    import importlib
    import inspect

    import evoinit

    for name in evoinit.__all__:
        assert getattr(evoinit, name) is not None, name
    for name, module in evoinit._NAMES.items():
        assert getattr(evoinit, name) is getattr(importlib.import_module(f"evoinit.{module}"), name), name
    assert inspect.isfunction(evoinit.search) and inspect.isfunction(evoinit.report)
    assert {"TrainState", "initial_states", "continue_training", "opened", "from_arrays",
            "EvoMLPClassifier", "resume", "train", "Genome"} <= set(evoinit.__all__)
