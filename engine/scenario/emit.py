"""Writing a scenario as TOML with tomlkit: a fresh readable document, or the text it
was read from with only what changed rewritten (its comments and layout kept).

A fresh document: a header, top-level keys (a multi-line ``description``), then
``[objective]`` (its formula as a comment), ``[view]`` and one ``[[optimizers]]`` table
per racer (its title and schedule formula as comments); parameters are inline tables.

Writing into the text a scenario was read from (:class:`Origin`): the scenario's
:func:`diff_form` is compared with the form it had when read, and only the keys whose
values differ are set, added or removed, inside the parsed tomlkit document. The result
is read back and checked; should it not give the scenario (a layout tomlkit cannot
edit), a fresh document is written instead.
"""

from __future__ import annotations

import copy
import math
import tomllib
from typing import Any

import tomlkit
from tomlkit.container import Container
from tomlkit.items import AoT, InlineTable, Item, String, StringType, Table, Trivia

from engine.landscapes import LANDSCAPES
from engine.optimizers import OPTIMIZERS
from engine.scenario.model import VIEW_FLAGS, MapSettings, Origin, Scenario
from engine.scenario.validate import from_dict
from engine.schedules import SCHEDULES

HEADER = (
    "Gradient Arena scenario. `python main.py validate FILE` checks it,",
    "`python main.py run FILE` replays it, `python main.py gui FILE` opens it.",
)
_MISSING = object()
_SECTIONS = ("objective", "view", "map")  # written as [tables]; other dicts inline


# ---------------------------------------------------------------------------- plain data
def scenario_to_dict(s: Scenario) -> dict[str, Any]:
    """Plain TOML-ready data; ``scenario_from_dict(scenario_to_dict(s)) == s``."""
    d: dict[str, Any] = {"schema": s.schema, "name": s.name}
    if s.description:
        d["description"] = s.description
    o = s.objective
    if o.kind != "perceptron":  # a perceptron's length is its epochs
        d["steps"] = s.steps
    d["seed"] = s.seed
    t = s.tolerance
    d["tolerance"] = {"loss": t.loss, "grad": t.grad, "divergence": t.divergence}
    start = [float(v) for v in o.start]
    if o.kind == "perceptron":
        d["objective"] = {
            "kind": o.kind,
            "data": copy.deepcopy(o.data),
            "batch_size": o.batch_size,
            "epochs": o.epochs,
            "standardize": bool(o.standardize),
            "validation_fraction": o.validation_fraction,
            "start": start,
            "grad_noise": o.grad_noise,
        }
    elif o.formula is not None:  # a typed landscape: its text, constants and minima
        d["objective"] = {"kind": o.kind, "formula": o.formula, "params": copy.deepcopy(o.params)}
        if o.minima is not None:
            d["objective"]["minima"] = [[float(a), float(b)] for a, b in o.minima]
        d["objective"].update(start=start, grad_noise=o.grad_noise)
    else:
        d["objective"] = {
            "kind": o.kind,
            "name": o.name,
            "params": copy.deepcopy(o.params),
            "start": start,
            "grad_noise": o.grad_noise,
        }
    view: dict[str, Any] = {}
    for k in ("x_range", "y_range"):
        if getattr(s.view, k) is not None:
            view[k] = list(getattr(s.view, k))
    for k in ("levels", *VIEW_FLAGS):
        if getattr(s.view, k) is not None:
            view[k] = getattr(s.view, k)
    if view:
        d["view"] = view
    if s.map is not None:
        d["map"] = _map_dict(s.map)
    d["optimizers"] = [_racer_dict(r) for r in s.racers]
    return d


def _map_dict(m: MapSettings) -> dict[str, Any]:
    """``[map]``: its keys that are set (search only when not the grid)."""
    e: dict[str, Any] = {"over": m.over}
    for k in ("racer", "res", "ranges", "box", "steps"):
        v = getattr(m, k)
        if v is not None:
            e[k] = list(v) if isinstance(v, tuple) else v
    if m.search != "grid":
        e["search"] = m.search
    if m.budget is not None:
        e["budget"] = m.budget
    if m.log is not None:
        e["log"] = list(m.log)
    return e


def _racer_dict(r: Any) -> dict[str, Any]:
    e: dict[str, Any] = {"name": r.optimizer}
    if r.label and r.label != r.optimizer:
        e["label"] = r.label
    if r.color is not None:
        e["color"] = r.color
    if not r.enabled:
        e["enabled"] = False
    if r.start is not None:
        e["start"] = [float(v) for v in r.start]
    if OPTIMIZERS[r.optimizer].velocity:  # others ignore them (and a file refuses them)
        for k in ("v0", "x_prev"):
            if getattr(r, k) is not None:
                e[k] = [float(v) for v in getattr(r, k)]
    e["params"] = copy.deepcopy(r.params)
    defaults = {p.name: p.default for p in SCHEDULES[r.schedule].all_params}
    sp = {k: v for k, v in r.schedule_params.items() if defaults.get(k, _MISSING) != v}
    if r.schedule != "constant" or sp or r.schedule_unit != "step":
        e["schedule"] = {"name": r.schedule, **copy.deepcopy(sp)}
        if r.schedule_unit != "step":
            e["schedule"]["unit"] = r.schedule_unit
    return e


def diff_form(s: Scenario) -> dict[str, Any]:
    """:func:`scenario_to_dict` with every racer's label and enabled flag spelled out:
    what two versions of a scenario are compared by to find the keys that changed (a
    label left out means "the optimizer's name", which changes with the optimizer)."""
    d = scenario_to_dict(s)
    for e, r in zip(d["optimizers"], s.racers, strict=True):
        e["label"] = r.label or r.optimizer
        e["enabled"] = bool(r.enabled)
    return d


def same(a: Any, b: Any) -> bool:
    """Equal values of equal types (1 is not 1.0 nor true, -0.0 is not 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(u, v) for u, v in zip(a, b, strict=True))
    if isinstance(a, float):
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    return bool(a == b)


# ---------------------------------------------------------------------------- values
def _multiline(s: str) -> String:
    """A multi-line basic string: newlines and tabs as they are, quotes raw except every
    third of a run (and a last one), the rest escaped as TOML requires."""
    out: list[str] = []
    run = 0
    for ch in s:
        run = run + 1 if ch == '"' else 0
        if run == 3:
            out.append('\\"')
            run = 0
        elif ch in '"\n\t':
            out.append(ch)
        elif ch == "\\":
            out.append("\\\\")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    if out and out[-1] == '"':
        out[-1] = '\\"'
    return String(StringType.MLB, s, "\n" + "".join(out), Trivia())


def value_item(key: str, v: Any) -> Item:
    """``v`` as a tomlkit item: dicts as inline tables, a description with newlines as a
    multi-line string."""
    if key == "description" and isinstance(v, str) and "\n" in v:
        return _multiline(v)
    if isinstance(v, dict):
        t = tomlkit.inline_table()
        for k, u in v.items():
            t.append(k, value_item(k, u))
        return t
    if isinstance(v, list):
        a = tomlkit.array()
        for u in v:
            a.append(value_item("", u))
        return a
    item: Item = tomlkit.item(v)
    return item


def _table(d: dict[str, Any], note: list[str] | None = None) -> Table:
    t = tomlkit.table()
    for k, v in d.items():
        t.append(k, value_item(k, v))
    t.trivia.indent = ""
    if note:
        t.trivia.indent = "".join(f"# {n}\n" for n in note)
    return t


def _notes(s: Scenario) -> tuple[list[str], list[list[str]]]:
    """The comments above [objective] and above each [[optimizers]]."""
    o = s.objective
    if o.kind == "perceptron":
        obj = ["perceptron a = σ(w1·x1 + w2·x2 + b), mean binary cross-entropy"]
    else:
        obj = [LANDSCAPES[o.name].formula] if o.name in LANDSCAPES else []
    racers = []
    for r in s.racers:
        note = [OPTIMIZERS[r.optimizer].title] if r.optimizer in OPTIMIZERS else []
        if r.schedule != "constant" and r.schedule in SCHEDULES:
            note.append(f"schedule: {SCHEDULES[r.schedule].formula}")
        racers.append([n.replace("\n", " ") for n in note])
    return [n.replace("\n", " ") for n in obj], racers


def fresh_text(s: Scenario, d: dict[str, Any]) -> str:
    """A new, readable TOML document of ``d`` (``scenario_to_dict(s)``)."""
    doc = tomlkit.document()
    for line in HEADER:
        doc.add(tomlkit.comment(line))
    for k, v in d.items():
        if k not in (*_SECTIONS, "optimizers"):
            doc.append(k, value_item(k, v))
    obj_note, racer_notes = _notes(s)
    doc.add(tomlkit.nl())
    doc.append("objective", _table(d["objective"], obj_note))
    for k in ("view", "map"):
        if k in d:
            doc.add(tomlkit.nl())
            doc.append(k, _table(d[k]))
    aot = tomlkit.aot()
    for r, note in zip(d["optimizers"], racer_notes, strict=True):
        t = _table(r, note)
        t.trivia.indent = "\n" + t.trivia.indent
        aot.append(t)
    doc.append("optimizers", aot)
    return tomlkit.dumps(doc)


# ---------------------------------------------------------------------------- merging
def merged_text(s: Scenario, origin: Origin, new: dict[str, Any]) -> str | None:
    """``origin.text`` with the keys that differ between ``origin.plain`` and ``new``
    (both :func:`diff_form`) rewritten; None if that does not give back ``s``."""
    try:
        doc = tomlkit.parse(origin.text)
        _merge(doc, origin.plain, new)
        text = tomlkit.dumps(doc)
        back = from_dict(tomllib.loads(text), "<merged>", None, origin.base_dir)
    except Exception:  # a layout tomlkit cannot edit: the caller writes a fresh document
        return None
    return text if scenario_to_dict(back) == scenario_to_dict(s) else None


def _merge(node: Any, base: dict[str, Any], new: dict[str, Any]) -> None:
    """Make the table ``node`` (which says ``base``) say ``new``, changing only what
    differs."""
    for k in [*base, *(k for k in new if k not in base)]:
        b, n = base.get(k, _MISSING), new.get(k, _MISSING)
        if same(b, n):
            continue
        if n is _MISSING:
            if k in node:
                del node[k]
            continue
        cur = node.item(k) if isinstance(node, Container) and k in node else node.get(k)
        if isinstance(b, dict) and isinstance(n, dict) and _mergeable(cur, b, n):
            _merge(cur, b, n)
        elif isinstance(b, list) and isinstance(n, list) and isinstance(cur, AoT):
            _merge_aot(cur, b, n)
        else:
            _set(node, k, _new_item(node, k, n), cur)


def _mergeable(cur: Any, b: dict[str, Any], n: dict[str, Any]) -> bool:
    """Edit the table in place? Not an inline table whose name or kind changed (its
    other keys belong to the old one) or that gains keys."""
    if isinstance(cur, Table):
        return True
    if isinstance(cur, InlineTable):  # keys added to it are written as a new one, spaced
        return all(same(b.get(k), n.get(k)) for k in ("name", "kind")) and all(k in b for k in n)
    return False


def _merge_aot(aot: AoT, base: list[Any], new: list[Any]) -> None:
    for i in range(min(len(base), len(new))):
        if isinstance(base[i], dict) and isinstance(new[i], dict):
            _merge(aot[i], base[i], new[i])
        else:
            raise ValueError("not a table")
    for i in range(len(base) - 1, len(new) - 1, -1):
        del aot[i]
    for r in new[len(base) :]:
        t = _table(_lean(r))
        t.trivia.indent = "\n"
        aot.append(t)


def _new_item(node: Any, k: str, v: Any) -> Item:
    if isinstance(v, dict) and k in _SECTIONS and not isinstance(node, Table | InlineTable):
        t = _table(v)
        t.trivia.indent = "\n"
        return t
    if k == "optimizers" and isinstance(v, list):
        aot = tomlkit.aot()
        for r in v:
            aot.append(_table(_lean(r)))
        return aot
    return value_item(k, v)


def _lean(r: dict[str, Any]) -> dict[str, Any]:
    """A racer of :func:`diff_form` as :func:`scenario_to_dict` writes it."""
    return {k: v for k, v in r.items() if not (k == "label" and v == r.get("name"))
            and not (k == "enabled" and v is True)}  # fmt: skip


def _set(node: Any, k: str, item: Item, cur: Any) -> None:
    """Set ``node[k]``: a replaced value keeps its end-of-line comment, a new key goes
    after the table's last key (not after the comments that lead to the next table)."""
    if isinstance(cur, Item) and not isinstance(item, Table | AoT):
        item.trivia.comment_ws = cur.trivia.comment_ws
        item.trivia.comment = cur.trivia.comment
    if cur is not None or isinstance(node, InlineTable):
        node[k] = item
        return
    body = node.value if isinstance(node, Table) else node
    insert = getattr(body, "_insert_at", None)  # tomlkit has no public insert
    keyed = [i for i, (key, it) in enumerate(body.body) if key is not None
             and not isinstance(it, Table | AoT)]  # fmt: skip
    at = keyed[-1] + 1 if keyed else 0
    if insert is None or isinstance(item, Table | AoT) or at >= len(body.body):
        node[k] = item
    else:
        insert(at, k, item)
