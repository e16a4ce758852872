"""Markdown tables of the registries (README), generated so they cannot drift."""

from __future__ import annotations

from engine.landscapes import LANDSCAPES
from engine.optimizers import OPTIMIZERS
from engine.params import ParamSpec
from engine.schedules import SCHEDULES


def _params(specs: tuple[ParamSpec, ...]) -> str:
    if not specs:
        return "—"
    return ", ".join(f"`{s.name}`={_default(s.default)}" for s in specs)


def _default(v: object) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def optimizers_table() -> str:
    rows = ["| name | algorithm | hyperparameters (defaults) | update |", "|---|---|---|---|"]
    for o in OPTIMIZERS.values():
        ref = f"torch.optim.{o.torch}" if o.torch else o.reference
        rows.append(
            f"| `{o.name}` | {_cell(o.title)}<br><sub>checked against {ref}</sub> | "
            f"{_params(o.params)} | {_cell(o.equations)} |"
        )
    return "\n".join(rows)


def landscapes_table() -> str:
    rows = ["| name | formula | parameters (defaults) |", "|---|---|---|"]
    for ls in LANDSCAPES.values():
        rows.append(f"| `{ls.name}` | {_cell(ls.formula)} | {_params(ls.params)} |")
    return "\n".join(rows)


def schedules_table() -> str:
    rows = ["| name | formula | parameters (defaults) |", "|---|---|---|"]
    for s in SCHEDULES.values():
        rows.append(f"| `{s.name}` | {_cell(s.formula)} | {_params(s.params)} |")
    return "\n".join(rows)


TABLES = {
    "optimizers": optimizers_table,
    "landscapes": landscapes_table,
    "schedules": schedules_table,
}


def render_readme(text: str) -> str:
    """``text`` with every ``<!-- table:NAME -->...<!-- /table:NAME -->`` block regenerated."""
    for name, fn in TABLES.items():
        start, end = f"<!-- table:{name} -->", f"<!-- /table:{name} -->"
        if start in text and end in text:
            head, rest = text.split(start, 1)
            _, tail = rest.split(end, 1)
            text = f"{head}{start}\n{fn()}\n{end}{tail}"
    return text


if __name__ == "__main__":  # python -m engine.docs README.md  (rewrites the tables)
    import sys
    from pathlib import Path

    p = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    p.write_text(render_readme(p.read_text(encoding="utf-8")), encoding="utf-8")
