"""Collecting problems: key paths, found values as shown in messages, "did you mean",
and pydantic's errors turned into :class:`Problem`s with the models' expectations."""

from __future__ import annotations

import datetime as _dt
import difflib
import json
import re
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from engine.scenario.model import Problem, ScenarioError
from engine.scenario.schema import SECTION_KEYS, expect

_BARE_KEY = re.compile(r"^[A-Za-z0-9_\-]+$")


def show(v: Any, limit: int = 60) -> str:
    """A short TOML-flavoured rendering of a found value, for messages."""
    if v is None:
        return "None"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        if v.bit_length() > 96:
            return f"an integer of about {int(v.bit_length() * 0.30103) + 1} digits"
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        s = json.dumps(v, ensure_ascii=False)
        return s if len(s) <= limit else s[: limit - 4] + '..."'
    if isinstance(v, list | tuple):
        try:
            s = "[" + ", ".join(show(u, 20) for u in list(v)[:6])
        except RecursionError:  # pragma: no cover - depth is checked before
            s = "[..."
        s += ", ...]" if len(v) > 6 else "]"
        return s if len(s) <= limit else s[: limit - 4] + "...]"
    if isinstance(v, dict):
        return "a table"
    if isinstance(v, _dt.datetime | _dt.date | _dt.time):
        return f"a date/time {v.isoformat()}"
    return f"a {type(v).__name__}"


def entries(n: int) -> str:
    return f"{n} entr{'y' if n == 1 else 'ies'}"


def did_you_mean(word: Any, choices: Iterable[str]) -> str:
    """``"did you mean 'x'? "`` for a near miss among ``choices``, else ""."""
    if not isinstance(word, str):
        return ""
    choices = list(choices)
    m = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not m:
        m = [c for c in choices if c.lower() == word.lower()]
    return f"did you mean '{m[0]}'? " if m else ""


def key_text(k: Any) -> str:
    """A key as written in a path: bare if possible, else quoted as in TOML."""
    k = str(k)
    return k if _BARE_KEY.match(k) else json.dumps(k, ensure_ascii=False)


def join(path: str, key: Any) -> str:
    return f"{path}.{key_text(key)}" if path else key_text(key)


def loc_path(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        out = f"{out}[{part}]" if isinstance(part, int) else join(out, part)
    return out


def pattern(path: str) -> str:
    """The path with list indices as ``[]`` (``optimizers[]``), as :func:`expect` takes."""
    return re.sub(r"\[\d+\]", "[]", path)


class Collector:
    """Problems of one document, one per key, with line numbers where known."""

    def __init__(self, source: str, lines: dict[str, int] | None) -> None:
        self.source = source
        self.lines = lines or {}
        self.problems: list[Problem] = []
        self._keys: set[str] = set()

    def add(self, key: str, message: str) -> None:
        if key in self._keys:
            return
        self._keys.add(key)
        self.problems.append(Problem(self.source, key, message, self._line(key)))

    def _line(self, key: str) -> int | None:
        """The line of ``key`` or, if it is not in the file, of its nearest parent."""
        k = key
        while k:
            if k in self.lines:
                return self.lines[k]
            cut = max(k.rfind("."), k.rfind("["))
            if cut <= 0:
                break
            k = k[:cut]
        return self.lines.get(k) if k else None

    def error(self) -> ScenarioError:
        """The problems in file order (those without a line last)."""
        order = {id(p): i for i, p in enumerate(self.problems)}
        probs = sorted(
            self.problems,
            key=lambda p: (p.line if p.line is not None else 1 << 30, order[id(p)]),
        )
        return ScenarioError(probs)


def pydantic_problems(err: ValidationError, col: Collector) -> None:
    """Each of pydantic's errors as a problem saying what the key expects."""
    for e in err.errors(include_url=False):
        loc = tuple(e.get("loc", ()))
        typ = e.get("type", "")
        found = e.get("input")
        if typ == "extra_forbidden":
            section = pattern(loc_path(loc[:-1])).replace("[]", "")
            allowed = SECTION_KEYS.get(section, [])
            col.add(
                loc_path(loc),
                f"unknown key; {did_you_mean(loc[-1], allowed)}"
                f"expected one of: {', '.join(allowed)}",
            )
            continue
        path = loc_path(loc)
        wanted = expect(pattern(path)) or _by_error_type(typ)
        if typ == "missing":
            col.add(path, f"missing; expected {wanted}")
        elif typ in ("too_short", "too_long") and isinstance(found, list | dict):
            col.add(path, f"expected {wanted}, got {entries(len(found))}")
        else:
            col.add(path, f"expected {wanted}, got {show(found)}")


def _by_error_type(typ: str) -> str:
    """What a key expects where the models do not say (pydantic's error type alone)."""
    return {
        "float_type": "a finite number",
        "finite_number": "a finite number",
        "int_type": "an integer",
        "string_type": "a string",
        "bool_type": "true or false",
        "list_type": "an array",
        "dict_type": "a table",
        "model_type": "a table",
        "model_attributes_type": "a table",
    }.get(typ, "a value")
