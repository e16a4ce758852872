"""Architecture rules of the engine: no Qt, documented registries, numba options."""

from __future__ import annotations

import ast
import importlib
import json
import os
import pkgutil
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from numba.core.dispatcher import Dispatcher

import engine
from engine.jit import JIT_OPTIONS
from engine.landscapes import LANDSCAPES
from engine.optimizers import OPTIMIZERS
from engine.schedules import SCHEDULES

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "engine"
FORBIDDEN = ("PySide6", "pyqtgraph", "shiboken6", "gui")


def engine_modules() -> list[str]:
    """Every engine module, those of its packages (engine.optimizers) included."""
    return sorted(m.name for m in pkgutil.walk_packages(engine.__path__, "engine."))


# ------------------------------------------------------------------ no Qt
def test_import_linter_contract() -> None:
    """``lint-imports`` (config in pyproject.toml) keeps the engine free of Qt/GUI."""
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    out = subprocess.run(
        [exe, "--no-cache", "--no-logo"], cwd=ROOT, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "broken" in out.stdout and " 0 broken" in out.stdout


def test_importing_the_engine_loads_no_qt() -> None:
    """Every engine module imported in a fresh interpreter: no Qt module gets loaded."""
    code = (
        "import importlib, json, pkgutil, sys\n"
        "import engine\n"
        "mods = sorted('engine.' + m.name for m in pkgutil.iter_modules(engine.__path__))\n"
        "for m in mods:\n"
        "    importlib.import_module(m)\n"
        "print(json.dumps([mods, sorted(sys.modules)]))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    mods, loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert "engine.race" in mods and "engine.kernel" in mods
    bad = [m for m in loaded if m.split(".")[0] in FORBIDDEN]
    assert not bad, f"importing the engine loaded {bad}"


def _imports(path: Path) -> list[tuple[int, str]]:
    """Modules a source file imports: import statements and literal dynamic imports."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and node.args:
            f = node.func
            fname = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            arg = node.args[0]
            if fname in ("import_module", "__import__") and isinstance(arg, ast.Constant):
                out.append((node.lineno, str(arg.value)))
    return out


def test_no_dynamic_qt_imports() -> None:
    """Belt and braces for what the linter cannot see (importlib, __import__)."""
    hits = [
        f"{p.name}:{line}: {mod}"
        for p in sorted(ENGINE.rglob("*.py"))
        for line, mod in _imports(p)
        if mod.split(".")[0] in FORBIDDEN
    ]
    assert not hits, hits


# ------------------------------------------------------------------ documentation
def test_optimizers_documented() -> None:
    for name, opt in OPTIMIZERS.items():
        assert opt.name == name
        assert opt.equations.strip(), name
        assert opt.title.strip(), name
        assert opt.params and opt.params[0].name == "lr", name
        for spec in opt.params:
            assert spec.doc.strip(), f"{name}.{spec.name}"


def test_schedules_documented() -> None:
    for name, sch in SCHEDULES.items():
        assert sch.name == name
        assert sch.formula.strip(), name
        assert sch.title.strip(), name
        for spec in sch.all_params:
            assert spec.doc.strip(), f"{name}.{spec.name}"


def test_landscapes_documented() -> None:
    for name, ls in LANDSCAPES.items():
        assert ls.formula.strip(), name
        for spec in ls.params:
            assert spec.doc.strip(), f"{name}.{spec.name}"


def test_registry_ids_are_positions() -> None:
    """Kernels dispatch on integer ids: they must be unique and dense."""
    assert sorted(o.oid for o in OPTIMIZERS.values()) == list(range(len(OPTIMIZERS)))
    assert sorted(s.sid for s in SCHEDULES.values()) == list(range(len(SCHEDULES)))
    assert [ls.lid for ls in LANDSCAPES.values()] == list(range(len(LANDSCAPES)))


# ------------------------------------------------------------------ numba options
def kernels() -> list[tuple[str, Dispatcher]]:
    """Every numba dispatcher defined in an engine module."""
    out = []
    for modname in engine_modules():
        mod = importlib.import_module(modname)
        for attr, obj in vars(mod).items():
            if isinstance(obj, Dispatcher) and obj.py_func.__module__ == modname:
                out.append((f"{modname}.{attr}", obj))
    return out


def test_kernels_found() -> None:
    names = {n for n, _ in kernels()}
    for must in ("engine.kernel.race_chunk", "engine.optimizers.opt_update",
                 "engine.schedules.schedule_lr", "engine.landscapes.landscape_fg"):  # fmt: skip
        assert must in names


@pytest.mark.parametrize("name,func", kernels(), ids=[n for n, _ in kernels()])
def test_kernel_options(name: str, func: Dispatcher) -> None:
    """nogil (GUI thread keeps running), cache (warm start), never the fastmath option
    (nnan/ninf delete the isfinite checks that detect divergence; the others reorder or
    approximate the torch-exact arithmetic). The one exception is an instruction, not an
    option: engine.vmath.radd, an addition with LLVM's reassoc flag alone, for the
    perceptron's running sums (see test_only_reassoc_additions_in_the_perceptron_ir)."""
    opts = func.targetoptions
    assert opts.get("nogil") is True, name
    assert opts.get("nopython", True) is True, name
    assert not opts.get("fastmath"), name
    assert not opts.get("parallel"), name
    assert type(func._cache).__name__ == "FunctionCache", f"{name} is not cached"


_FAST_FLAGS = ("fast", "reassoc", "nnan", "ninf", "nsz", "arcp", "contract", "afn")
_FLAGGED = re.compile(
    r"= (?:fadd|fsub|fmul|fdiv|frem|fneg|fcmp|call|select|phi) ((?:(?:"
    + "|".join(_FAST_FLAGS)
    + r") )+)"
)


def test_only_reassoc_additions_in_the_perceptron_ir(tmp_path: Path) -> None:
    """The fast-math flags in the compiled perceptron objective (a fresh compile, so that
    numba keeps its LLVM IR): ``reassoc`` on the running sums (vectorised partial sums,
    engine.vmath.radd) and nothing else: no nnan/ninf (NaN and inf must reach the
    isfinite checks), no contract, no fast. Also checks that prefer_wide_vectors still
    reaches the IR (it adds a string attribute past llvmlite's list of known ones)."""
    code = (
        "import numpy as np\n"
        "from engine.perceptron_kernel import PF_TILE, perceptron_fg\n"
        "d = np.zeros((40, 3)); p = np.arange(40, dtype=np.int32)\n"
        "perceptron_fg(d, p, 0, 40, np.zeros(3), np.zeros(3), np.zeros((PF_TILE, 3)))\n"
        "print(perceptron_fg.inspect_llvm(perceptron_fg.signatures[0]))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT), NUMBA_CACHE_DIR=str(tmp_path))
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    ir = out.stdout
    flags = {f for m in _FLAGGED.finditer(ir) for f in m.group(1).split()}
    assert flags == {"reassoc"}, flags
    assert re.search(r"fadd reassoc <\d+ x double>", ir), "the sums are vectorised"
    assert '"prefer-vector-width"="512"' in ir


def test_jit_options() -> None:
    assert JIT_OPTIONS["nogil"] is True and JIT_OPTIONS["cache"] is True
    assert "fastmath" not in JIT_OPTIONS


def test_numba_only_through_engine_jit() -> None:
    """No module compiles with its own numba options (they would bypass the rules)."""
    hits = []
    for p in sorted(ENGINE.rglob("*.py")):
        for node in ast.walk(ast.parse(p.read_text())):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            fname = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            if any(k.arg == "fastmath" for k in node.keywords):
                hits.append(f"{p.name}:{node.lineno}: fastmath")
            own = ("jit", "njit", "vectorize", "guvectorize", "cfunc", "generated_jit")
            numba_attr = isinstance(f, ast.Attribute) and getattr(f.value, "id", "") == "numba"
            if p.name != "jit.py" and fname in own and numba_attr:
                hits.append(f"{p.name}:{node.lineno}: numba.{fname}")
        lines = p.read_text().splitlines()
        for line, mod in _imports(p):
            if p.name != "jit.py" and mod == "numba" and "from numba import" in lines[line - 1]:
                hits.append(f"{p.name}:{line}: from numba import ...")
    assert not hits, hits
