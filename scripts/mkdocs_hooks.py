"""MkDocs hooks for the documentation site (``mkdocs.yml``: ``hooks``).

The CLI reference (``docs/reference/cli.md``) is generated here, at build time, from the click
command typer builds from ``evoinit.cli.app.app`` — the same objects ``evoinit CMD --help`` prints
from — so it cannot drift from the code. (mkdocs-click does this for plain click, but the typer
installed here, 0.29, carries its own copy of click, ``typer._click``: mkdocs-click 0.9 accepts its
commands yet lists none of their options, which are not ``click.Option`` instances.)
"""

from __future__ import annotations

import re
import textwrap

import typer

MARKER = "<!-- cli-reference -->"


def on_page_markdown(markdown: str, page, **_) -> str:
    """Replace the marker line of ``reference/cli.md`` with every command and option."""
    if page.file.src_uri != "reference/cli.md":
        return markdown
    from evoinit.cli.app import app

    command = typer.main.get_command(app)
    ctx = command.context_class(command, info_name="evoinit")
    return markdown.replace(MARKER, "\n".join(command_docs(ctx, level=2)))


def command_docs(ctx, level: int):
    """Markdown lines for the command of ``ctx`` and, below it, each of its subcommands."""
    command = ctx.command
    yield f"{'#' * level} {ctx.command_path}"
    yield ""
    yield from help_text(command.help or "")
    yield f"**Usage:** `{ctx.command_path} {' '.join(command.collect_usage_pieces(ctx))}`"
    yield ""
    rows = [p.get_help_record(ctx) for p in command.get_params(ctx)]
    rows = [r for r in rows if r]
    if rows:
        yield "| option | what it does |"
        yield "|---|---|"
        yield from (f"| `{cell(names, code=True)}` | {cell(what)} |" for names, what in rows)
        yield ""
    for name in getattr(command, "list_commands", lambda c: [])(ctx):
        sub = command.get_command(ctx, name)
        if sub is not None and not sub.hidden:
            yield from command_docs(sub.context_class(sub, info_name=name, parent=ctx), level + 1)


def help_text(text: str):
    """A command's help as Markdown: its paragraphs as text, its indented examples as code."""
    for block in re.split(r"\n\s*\n", textwrap.dedent(text).strip()):
        lines = block.splitlines()
        if all(line.startswith("  ") for line in lines):
            yield "```text"
            yield from (line.strip() for line in lines)
            yield "```"
        else:
            yield cell(" ".join(line.strip() for line in lines))
        yield ""


def cell(text: str, code: bool = False) -> str:
    """Text safe in a Markdown table cell (and, outside code, free of raw HTML)."""
    text = text.replace("|", "\\|")
    return text if code else text.replace("<", "&lt;").replace(">", "&gt;").replace("*", "\\*")
