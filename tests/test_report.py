"""The report: figures, gene importance and report.html — for a finished run and for one stopped
by --stop-after — and the page rendered in a real headless Chromium."""

import json
import re
import shutil
import subprocess
import sys

import pytest
from helpers import ENV, RESULT_FILES, files

import evoinit
from evoinit.ga.config import SearchConfig
from evoinit.ga.genome import Genome
from evoinit.ga.results import Entry
from evoinit.nn.training import TrainSettings
from evoinit.reporting import page as htmlpage
from evoinit.reporting import report as R

SMALL = SearchConfig(dataset="iris", population=6, generations=3, repeats=2, seed=3,
                     train=TrainSettings(epochs=5))
CLI = [sys.executable, "-m", "evoinit"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A finished small search (Python API) and the same search stopped after generation 1 (CLI)."""
    root = tmp_path_factory.mktemp("report")
    evoinit.search(SMALL.dataset, config=SMALL, n_jobs=1, out=root / "finished")
    stop = subprocess.run([*CLI, "search", "--dataset", "iris", "--population", "6", "--generations", "3",
                           "--repeats", "2", "--seed", "3", "--epochs", "5", "--n-jobs", "1",
                           "--stop-after", "1", "--out", str(root / "stopped")],
                          capture_output=True, text=True, env=ENV, timeout=300)
    assert stop.returncode == 0, stop.stderr
    return root


def test_report_of_a_finished_run(runs):
    run = runs / "finished"
    before = files(run, RESULT_FILES + ("config.json",))
    summary = evoinit.report(run, resamples=5)
    assert files(run, RESULT_FILES + ("config.json",)) == before   # read-only but for figures and page
    names = {p.name for p in summary["figures"]}
    assert {"fitness.png", "scale_by_family.png", "importance.png", "top_vs_baselines.png"} <= names
    assert all(p.stat().st_size > 5000 for p in summary["figures"])
    found = summary["importance"]
    assert {g["gene"] for g in found["genes"]} == {"scheme", "activation", "scale", "depth", "widths"}
    assert found["n"] + found["excluded"] == len(R.read(run).evaluations) and found["resamples"] == 5
    assert all(g["low"] <= g["importance"] <= g["high"] for g in found["genes"])
    page = summary["html"].read_text()
    assert summary["html"] == run / "report.html" and summary["finished"]
    assert page.count("<img ") == len(summary["figures"]) and page.count('src="data:image/png;base64,') == len(names)
    assert not re.search(r'(src|href)="(?!data:)', page) and "<script" not in page   # nothing fetched
    for cls in ("hall-of-fame", "importance", "generations", "settings"):
        assert f'<table class="{cls}">' in page, cls
    hof = summary["hall_of_fame"]
    assert [e.to_json() for e in hof] == json.loads((run / "hall_of_fame.json").read_text())["entries"]  # from the checkpoint
    assert f"{hof[0].improvement.test_error.mean:+.4f}" in page   # the paired gain, in the verdict
    assert htmlpage.escape(hof[0].text) in page and "Verdict against the canonical start" in page
    # the per-generation table has one row per generation
    assert page.split('<table class="generations">')[1].split("</table>")[0].count("<tr>") == 1 + 4


def test_gene_importance_in_the_python_api(runs):
    found = R.gene_importance(runs / "finished", resamples=3)
    assert found.fitness == "val_loss" and found.resamples == 3 and found.genes[0] == "scheme"


def test_report_of_a_stopped_run_through_the_cli(runs):
    run = runs / "stopped"
    r = subprocess.run([*CLI, "report", str(run), "--open"], capture_output=True, text=True,
                       env=ENV | {"BROWSER": "echo OPENED %s"}, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "hall of fame (search not finished)" in r.stdout and "gene importance" in r.stdout
    assert f"report: {run / 'report.html'}" in r.stdout.replace("\n", "")
    assert f"OPENED {(run / 'report.html').resolve().as_uri()}" in r.stdout   # --open used the browser
    page = (run / "report.html").read_text()
    assert "not finished: generation 1 of 3 done" in page and "has not finished" in page
    assert page.split('<table class="generations">')[1].split("</table>")[0].count("<tr>") == 1 + 2
    assert "paired gain (test error)" not in page    # no test scores before the end


def test_report_of_a_run_still_going(runs, tmp_path):
    """A search writing its next generation: evaluations past the checkpoint (and a half-written
    line) are not reported — the same report as the paused run's, and the logs untouched."""
    going = tmp_path / "going"
    shutil.copytree(runs / "stopped", going, ignore=shutil.ignore_patterns("figures", "report.html"))
    paused = R.read(runs / "stopped")
    later = (runs / "finished" / "evaluations.jsonl").read_text().splitlines(keepends=True)
    assert later[:len(paused.log)] == (going / "evaluations.jsonl").read_text().splitlines(keepends=True)
    with open(going / "evaluations.jsonl", "a") as f:    # same settings and seed: the next lines
        f.write("".join(later[len(paused.log):len(paused.log) + 5]) + later[len(paused.log) + 5][:40])
    before = files(going, RESULT_FILES)
    summary = R.report(going, resamples=3)
    assert files(going, RESULT_FILES) == before and not summary["finished"]
    assert len(summary["logbook"]) == 2 and summary["hall_of_fame"] == R.report(runs / "stopped", resamples=3)["hall_of_fame"]
    assert summary["importance"] is None or summary["importance"]["n"] + summary["importance"]["excluded"] == len(paused.evaluations)


def test_the_page_escapes_what_comes_from_the_run():
    entry = Entry(Genome((4,), "tanh", "zeros"), "<b>x</b>", {"val_loss": 0.1}, False, 10, 0.1, 0.5, ((0, 0, 0),), 1)
    summary = {"hall_of_fame": [entry],
               "objectives": ["val_loss"], "finished": False, "generation": 0, "generations": 1,
               "logbook": [{"gen": 0, "best": "<i>y</i>"}], "importance": None, "figures": [],
               "skipped": {"importance": "<too few>"}}
    page = htmlpage.page({"command": "evoinit search --out '<script>alert(1)</script>'"}, summary)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<b>x</b>" not in page and "<i>y</i>" not in page and "&lt;too few&gt;" in page


CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)
CHECK = """<script>window.addEventListener("load", () => {
  const imgs = [...document.images];
  const out = document.createElement("pre"); out.id = "check";
  out.textContent = JSON.stringify({images: imgs.length,
    loaded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
    tables: [...document.querySelectorAll("table")].map(t => t.className + ":" + t.rows.length)});
  document.body.appendChild(out);
});</script>"""


def chromium(*args, user_data_dir, timeout=120) -> str:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={user_data_dir}"]
    r = subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary on PATH (Debian: apt-get install chromium; "
                                             ".ci/run installs it when apt-get is there)")
def test_report_html_in_a_headless_browser(runs, tmp_path):
    """Every image of the page decodes (naturalWidth > 0) and the tables are there, in Chromium with
    name resolution switched off: the page needs no network. The check script is added to a copy."""
    run = runs / "finished"
    if not (run / "report.html").exists():
        evoinit.report(run, resamples=3)
    page = (run / "report.html").read_text()
    copy = tmp_path / "page.html"
    copy.write_text(page.replace("</body>", CHECK + "</body>"))
    dom = chromium("--virtual-time-budget=10000", "--dump-dom", copy.as_uri(), user_data_dir=tmp_path / "u")
    check = json.loads(re.search(r'<pre id="check">(.*?)</pre>', dom).group(1).replace("&quot;", '"'))
    assert check["images"] == page.count("<img ") >= 6 and check["loaded"] == check["images"], check
    tables = dict(t.split(":") for t in check["tables"])
    assert set(tables) == {"settings", "hall-of-fame", "importance", "generations"}, tables
    entries = json.loads((run / "hall_of_fame.json").read_text())["entries"]
    assert int(tables["hall-of-fame"]) == 1 + len(entries) and int(tables["generations"]) == 1 + 4
    shot = tmp_path / "shot.png"
    chromium(f"--screenshot={shot}", "--window-size=1200,1600", (run / "report.html").as_uri(),
             user_data_dir=tmp_path / "u2")
    assert shot.stat().st_size > 20000
