"""The documentation site (mkdocs.yml, docs/): it builds strictly, its examples run, every public
name has a docstring, and the built pages load in a real browser.

The examples test runs every ```python and ```bash block of README.md, docs/getting_started.md and
docs/tutorials/*.md, in order, in one temporary folder per page (a page's blocks may use the files
its earlier blocks wrote). Python blocks run with ``python -c``; in a bash block each line that
starts with ``evoinit`` or ``python`` runs as a command (``evoinit`` as ``python -m evoinit``). A
block right below a ``<!-- no-run -->`` line is skipped. Budgets are cut to a fast mode
(``EVOINIT_DOCS_FAST=1`` is set for the examples) by ``fast`` below: what it rewrites is listed there.
"""

from __future__ import annotations

import functools
import http.server
import importlib
import inspect
import json
import os
import re
import shlex
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import typer

import evoinit
from evoinit.cli.app import app

from test_report import CHROMIUM, chromium

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_PAGES = [ROOT / "README.md", ROOT / "docs" / "getting_started.md",
                 *sorted((ROOT / "docs" / "tutorials").glob("*.md"))]
NO_RUN = "<!-- no-run -->"
FENCE = re.compile(r"^```(python|bash)\n(.*?)^```", re.S | re.M)
HAS_MKDOCS = importlib.util.find_spec("mkdocs") is not None
needs_mkdocs = pytest.mark.skipif(not HAS_MKDOCS, reason="mkdocs is not installed (pip install -e '.[dev]')")


def env() -> dict:
    """The examples' environment: this checkout first on the path, the fast mode flagged, output
    wide enough not to wrap."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "EVOINIT_DOCS_FAST": "1", "COLUMNS": "100",
            "NO_MKDOCS_2_WARNING": "1"}


# -- the strict build ------------------------------------------------------------------------------

def build(site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                           "-d", str(site)], cwd=ROOT, env=env(), capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    if not HAS_MKDOCS:
        pytest.skip("mkdocs is not installed (pip install -e '.[dev]')")
    out = tmp_path_factory.mktemp("site")
    r = build(out)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return out


@needs_mkdocs
def test_the_site_builds_strictly_with_every_reference(site):
    """``mkdocs build --strict`` passed (a broken link, a missing anchor, a ``:::`` reference
    mkdocstrings cannot find or a docstring griffe cannot read is a warning, and strict fails on
    one); every name of ``evoinit.__all__`` is on a reference page, and the CLI page has every command."""
    pages = {p: p.read_text() for p in (site / "reference").glob("*/index.html")}
    everything = "".join(pages.values())
    for name in set(evoinit.__all__) - {"__version__"}:
        obj = getattr(evoinit, name)
        where = obj.__name__ if inspect.ismodule(obj) else f"{obj.__module__}.{obj.__qualname__}"
        assert f'id="{where}"' in everything, f"{name} ({where}) is on no reference page"
    cli = (site / "reference" / "cli" / "index.html").read_text()
    cells = " ".join(re.findall(r"<td><code>(.*?)</code></td>", cli))
    for path, command in commands_of(typer.main.get_command(app), ["evoinit"]):
        assert f'id="{"-".join(path)}"' in cli, path
        for option in (o for p in command.params for o in p.opts if o.startswith("-")):
            assert option in cells, f"{' '.join(path)} {option} is not in the CLI reference"


def commands_of(command, path):
    """(path, command) of the typer app's click command and of every subcommand below it."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from commands_of(sub, [*path, name])


BROKEN = {  # page text -> what the failed build says
    "[gone](nowhere.md)": "nowhere.md",
    "::: demo.gone": "demo.gone",
    "::: demo.unreadable": "does not appear in the function signature",
}


@needs_mkdocs
@pytest.mark.parametrize("text", BROKEN, ids=["link", "reference", "docstring"])
def test_the_strict_build_fails_on(text, tmp_path):
    """The strictness is real: with this site's own settings, a page with a link to no page, a
    reference to no object, or a docstring griffe cannot read (a parameter the signature lacks)
    fails the build."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text(f"# x\n\n{text}\n")
    (tmp_path / "demo.py").write_text('def unreadable(a):\n    """Doc.\n\n    :param nope: no such parameter\n    """\n')
    own = (ROOT / "mkdocs.yml").read_text()
    plugins = own[own.index("plugins:"):own.index("hooks:")].replace("options:", "paths: [.]\n          options:", 1)
    (tmp_path / "mkdocs.yml").write_text(f"site_name: x\nstrict: true\n{plugins}")
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "s")],
                       cwd=tmp_path, env=env(), capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and BROKEN[text] in r.stderr, r.stderr[-2000:]


# -- docstrings ------------------------------------------------------------------------------------

def public_members(module_name: str):
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    for name in names:
        obj = getattr(module, name)
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == module_name:
            yield f"{module_name}.{name}", obj


def test_every_public_name_has_a_docstring():
    """Every name of ``evoinit.__all__`` and every public function and class of the modules the
    reference pages document in full has its own docstring (not one inherited from a base class),
    and so do the public methods of the classes of ``evoinit.__all__``."""
    missing = []
    for name in evoinit.__all__:
        obj = getattr(evoinit, name)
        if name != "__version__" and not (obj.__doc__ or "").strip():
            missing.append(f"evoinit.{name}")
        if inspect.isclass(obj):
            missing += [f"evoinit.{name}.{m}" for m, f in vars(obj).items()
                        if not m.startswith("_") and inspect.isfunction(f) and not (f.__doc__ or "").strip()]
    for module in ("evoinit.api", "evoinit.ga.results", "evoinit.interop.sklearn"):
        missing += [where for where, obj in public_members(module) if not (inspect.getdoc(obj) or "").strip()
                    or (inspect.isclass(obj) and "__doc__" not in vars(obj))]
    assert not missing, f"public names without a docstring: {missing}"


# -- examples that run -----------------------------------------------------------------------------

def blocks(page: Path) -> list[tuple[str, str, int]]:
    """(language, code, line) of every ```python / ```bash block not marked ``<!-- no-run -->``."""
    text = page.read_text()
    found = []
    for m in FENCE.finditer(text):
        before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        if before != NO_RUN:
            found.append((m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1))
    return found


#: The fast mode's budget: a search option's value in a command (``--generations 6``) or a keyword
#: argument (``generations=10``) becomes this value.
FAST = {"generations": 1, "population": 4, "repeats": 1, "epochs": 2, "seeds": 2}
#: What a search that does not name a budget option gets added in the fast mode (one process: no
#: worker pool to start, light on a shared machine).
FAST_SEARCH = {**{k: v for k, v in FAST.items() if k != "seeds"}, "n_jobs": 1}


def fast(code: str, language: str) -> str:
    """The example in the fast mode. It rewrites, and nothing else:

    - ``--generations N`` → 1, ``--population N`` → 4, ``--repeats N`` → 1, ``--epochs N`` → 2,
      ``--seeds N`` → 2 in commands, and the same keyword arguments (``generations=10`` → 1, ...)
      in Python;
    - an ``evoinit search`` command gets ``--generations 1 --population 4 --repeats 1 --epochs 2
      --n-jobs 1`` for those it does not name; a one-line ``evoinit.search(...)`` call gets the
      same as keyword arguments (``n_jobs=1``, ...).
    """
    for option, value in FAST.items():
        code = re.sub(rf"--{option} \d+", f"--{option} {value}", code)
        code = re.sub(rf"\b{option}=\d+", f"{option}={value}", code)
    if language == "bash":
        def more(m):
            line = m.group(0)
            return line + "".join(f" --{o.replace('_', '-')} {v}" for o, v in FAST_SEARCH.items()
                                  if f"--{o.replace('_', '-')}" not in line)
        return re.sub(r"^evoinit search\b.*$", more, code, flags=re.M)

    def more_kw(m):
        call = m.group(0)
        return call[:-1] + "".join(f", {o}={v}" for o, v in FAST_SEARCH.items() if f"{o}=" not in call) + ")"
    return re.sub(r"evoinit\.search\((?:[^()\n]|\([^()\n]*\))*\)", more_kw, code)


def commands(code: str) -> list[list[str]]:
    """The command lines of a bash block that run: those starting with ``evoinit`` or ``python``."""
    out = []
    for line in code.splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] == "evoinit":
            out.append([sys.executable, "-m", "evoinit", *words[1:]])
        elif words and words[0] == "python":
            out.append([sys.executable, *words[1:]])
    return out


def run(argv: list[str], cwd: Path, where: str) -> None:
    r = subprocess.run(argv, cwd=cwd, env=env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"{where}: {shlex.join(argv[1:])[:300]}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"


@pytest.mark.parametrize("page", EXAMPLE_PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_examples_run(page, tmp_path):
    """Every example of the page runs without an error, in the fast mode."""
    found = blocks(page)
    assert FENCE.search(page.read_text()), f"{page.name} has no example"
    for language, code, line in found:
        where = f"{page.relative_to(ROOT)}:{line}"
        code = fast(code, language)
        if language == "python":
            run([sys.executable, "-c", code], tmp_path, where)
        else:
            for argv in commands(code):
                run(argv, tmp_path, where)


def test_the_fast_mode_rewrites_budgets_only():
    assert fast("evoinit search --dataset spirals --generations 6 --epochs 15\n", "bash") == (
        "evoinit search --dataset spirals --generations 1 --epochs 2 --population 4 --repeats 1 --n-jobs 1\n")
    assert fast('r = evoinit.search("digits", generations=10, out="runs/d")', "python") == (
        'r = evoinit.search("digits", generations=1, out="runs/d", population=4, repeats=1, epochs=2, n_jobs=1)')
    assert fast("evoinit train --seeds 10 --hidden 64", "bash") == "evoinit train --seeds 2 --hidden 64"
    marked = blocks(ROOT / "docs" / "tutorials" / "dask.md")
    assert not any("--scheduler" in code for _, code, _ in marked)


# -- in a real browser -----------------------------------------------------------------------------

CHECK = """(() => { const out = document.createElement("pre"); out.id = "check";
  const done = (index) => { const imgs = [...document.images];
    out.textContent = JSON.stringify({nav: document.querySelectorAll("nav.md-nav a.md-nav__link").length,
      images: imgs.length, loaded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
      title: document.title, index: index}); document.body.appendChild(out); };
  window.addEventListener("load", () => fetch(INDEX)
    .then(r => r.json()).then(j => done(j.docs.length)).catch(e => done("error: " + e))); })();"""


@pytest.fixture(scope="module")
def served(site):
    """The built site on http://127.0.0.1:PORT/ from a thread; pages get the check script added."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield site, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def check_in_browser(site: Path, url: str, page: str, tmp_path: Path) -> dict:
    html = site / page / "index.html" if page else site / "index.html"
    text = html.read_text()
    script = CHECK.replace("INDEX", json.dumps(url + "search/search_index.json"))
    html.write_text(text.replace("</body>", f"<script>{script}</script></body>"))
    try:
        # name resolution stays off, except for the local server (the last --host-resolver-rules wins)
        dom = chromium("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                       "--virtual-time-budget=10000", "--dump-dom", url + (page + "/" if page else ""),
                       user_data_dir=tmp_path / "u")
    finally:
        html.write_text(text)
    m = re.search(r'<pre id="check">(.*?)</pre>', dom)
    assert m, dom[-2000:]
    return json.loads(m.group(1).replace("&quot;", '"'))


@needs_mkdocs
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary on PATH (Debian: apt-get install chromium; "
                                             ".ci/run installs it when apt-get is there)")
@pytest.mark.parametrize("page", ["", "reference/api"])
def test_pages_in_a_headless_browser(served, page, tmp_path):
    """The home page and a reference page, served over HTTP and rendered by Chromium: the
    navigation is there, the search index loads and parses, and every image decodes."""
    site, url = served
    check = check_in_browser(site, url, page, tmp_path)
    pages = len(list(site.rglob("index.html")))
    assert check["nav"] >= pages - 1, check          # every page is in the navigation
    assert isinstance(check["index"], int) and check["index"] >= pages, check
    assert check["loaded"] == check["images"] and check["images"] >= (1 if page == "" else 0), check
    assert check["title"].endswith("evoinit"), check
