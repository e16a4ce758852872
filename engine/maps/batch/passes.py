"""The batch kernel's passes over a block (see engine.maps.batch): the landscape pass
(generated, one loop per landscape), the scan of a row, the fix-up of stopped pixels,
the per-step rate and bias corrections. Each is ``jit_hot``: inlined by LLVM into
engine.maps.batch.block.map_chunk, each loop vectorised."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable
from typing import Any, cast

import numpy as np

from engine.jit import jit_hot, jit_inline
from engine.landscapes import LANDSCAPES
from engine.schedules import schedule_lr

# ---------------------------------------------------------------- the landscape pass
_LAND_TEMPLATE = '''
def land_pass(lid, p, x0, x1, F, G0, G1, m):
    """f, ∂f/∂x, ∂f/∂y of landscape ``lid`` at the first ``m`` points (x0, x1): one loop
    per landscape (the landscape's own fg kernel: the race's bits)."""
{chain}
'''


def _land_chain() -> str:
    lines: list[str] = []
    for ls in LANDSCAPES.values():
        lines.append(f"{'elif' if lines else 'if'} lid == {ls.lid}:")
        lines.append("    for i in range(m):")
        lines.append(f"        f, g0, g1 = fg_{ls.name}(p, x0[i], x1[i])")
        lines.append("        F[i] = f")
        lines.append("        G0[i] = g0")
        lines.append("        G1[i] = g1")
    lines.append("else:")
    lines.append("    for i in range(m):")
    lines.append("        F[i] = math.nan")
    lines.append("        G0[i] = math.nan")
    lines.append("        G1[i] = math.nan")
    return textwrap.indent("\n".join(lines), " " * 4)


def _generate_land_pass() -> Callable[..., Any]:
    src = _LAND_TEMPLATE.replace("{chain}", _land_chain())
    ns: dict[str, Any] = {"__name__": __name__, "math": math}
    for ls in LANDSCAPES.values():
        ns[f"fg_{ls.name}"] = ls.kernels.fg
    # compiled under this file's name: numba caches a function by its (existing) file
    exec(compile(src, __file__, "exec"), ns)  # the registry's own text, not a file's
    return cast("Callable[..., Any]", ns["land_pass"])


land_pass = jit_hot(_generate_land_pass())


# ---------------------------------------------------------------- the scan passes
@jit_inline
def _take_row(i: int, tf: float, F: np.ndarray, G0: np.ndarray, G1: np.ndarray,
              stop: np.ndarray) -> tuple[float, float, bool, bool]:  # fmt: skip
    """Pixel ``i``'s loss f and |∇f|² at row ``tf``; a running pixel whose row is not
    finite stops there. Returns (f, |∇f|², the row counts, the pixel stopped here)."""
    f = F[i]
    g0 = G0[i]
    g1 = G1[i]
    gn2 = g0 * g0 + g1 * g1
    ok = (abs(f) < math.inf) & (gn2 < math.inf)  # both finite (NaN: False)
    s = stop[i]
    running = s < 0.0
    v = running & ok
    d = running & (not ok)
    stop[i] = tf if d else s
    return f, gn2, v, d


@jit_inline
def _record(i: int, tf: float, f: float, v: bool, w: bool, first: np.ndarray,
            last: np.ndarray, best: np.ndarray) -> None:  # fmt: skip
    """A counted row ``v`` of pixel ``i``, within tolerance ``w``: the first row within,
    the last outside, the best loss."""
    fi = first[i]
    first[i] = tf if (v & w & (fi < 0.0)) else fi
    la = last[i]
    last[i] = tf if (v & (not w)) else la
    b = best[i]
    best[i] = f if (v & (f < b)) else b


@jit_hot
def scan_known(
    m: int, tf: float, F: np.ndarray, G0: np.ndarray, G1: np.ndarray, stop: np.ndarray,
    first: np.ndarray, last: np.ndarray, best: np.ndarray, blown: np.ndarray,
    limit: np.ndarray, fstar: float, tol: float,
) -> tuple[int, int]:  # fmt: skip
    """Row ``tf`` of every pixel, f* known: within = |f − f*| <= tol; the rule: f − f* >
    limit. Returns (pixels still running, pixels stopped at this row)."""
    alive = 0
    died = 0
    for i in range(m):
        f, _gn2, v, d = _take_row(i, tf, F, G0, G1, stop)
        _record(i, tf, f, v, abs(f - fstar) <= tol, first, last, best)
        bl = blown[i]
        blown[i] = tf if (v & (bl < 0.0) & (f - fstar > limit[i])) else bl
        alive += v
        died += d
    return alive, died


@jit_hot
def scan_unknown(
    m: int, tf: float, F: np.ndarray, G0: np.ndarray, G1: np.ndarray, stop: np.ndarray,
    first: np.ndarray, last: np.ndarray, best: np.ndarray, blown: np.ndarray,
    kind: np.ndarray, limit: np.ndarray, f0: np.ndarray, tol: float,
) -> tuple[int, int]:  # fmt: skip
    """Row ``tf``, f* unknown: within = |∇f| <= tol; the rule: f − f₀ > limit (diverged,
    kind 1) or f₀ − f > limit (unbounded below, kind 2)."""
    alive = 0
    died = 0
    for i in range(m):
        f, gn2, v, d = _take_row(i, tf, F, G0, G1, stop)
        _record(i, tf, f, v, math.sqrt(gn2) <= tol, first, last, best)
        base = f0[i]
        lim = limit[i]
        rise = f - base > lim
        fall = base - f > lim
        bl = blown[i]
        new = v & (bl < 0.0) & (rise | fall)
        blown[i] = tf if new else bl
        k = kind[i]
        kind[i] = (1.0 if rise else 2.0) if new else k
        alive += v
        died += d
    return alive, died


@jit_hot
def fix_stopped(
    m: int,
    tf: float,
    stop: np.ndarray,
    p0: np.ndarray,
    p1: np.ndarray,
    Fp: np.ndarray,
    fx0: np.ndarray,
    fx1: np.ndarray,
    fl: np.ndarray,
) -> None:
    """The pixels stopped at row ``tf`` keep their last finite row: point (p0, p1), loss
    ``Fp`` (row tf − 1, still in the other buffers), or the start (row 0: no row)."""
    for i in range(m):
        if stop[i] == tf:
            fx0[i] = p0[i]
            fx1[i] = p1[i]
            fl[i] = Fp[i] if tf > 0.0 else math.nan


# ---------------------------------------------------------------- per-step inputs
@jit_hot
def rate_pass(
    m: int, sid: int, sp: np.ndarray, base: np.ndarray, tf: float, LR: np.ndarray
) -> None:
    """The scheduled rate of update ``tf`` of every pixel (schedule_lr of its base rate)."""
    for i in range(m):
        LR[i] = schedule_lr(sid, sp, base[i], tf)


@jit_hot
def bias_pass(
    m: int, ts: int, BT: np.ndarray, btab: np.ndarray, BC1: np.ndarray, BCS: np.ndarray
) -> None:
    """Update ``ts − 1``'s bias corrections of every pixel from its table ``BT[btab[i]]``
    (rows 0 and 2 of engine.optimizers.bias_table)."""
    if BT.shape[0] == 1:
        c1 = BT[0, 0, ts]
        cs = BT[0, 2, ts]
        for i in range(m):
            BC1[i] = c1
            BCS[i] = cs
    else:
        for i in range(m):
            k = btab[i]
            BC1[i] = BT[k, 0, ts]
            BCS[i] = BT[k, 2, ts]
