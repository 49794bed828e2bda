"""``report.html``: one self-contained page for a run — every figure embedded as a base64 PNG,
inline CSS, no script, no link to anything outside the file, so it opens offline and can be
mailed. Every text that comes from the run (names, settings, paths) is HTML-escaped.
"""

from __future__ import annotations

import base64
import math
from html import escape
from pathlib import Path

from evoinit.checks import dig

CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .6em 0; font-size: .9em; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: right; }
th { background: #f3f3f3; } td.text, th.text { text-align: left; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: .9em; color: #555; }
.status { padding: .6em 1em; background: #fff7e0; border-left: 4px solid #e0a000; }
.verdict { padding: .6em 1em; background: #eef6ff; border-left: 4px solid #2a6fdb; }
.note { color: #555; font-size: .9em; }
"""

#: Figure file stem -> caption, in page order (the importance figure sits with its table).
CAPTIONS = {
    "fitness": "Fitness of the population per generation (diverged candidates excluded).",
    "frequencies": "Share of each init scheme and activation in the population, per generation.",
    "scale_by_family": "Final validation loss against the first layer's weight RMS × √fan_in, one "
                       "panel per activation, coloured by scheme family; the dashed lines mark the "
                       "canonical starts (LeCun 1, He √2, Glorot at the median first width), the star "
                       "the best evaluation.",
    "scale_vs_fitness": "Every evaluation's scale gene against its final validation loss, by scheme.",
    "top_vs_baselines": "Learning curves of the best setups and of their canonical baselines on the "
                        "final seeds.",
    "diversity": "Each individual's validation error per generation, and the population's spread.",
}


def fmt(x, sign: bool = False) -> str:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return "—" if x is None else escape(str(x))
    if isinstance(x, int):
        return f"{x:+d}" if sign else str(x)
    if not math.isfinite(x):
        return escape(str(x))
    return f"{x:+.4f}" if sign else (f"{x:.4g}" if abs(x) >= 1e4 or 0 < abs(x) < 1e-3 else f"{x:.4f}")


def table(header: list[str], rows: list[list], text_columns=(), cls: str = "") -> str:
    """An HTML table; cells already formatted (escaped) by the caller, header escaped here."""
    head = "".join(f'<th class="{"text" if i in text_columns else ""}">{escape(h)}</th>'
                   for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f'<td class="{"text" if i in text_columns else ""}">{c}</td>'
                                    for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def image(path: Path, alt: str, caption: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{escape(alt)}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def flatten(d, prefix: str = "") -> list[tuple[str, str]]:
    """Nested settings as (dotted key, text) pairs."""
    out = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out += flatten(v, key + ".") if v else [(key, "—")]
        elif isinstance(v, list):
            out.append((key, ", ".join(str(x) for x in v)))
        else:
            out.append((key, "—" if v is None else str(v)))
    return out


def _gain(entry) -> str:
    """A hall-of-fame entry's paired gain ± its 95% half-width."""
    gain, ci = entry.gain
    return fmt(gain, sign=True) + (f" ± {ci:.4f}" if ci is not None and gain is not None else "")


def verdict(summary: dict) -> str:
    """The answer to "did the search beat the canonical start?", from the hall of fame's paired
    test-error gains (baseline minus ours per final seed: positive means the search found better)."""
    if not summary["finished"]:
        return (f"<p>The search has not finished (generation {summary['generation']} of "
                f"{summary['generations']} done): the hall of fame is scored on the test split and "
                "compared with the canonical start only at the end.</p>")
    entries = summary["hall_of_fame"]
    best = entries[0] if entries else None
    if best is None or best.baseline is None:
        return "<p>No canonical baselines were trained for this run (baselines off).</p>"
    gain, ci = best.gain
    if gain is None:
        call = "cannot be compared (every paired run diverged)"
    elif ci is None or abs(gain) <= ci:
        call = "is within noise of the canonical start"
    else:
        call = "beats the canonical start" if gain > 0 else "is worse than the canonical start"
    wins = sum(1 for e in entries if e.gain[0] is not None and e.gain[1] is not None and e.gain[0] > e.gain[1])
    rows = f" and on {escape(summary['test_rows'])}" if summary.get("test_rows") else ""
    return (f"<p>The best setup <b>{escape(best.text)}</b> {call}: test error {fmt(best.test.error.mean)} "
            f"against {fmt(best.baseline.test.error.mean)} for the same widths started with "
            f"<b>{escape(best.baseline.genome.init)}</b> ×1, on the same seeds{rows}; paired gain {_gain(best)} (95% "
            f"interval; positive: the search found better). {wins} of {len(entries)} hall-of-fame "
            "setups beat their canonical start beyond the interval.</p>")


def hall_of_fame(summary: dict) -> str:
    objectives, finished = summary["objectives"], summary["finished"]
    header = ["#", "setup", *objectives, "val error"]
    if finished:
        header += ["test error", "canonical start", "its test error", "paired gain (test error)"]
    rows = []
    for e in summary["hall_of_fame"]:
        row = [fmt(e.rank), escape(e.text), *[fmt(e.fitness.get(o)) for o in objectives], fmt(e.val_error)]
        if finished and e.test is not None:
            base = e.baseline
            row += [fmt(e.test.error.mean), escape(base.genome.init if base else "—"),
                    fmt(base.test.error.mean) if base else "—", _gain(e) if base else "—"]
        elif finished:
            row += ["—"] * 4
        rows.append(row)
    if not rows:
        return "<p>The hall of fame is empty: every candidate so far diverged.</p>"
    note = ('<p class="note">In the random forest\'s order (<code>--surrogate</code>): each setup\'s '
            'predicted fitness, not its measured loss, ranks it.</p>' if finished and summary.get("by_model") else "")
    return note + table(header, rows, text_columns={1, len(objectives) + 4}, cls="hall-of-fame")


def importance_section(summary: dict, figures: dict) -> str:
    found = summary.get("importance")
    if found is None:
        return f'<p class="note">Not measured: {escape(summary["skipped"].get("importance", "?"))}.</p>'
    rows = [[escape(r["gene"]), fmt(r["importance"]), f"{fmt(r['low'])} … {fmt(r['high'])}"]
            for r in found["genes"]]
    text = (f'<p class="note">Share of the variance of each evaluation\'s {escape(found["fitness"])} that '
            f"each gene explains ({'the log of ' if found['fitness'] == 'val_loss' else ''}the final "
            "value of one run): half the drop in out-of-bag R² of a random forest when the gene is shuffled "
            "(exactly the gene's share when effects add up and genes vary independently), "
            f"mean and 95% interval over {found['resamples']} bootstrap resamples of {found['n']} "
            f"evaluations ({found['excluded']} diverged left out); all genes together: R² = "
            f"{fmt(found['r2'])}. Correlated genes share the credit, and the GA's sampling is not "
            "uniform: this describes the region the search visited.</p>")
    out = text + table(["gene", "importance", "95% interval"], rows, text_columns={0}, cls="importance")
    if "importance" in figures:
        out += image(figures["importance"], "gene importance", "Gene importance with 95% bootstrap intervals.")
    return out


def generations_table(logbook: list) -> str:
    if not logbook:
        return "<p>No generation finished yet.</p>"
    header = list(logbook[0])
    rows = [[fmt(r.get(k)) for k in header] for r in logbook]
    return table(header, rows, text_columns={len(header) - 1} if header[-1] == "best" else (),
                 cls="generations")


def page(settings: dict, summary: dict) -> str:
    """The whole page for a run's ``settings`` (config.json) and ``summary`` (``report``'s, its hall
    of fame ``ga.results.Entry`` values)."""
    figures = {Path(p).stem: p for p in summary["figures"]}
    dataset = dig(settings, "dataset", "name") or dig(settings, "search", "dataset", "name") or "?"
    status = ("finished" if summary["finished"] else
              f"not finished: generation {summary['generation']} of {summary['generations']} done — "
              "this page reports what is finished")
    parts = [f"<h1>evoinit search on {escape(str(dataset))}</h1>",
             f'<p class="status">Run {status}.</p>' if not summary["finished"] else
             f'<p class="note">Run {status}.</p>',
             "<h2>Settings</h2>", f'<p><code>{escape(str(settings.get("command", "?")))}</code></p>',
             '<details><summary>all settings</summary>' + table(
                 ["setting", "value"], [[escape(k), escape(v)] for k, v in flatten(settings)],
                 text_columns={0, 1}, cls="settings") + "</details>",
             "<h2>Verdict against the canonical start</h2>", f'<div class="verdict">{verdict(summary)}</div>',
             "<h2>Hall of fame</h2>", hall_of_fame(summary),
             "<h2>Gene importance</h2>", importance_section(summary, figures), "<h2>Figures</h2>"]
    parts += [image(figures[name], name, caption) for name, caption in CAPTIONS.items() if name in figures]
    for name, why in summary["skipped"].items():
        if name != "importance":
            parts.append(f'<p class="note">Not drawn: {escape(name)} ({escape(why)}).</p>')
    parts += ["<h2>Per generation</h2>", generations_table(summary["logbook"])]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>evoinit report: {escape(str(dataset))}</title><style>{CSS}</style></head>"
            "<body>\n" + "\n".join(parts) + "\n</body></html>\n")
