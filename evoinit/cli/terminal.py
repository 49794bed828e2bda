"""What the ``evoinit`` command prints on stdout: rich tables of a training, a hall of fame and
gene importance, and the live progress of a search. The library computes; this only shows.

Text that comes from the user or a run folder (setups, dataset names, paths, notes) goes through
``shown`` before rich sees it: its markup escaped (``[link=…]`` is printed, not followed) and its
control characters written as escapes (``exits.printable``)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from evoinit.checks import is_number as _number
from evoinit.cli.exits import hint, printable, signals

console = Console()


def shown(text) -> str:
    """``text`` for a rich string or table cell: control characters as escapes, markup escaped."""
    return escape(printable(text))


def print_inits() -> None:
    from evoinit.nn import initializers

    table = Table(title="init schemes — `scale` multiplies the std, limit or constant")
    for col in ("name", "family", "formula", "parameters"):
        table.add_column(col, overflow="fold")   # at 80 columns a formula wraps, it is never cut
    for name in initializers.names():
        init = initializers.get(name)
        params = ", ".join(f"{k}={v}" for k, v in init.params.items())
        table.add_row(name, init.family, init.formula, params)
    console.print(table)
    aliases = ", ".join(f"{a} → {c}" for a, c in sorted(initializers.ALIASES.items()))
    console.print(f"aliases: {aliases}")


def print_activations() -> None:
    from evoinit.nn import activations

    table = Table(title="activations")
    for col in ("name", "formula", "gain"):
        table.add_column(col, overflow="fold")
    for name in activations.names():
        act = activations.get(name)
        table.add_row(name, act.formula, f"{act.gain:.4g}")
    console.print(table)


def print_datasets() -> None:
    from evoinit import data

    table = Table(title="datasets — or pass a .csv/.npz path (--target names the target column)")
    for col in ("name", "task", "description"):
        table.add_column(col, overflow="fold")
    for row in data.describe():
        table.add_row(*row)
    console.print(table)


def fmt(x, digits: int = 4, sign: bool = False) -> str:
    if not _number(x):
        return "—"
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


def print_train(trained) -> None:
    s = trained.summary()
    metric = "validation error" if s["metric"] == "val_error" else "validation 1 − R²"
    dead = f", {s['degenerate']} constant predictors" if s["degenerate"] else ""
    kept = s.get("best_epoch")
    if kept:   # early stopping: the scores are those of each network's best epoch
        dead += (f"; each kept at its best epoch ({kept['mean']:.1f} on average, "
                 f"{kept['best']:.0f}–{kept['worst']:.0f})")
    table = Table(title=f"{shown(s['genome'])} — {s['seeds']} seeds, {s['diverged']} diverged{dead}")
    for col in ("at the best epoch" if kept else "final", "mean ± std", "best", "worst"):
        table.add_column(col, justify="left" if col in ("final", "at the best epoch") else "right")
    rows = [("validation loss", "val_loss"), (metric, "val_error")]
    if "test_loss" in s:
        rows += [("test loss", "test_loss"), (metric.replace("validation", "test"), "test_error")]
    for label, key in rows:
        st = s[key]
        if st is None:
            table.add_row(label, "all diverged", "—", "—")
        else:
            table.add_row(label, f"{st['mean']:.4f} ± {st['std']:.4f}", fmt(st["best"]), fmt(st["worst"]))
    console.print(table)
    if s.get("test_rows"):
        console.print(f"test scores on {s['test_rows']}", markup=False, highlight=False, soft_wrap=True)


def _count(n: int, noun: str) -> str:
    """"1 generation", "30 generations"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def print_search_start(run, cfg, folder) -> None:
    """The notes of an opened search (e.g. --n-jobs capped) and the line that says what runs."""
    for note in run.notes:
        console.print(shown(note), highlight=False, soft_wrap=True)
    if run.resumed:
        console.print(f"evoinit search --resume: continuing {shown(folder)}")
    else:
        console.print(f"evoinit search on [bold]{shown(cfg.dataset.name)}[/]: population {cfg.population}, "
                      f"{_count(cfg.generations, 'generation')}, {_count(cfg.repeats, 'seed')} each, "
                      f"{_count(cfg.train.epochs, 'epoch')}, seed policy {cfg.seed_policy}, objectives "
                      f"{', '.join(cfg.objectives)} → {shown(folder)}", soft_wrap=not console.is_terminal)


class Live:
    """Progress of a search: one printed line per generation and, on a terminal only, a rich bar
    over generations with the evaluations of the current one, the best so far and an ETA. Piped
    to a file, nothing but those lines (no bar, no control characters), each on one line."""

    def __init__(self, objective: str | None = None, resumed: bool = False):
        self.objective, self.resumed = objective or "fitness", resumed
        self.bar, self.task = None, None
        if console.is_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
                                TextColumn("ETA"), TimeRemainingColumn(), console=console, transient=True)

    def __enter__(self):
        return self   # the bar starts with the first progress: an error before it prints no empty bar

    def __exit__(self, *exc):
        if self.task is not None:
            self.bar.stop()

    def _update(self, **kw) -> None:
        if self.bar is not None:
            self.bar.update(self.task, **kw)

    def __call__(self, p) -> None:
        signals.check()
        self.objective = p.objective or self.objective   # a resumed run's own objective
        if self.task is None and self.bar is not None:
            self.bar.start()
            self.task = self.bar.add_task("generations", total=p.generations + 1, status="starting…")
            self._update(completed=p.generation + 1 if p.kind != "start" else 0)
        if p.kind == "start":
            done = 0 if p.generation == 0 and not self.resumed else p.generation + 1
            self._update(completed=min(done, p.generations + 1))
        elif p.kind == "evaluated":
            self._update(status=f"evaluations {p.done}/{p.total}")
        elif p.kind == "generation":
            r = p.row
            best = fmt(r["min"])
            self._update(completed=r["gen"] + 1, status=f"best {self.objective} {best}")
            console.print(
                f"gen {r['gen']:>3}  evals {r['nevals']:>4}  best {self.objective} {best}  "
                f"median {fmt(r['median'])}  best error {fmt(r['best_error'])}  diverged {r['diverged']}  "
                f"degenerate {r.get('degenerate', 0)}  "
                + (f"pruned {r['pruned']}  " if "pruned" in r else "")
                + f"distinct {r['unique']}  best: {shown(r['best'])}", highlight=False, soft_wrap=self.bar is None)
        elif p.kind == "final":
            if self.bar is None:
                console.print(f"scoring the hall of fame ({p.total}) and baselines on test", highlight=False,
                              soft_wrap=True)
            self._update(status=f"test scores of {p.total}")


def print_importance(found) -> None:
    if found is None:
        return
    log = "log " if found["fitness"] == "val_loss" else ""
    table = Table(title=f"gene importance: share of the {log}{found['fitness']} variance explained "
                        f"(all genes R² = {found['r2']:.2f}, {found['n']} evaluations)")
    for col in ("gene", "importance", "95% interval"):
        table.add_column(col, justify="left" if col == "gene" else "right")
    for r in found["genes"]:
        table.add_row(shown(r["gene"]), f"{r['importance']:.3f}", f"{r['low']:.3f} – {r['high']:.3f}")
    console.print(table)
    console.print("importance: half the drop in the forest's R² when that gene alone is shuffled — a "
                  "ranking with sizes, not parts of a whole: genes that act together or move together "
                  "each claim their joint part, so the column can add up to more than R².", highlight=False)


def print_verdict(entries, test_rows: str | None, finished: bool) -> None:
    """The verdict line (``ga.baselines.verdict``) of a finished search, if it has one."""
    from evoinit.ga.baselines import verdict

    line = verdict(entries, test_rows) if finished else None
    if line:
        console.print(printable(line), markup=False, highlight=False, soft_wrap=True)  # one line, even in a pipe


def print_result(result) -> None:
    print_hall_of_fame(result.hall_of_fame, result.config.objectives, result.finished, result.by_model,
                       result.test_rows)
    print_verdict(result.hall_of_fame, result.test_rows, result.finished)
    print_best_network(result)
    if result.run_dir is not None:
        if result.finished:
            console.print(f"run folder: {shown(result.run_dir)}  (figures: evoinit report {shown(result.run_dir)})",
                          soft_wrap=not console.is_terminal)
        else:
            console.print(f"paused; continue with: {shown(hint(result.run_dir))}", soft_wrap=not console.is_terminal)


def best_network_line(result, width: int = 80) -> str | None:
    """One line naming the best trained network found (lowest validation loss among the hall of
    fame's kept networks) when it is not the best setup's: its setup, seed key, validation and
    test error; the setup's text (its rank's row in the table) ends the line, cut to keep it
    within ``width`` columns."""
    from evoinit.ga.kept import best_network

    best = best_network(result.networks) if result.finished else None
    if best is None or best.rank == 1:
        return None
    key = "(" + ",".join(map(str, best.key)) + ")"
    test = "" if best.test_error is None else f", test error {best.test_error:.4f}"
    line = f"best network found: #{best.rank} seed {key}, val error {best.val_error:.4f}{test}"
    text, room = printable(str(best.genome)), width - len(line) - 3   # "#rank" is the table's row
    if room >= 8:
        line += " — " + (text if len(text) <= room else text[:room - 1] + "…")
    return line


def print_best_network(result) -> None:
    line = best_network_line(result)
    if line:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def print_hall_of_fame(entries, objectives, finished, by_model: bool = False, test_rows: str | None = None) -> None:
    """``entries``: ``ga.results.Entry`` values, best first. ``by_model``: a finished surrogate
    search, whose hall of fame is in the forest's order; ``test_rows``: which rows the test scores
    used (said under the table)."""
    if not entries:
        console.print("hall of fame: empty — every candidate so far diverged")
        return
    order = " — in the random forest's order (--surrogate), not by measured loss" if finished and by_model else ""
    table = Table(title="hall of fame" + ("" if finished else " (search not finished)") + order,
                  box=None, pad_edge=False, header_style="bold underline")
    for col in ("#", "setup", *objectives, "val err"):
        # setups wrap at their spaces; a word longer than the column folds, it is never cut
        table.add_column(col, justify="left" if col == "setup" else "right", min_width=21 if col == "setup" else None,
                         overflow="fold")
    if finished:
        for col in ("test err", "canonical", "gain"):
            table.add_column(col, justify="left" if col == "canonical" else "right", overflow="fold")
    for e in entries:
        row = [shown(e.rank), shown(e.text), *[fmt(e.fitness.get(o)) for o in objectives], fmt(e.val_error)]
        if finished and e.test is not None:
            row.append(fmt(e.test.error.mean))
            if e.baseline is not None:
                gain, ci = e.gain
                row += [f"{shown(e.baseline.genome.init)}\n{fmt(e.baseline.test.error.mean)}",
                        fmt(gain, sign=True) + (f"\n± {ci:.4f}" if _number(gain) and _number(ci) else "")]
            else:
                row += ["—", "—"]
        table.add_row(*row)
    console.print(table)
    if finished and any(e.baseline is not None for e in entries):
        console.print("err: error; canonical: the same widths from the textbook init for the activation, ×1, "
                      "and its test error; gain: its test error minus the setup's, paired by seed (positive: "
                      "the search found better), ± the 95% Student-t interval over the seeds.", highlight=False)
    if finished and test_rows and any(e.test is not None for e in entries):
        console.print(f"test scores on {test_rows}", markup=False, highlight=False, soft_wrap=True)
