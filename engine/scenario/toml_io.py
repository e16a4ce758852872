"""Scenario files: reading (size cap, UTF-8, TOML, line numbers for messages) and
writing (tomlkit, atomically).

Reading parses with the standard library's ``tomllib`` and validates; the text is kept
on the scenario (:class:`Origin`) so that writing it back keeps its comments and layout
(:mod:`engine.scenario.emit`). ``loads_scenario(dumps_scenario(s)) == s`` for every
valid ``s``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import tomllib
from pathlib import Path

from engine.scenario.emit import diff_form, fresh_text, merged_text, same, scenario_to_dict
from engine.scenario.model import MAX_FILE_BYTES, Origin, Problem, Scenario, ScenarioError
from engine.scenario.problems import show
from engine.scenario.validate import from_dict, guard

_TOML_POS_RE = re.compile(r"\(at line (\d+), column (\d+)\)")


# ---------------------------------------------------------------------------- reading
def loads_scenario(
    text: str, source: str = "<string>", base_dir: str | Path | None = None
) -> Scenario:
    """Parse and validate scenario TOML ``text``; raises ScenarioError.

    ``base_dir``: where relative CSV paths start (default: the current folder;
    :func:`load_scenario` passes the scenario file's folder).
    """
    bd = Path(base_dir) if base_dir is not None else None

    def go() -> Scenario:
        if not isinstance(text, str):
            raise ScenarioError([Problem(source, "", f"expected TOML text, got {show(text)}")])
        if len(text) > MAX_FILE_BYTES:
            raise ScenarioError(
                [Problem(source, "", f"expected at most {MAX_FILE_BYTES} bytes (1 MiB) of "
                         f"TOML, got {len(text)} characters")]
            )  # fmt: skip
        body = text[1:] if text.startswith("\ufeff") else text
        try:
            data = tomllib.loads(body)
        except tomllib.TOMLDecodeError as e:
            m = _TOML_POS_RE.search(str(e))
            line = int(m.group(1)) if m else None
            raise ScenarioError([Problem(source, "", f"invalid TOML: {e}", line)]) from None
        except RecursionError:  # tomllib recurses once per "[": "[" * 100000 gets here
            raise ScenarioError(
                [Problem(source, "", "invalid TOML: arrays or tables nested too deeply")]
            ) from None
        except ValueError as e:  # e.g. an integer literal with more than 4300 digits
            raise ScenarioError([Problem(source, "", f"invalid TOML: {e}")]) from None
        s = from_dict(data, source, line_map(body), bd)
        s.origin = Origin(body, diff_form(s), bd)
        return s

    return guard(go, source)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate the scenario file ``path``; raises ScenarioError."""
    name = str(path)

    def go() -> Scenario:
        p = Path(path)
        try:
            if not p.exists():
                raise ScenarioError([Problem(name, "", "file not found")])
            if p.is_dir():
                raise ScenarioError([Problem(name, "", "expected a scenario file, got a folder")])
            size = p.stat().st_size
            if size > MAX_FILE_BYTES:
                raise ScenarioError([_too_big(name, size)])
            with p.open("rb") as f:
                data = f.read(MAX_FILE_BYTES + 1)  # special files may lie about their size
        except OSError as e:
            raise ScenarioError(
                [Problem(name, "", f"cannot read the file: {e.strerror or e}")]
            ) from None
        if len(data) > MAX_FILE_BYTES:
            raise ScenarioError([_too_big(name, None)])
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            line = data[: e.start].count(b"\n") + 1
            raise ScenarioError(
                [Problem(name, "", f"expected UTF-8 text, got the byte 0x{data[e.start]:02x} "
                         f"at offset {e.start}", line)]
            ) from None  # fmt: skip
        s = loads_scenario(text, source=name, base_dir=p.parent)
        s.source = p
        return s

    return guard(go, name)


def _too_big(name: str, size: int | None) -> Problem:
    got = f"{size} bytes" if size is not None else "more"
    return Problem(
        name, "", f"expected a file of at most {MAX_FILE_BYTES} bytes (1 MiB), got {got}"
    )


# ---------------------------------------------------------------------------- line map
_HEADER_RE = re.compile(r"^\[\[\s*(?P<aot>[^\[\]]+?)\s*\]\]|^\[\s*(?P<tab>[^\[\]]+?)\s*\]")
_KEY_RE = re.compile(
    r"""^(?P<key>(?:[A-Za-z0-9_\-]+|"[^"\n]*"|'[^'\n]*')"""
    r"""(?:\s*\.\s*(?:[A-Za-z0-9_\-]+|"[^"\n]*"|'[^'\n]*'))*)\s*="""
)
_INLINE_KEY_RE = re.compile(r"[{,]\s*([A-Za-z0-9_\-]+)\s*=")


def _norm_key(k: str) -> str:
    return ".".join(p.strip().strip("\"'") for p in k.split("."))


def line_map(text: str) -> dict[str, int]:
    """Key paths (``optimizers[1].params.lr``) to the line that defines them, for
    messages; best effort on text ``tomllib`` has read (never raises)."""
    out: dict[str, int] = {}
    with contextlib.suppress(Exception):  # a line number is a nicety, never a failure
        table = ""
        counts: dict[str, int] = {}
        in_ml: str | None = None  # inside a multi-line string opened by this delimiter
        for n, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if in_ml is not None:
                if line.count(in_ml) % 2 == 1:
                    in_ml = None
                continue
            if not line or line.startswith("#"):
                continue
            m = _HEADER_RE.match(line)
            if m:
                if m.group("aot"):
                    name = _norm_key(m.group("aot"))
                    counts[name] = counts.get(name, -1) + 1
                    table = f"{name}[{counts[name]}]"
                else:
                    table = _norm_key(m.group("tab"))
                out.setdefault(table, n)
                continue
            m = _KEY_RE.match(line)
            if not m:
                continue
            path = f"{table}.{_norm_key(m.group('key'))}" if table else _norm_key(m.group("key"))
            out.setdefault(path, n)
            rest = line[m.end() :]
            if rest.lstrip().startswith("{"):
                for sub in _INLINE_KEY_RE.findall(rest):
                    out.setdefault(f"{path}.{sub}", n)
            in_ml = next((d for d in ('"""', "'''") if rest.count(d) % 2 == 1), None)
    return out


# ---------------------------------------------------------------------------- writing
_merged_cache: dict[tuple[Origin, str], str | None] = {}


def dumps_scenario(s: Scenario) -> str:
    """The scenario as readable TOML (``loads_scenario`` gives back an equal scenario).

    A scenario read from text is written into that text: its comments and layout stay,
    only the keys whose values changed are rewritten (the text as read if none did).
    """
    origin = s.origin
    if origin is not None:
        new = diff_form(s)
        if same(new, origin.plain):
            return origin.text
        try:
            key = (origin, json.dumps(new, allow_nan=False))
        except (TypeError, ValueError):
            key = None
        text = _merged_cache.get(key) if key is not None else None
        if text is None:
            text = merged_text(s, origin, new)
            if key is not None:
                if len(_merged_cache) >= 32:  # the window asks again on every edit
                    _merged_cache.clear()
                _merged_cache[key] = text
        if text is not None:
            return text
    return fresh_text(s, scenario_to_dict(s))


def save_scenario(s: Scenario, path: str | Path) -> None:
    """Write ``s`` to ``path`` atomically (temp file, fsync, rename); ScenarioError on failure."""
    p = Path(path)
    name = str(path)
    tmp: str | None = None
    try:
        data = dumps_scenario(s).encode("utf-8")
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent or ".")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
        tmp = None
        _fsync_dir(p.parent)
    except OSError as e:
        raise ScenarioError(
            [Problem(name, "", f"cannot write the file: {e.strerror or e}")]
        ) from None
    except (UnicodeError, TypeError, ValueError) as e:
        raise ScenarioError([Problem(name, "", f"cannot write the scenario: {e}")]) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _fsync_dir(d: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
