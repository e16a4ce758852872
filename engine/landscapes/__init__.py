"""2-D loss landscapes: loss, analytic gradient and analytic Hessian as numba kernels.

One module per landscape (or per small family: quadratics, camels, saddles) defines its
kernels, parameters, view box, start, formula and critical points (engine.landscapes.base:
``Landscape``, ``Kernels``). :data:`MODULES` lists them in order; a landscape's id
``lid`` is its position in that order, and :data:`LANDSCAPES` maps names to them.

Adding a landscape: write ``engine/landscapes/NAME.py`` (three ``@jit_inline`` kernels
f, fg, h of ``(p, x, y)`` and ``REGISTER = (Landscape(...),)``; easom.py is a short
example) and append ``"NAME"`` to :data:`MODULES`. The dispatchers, ``main.py list``,
the README table (``python3 -m engine.docs README.md``) and the window's landscape
chooser follow from the registry; tests/test_landscapes.py checks the derivatives
against finite differences and the critical points of every registered landscape.

The numba dispatchers take ``(lid, p, ...)``, ``p`` the packed float64 parameters
(``Landscape.pack``):

* ``landscape_fgh(lid, p, x0, x1, want_h) -> (f, gx, gy, hxx, hxy, hyy)``  loss,
  gradient and (when ``want_h``; else zeros) Hessian at ``(x0, x1)`` (the race kernel's)
* ``landscape_fg(lid, p, x, g) -> f``   loss at ``(x[0], x[1])``; gradient written to ``g``
* ``landscape_hess(lid, p, x, h)``      full symmetric 2x2 Hessian written to ``h``
* ``landscape_f(lid, p, x0, x1) -> f``  loss only
* ``landscape_grid(lid, p, x0, x1, nx, y0, y1, ny, out)``  loss on a grid, ``out[j, i]``

None of them allocates or raises: huge inputs overflow to inf/NaN and an unknown ``lid``
gives NaN.

A typed formula (engine.landscapes.typed) has the id :data:`FORMULA_LID`, after every
registered landscape; its ``p`` is the formula's program, which the dispatchers hand to
the one numba interpreter of engine.formula (``formula_fgh``, ``formula_f``), called as a
function of its own rather than inlined, so the race kernel's cold compile does not
carry a copy of it.

``landscape_f`` and ``landscape_fgh`` are generated from the registry when this package
is imported: an ``if lid == 0: ... elif lid == 1: ...`` chain over the landscapes'
kernels (:data:`SOURCES` holds their source). The kernels are inlined into them at the
numba-IR level (``jit_inline``: small functions, one call site each, no compilation of
their own), so the dispatchers contain no calls (bar libm) and therefore no NRT
reference counting of their array arguments. ``landscape_fgh`` is ``jit_hot``: compiled
once and inlined by LLVM into the race kernel, where it returns its results in
registers; ``landscape_fg`` and ``landscape_hess`` wrap it (one dispatcher to type and
lower for the gradient and the Hessian: the race's Newton steps get their Hessian from
the same call as the gradient). (Each kernel compiled as a function of its own would
cost ~0.15 s of cold compile.) ``tests/test_landscapes.py`` checks the compiled
dispatchers for calls.
"""

from __future__ import annotations

import importlib
import math
import textwrap
from collections.abc import Callable
from typing import Any, cast

import numpy as np

from engine.formula.kernel import formula_f_called, formula_fgh_called
from engine.jit import jit, jit_hot, optimize_for_size
from engine.landscapes.base import Kernels, Landscape, Point

__all__ = [
    "FORMULA_LID",
    "LANDSCAPES",
    "MODULES",
    "Kernels",
    "Landscape",
    "Point",
    "get_landscape",
    "grad",
    "hessian",
    "landscape_f",
    "landscape_fg",
    "landscape_fgh",
    "landscape_grid",
    "landscape_hess",
    "value",
]

# The landscape modules in registration order (a module's REGISTER in its own order).
MODULES = (
    "quadratics",
    "rosenbrock",
    "beale",
    "himmelblau",
    "rastrigin",
    "ackley",
    "booth",
    "matyas",
    "goldstein_price",
    "camels",
    "styblinski_tang",
    "levi13",
    "saddles",
    "plateau",
    "gaussian_wells",
    "easom",
)


def _register(modules: tuple[str, ...]) -> dict[str, Landscape]:
    out: dict[str, Landscape] = {}
    for mod in modules:
        for ls in importlib.import_module(f"{__name__}.{mod}").REGISTER:
            if ls.name in out or not ls.name.isidentifier():
                raise ValueError(f"landscape name {ls.name!r} is taken or not an identifier")
            object.__setattr__(ls, "lid", len(out))  # set once, here (frozen dataclass)
            out[ls.name] = ls
    return out


LANDSCAPES: dict[str, Landscape] = _register(MODULES)
#: the id of typed formulas (engine.landscapes.typed): after every registered landscape;
#: their packed parameters are the formula's program (engine.formula)
FORMULA_LID = len(LANDSCAPES)


# ---------------------------------------------------------------------------------------
# The generated dispatchers
# ---------------------------------------------------------------------------------------

_F_TEMPLATE = '''
def landscape_f(lid: int, p: np.ndarray, x0: float, x1: float) -> float:
    """Loss of landscape ``lid`` with packed parameters ``p`` at ``(x0, x1)``.

    Returns NaN for an unknown ``lid``.
    """
    if lid == FORMULA_LID:  # a typed formula: p is its program
        f = formula_f(p, x0, x1)
    else:
{f}
    return f
'''

_FGH_TEMPLATE = '''
def landscape_fgh(
    lid: int, p: np.ndarray, x0: float, x1: float, want_h: bool
) -> tuple[float, float, float, float, float, float]:
    """``(f, ∂f/∂x, ∂f/∂y, ∂²f/∂x², ∂²f/∂x∂y, ∂²f/∂y²)`` of landscape ``lid`` at ``(x0, x1)``.

    The Hessian entries are computed only when ``want_h`` (else they are 0.0). An
    unknown ``lid`` gives NaN everywhere. The one dispatcher of the race kernel: one
    call site there evaluates the loss, the gradient and (newton) the Hessian; the
    array forms landscape_fg and landscape_hess wrap it.
    """
    # its callers inline it and optimise it for speed there; its own copy, for size
    optimize_for_size()
    if lid == FORMULA_LID:  # a typed formula: p is its program
        return formula_fgh(p, x0, x1, want_h)
{fg}
    hxx = 0.0
    hxy = 0.0
    hyy = 0.0
    if want_h:
{h}
    return f, gx, gy, hxx, hxy, hyy
'''

SOURCES: dict[str, str] = {}


def _chain(kernel: str, targets: str, indent: int) -> str:
    """``if lid == 0: <targets> = <kernel>_<name0>(p, x0, x1) elif lid == 1: ...``, NaN
    for any other lid."""
    lines: list[str] = []
    for ls in LANDSCAPES.values():
        lines.append(f"{'elif' if lines else 'if'} lid == {ls.lid}:")
        lines.append(f"    {targets} = {kernel}_{ls.name}(p, x0, x1)")
    lines.append("else:")
    lines += [f"    {t} = math.nan" for t in targets.split(", ")]
    return textwrap.indent("\n".join(lines), " " * indent)


def _generate(template: str, name: str, **chains: str) -> Callable[..., Any]:
    """The function ``name`` defined by ``template``, each ``{key}`` in it replaced by
    ``chains[key]``."""
    src = template
    for key, chain in chains.items():
        src = src.replace("{" + key + "}", chain)
    SOURCES[name] = src
    ns: dict[str, Any] = {"__name__": __name__, "math": math, "np": np}
    ns["optimize_for_size"] = optimize_for_size
    ns["FORMULA_LID"] = FORMULA_LID
    ns["formula_f"] = formula_f_called  # called, not inlined: one copy of the interpreter
    ns["formula_fgh"] = formula_fgh_called
    for ls in LANDSCAPES.values():
        ns[f"f_{ls.name}"], ns[f"fg_{ls.name}"], ns[f"h_{ls.name}"] = ls.kernels
    # Compiled under this file's name: numba caches a function by its (existing) file;
    # engine.jit keys the cache folder on every file of this package, so a kernel edit
    # never loads stale code. Line numbers in numba's messages are those of SOURCES[name].
    exec(compile(src, __file__, "exec"), ns)
    fn: Callable[..., Any] = ns[name]
    return fn


F6 = tuple[float, float, float, float, float, float]
LossFn = Callable[[int, np.ndarray, float, float], float]
FghFn = Callable[[int, np.ndarray, float, float, bool | np.bool_], F6]

# jit_hot (no runtime): its typed-formula branch calls the interpreter, and a call in a
# branch would make numba's runtime count references to ``p`` on every landscape's path
landscape_f = jit_hot(cast(LossFn, _generate(_F_TEMPLATE, "landscape_f", f=_chain("f", "f", 8))))
landscape_fgh = jit_hot(
    cast(
        FghFn,
        _generate(
            _FGH_TEMPLATE,
            "landscape_fgh",
            fg=_chain("fg", "f, gx, gy", 4),
            h=_chain("h", "hxx, hxy, hyy", 8),
        ),
    )
)


@jit_hot
def landscape_fg(lid: int, p: np.ndarray, x: np.ndarray, g: np.ndarray) -> float:
    """Loss of landscape ``lid`` at ``(x[0], x[1])``; writes the gradient into ``g[0:2]``.

    An unknown ``lid`` gives NaN loss and gradient.
    """
    # np.bool_: not the literal False, for which numba would compile landscape_fgh again
    f, gx, gy, _, _, _ = landscape_fgh(lid, p, x[0], x[1], np.bool_(False))
    g[0] = gx
    g[1] = gy
    return f


@jit
def landscape_hess(lid: int, p: np.ndarray, x: np.ndarray, h: np.ndarray) -> None:
    """Write the symmetric 2x2 Hessian of landscape ``lid`` at ``(x[0], x[1])`` into ``h``.

    An unknown ``lid`` gives NaN entries.
    """
    _, _, _, hxx, hxy, hyy = landscape_fgh(lid, p, x[0], x[1], np.bool_(True))
    h[0, 0] = hxx
    h[0, 1] = hxy
    h[1, 0] = hxy
    h[1, 1] = hyy


@jit
def landscape_grid(
    lid: int,
    p: np.ndarray,
    x0: float,
    x1: float,
    nx: int,
    y0: float,
    y1: float,
    ny: int,
    out: np.ndarray,
) -> None:
    """Fill ``out[j, i] = f(x0 + i·(x1 − x0)/(nx − 1), y0 + j·(y1 − y0)/(ny − 1))``.

    ``out`` has shape ``(ny, nx)``; with ``nx == 1`` (``ny == 1``) the column (row) is at
    ``x0`` (``y0``).
    """
    dx = (x1 - x0) / (nx - 1) if nx > 1 else 0.0
    dy = (y1 - y0) / (ny - 1) if ny > 1 else 0.0
    for j in range(ny):
        y = y0 + j * dy
        for i in range(nx):
            out[j, i] = landscape_f(lid, p, x0 + i * dx, y)


# ---------------------------------------------------------------------------------------
# Python side
# ---------------------------------------------------------------------------------------


def get_landscape(name: str) -> Landscape:
    """The landscape registered as ``name``; KeyError listing the valid names otherwise."""
    try:
        return LANDSCAPES[name]
    except KeyError:
        raise KeyError(
            f"unknown landscape {name!r}; expected one of {', '.join(LANDSCAPES)}"
        ) from None


def value(name: str, params: dict[str, Any] | None, x: float, y: float) -> float:
    """Loss of landscape ``name`` at ``(x, y)``."""
    ls = get_landscape(name)
    return float(landscape_f(ls.lid, ls.pack(params), float(x), float(y)))


def grad(name: str, params: dict[str, Any] | None, x: float, y: float) -> np.ndarray:
    """Gradient (shape (2,)) of landscape ``name`` at ``(x, y)``."""
    ls = get_landscape(name)
    g = np.empty(2)
    landscape_fg(ls.lid, ls.pack(params), np.array([x, y], dtype=np.float64), g)
    return g


def hessian(name: str, params: dict[str, Any] | None, x: float, y: float) -> np.ndarray:
    """Hessian (shape (2, 2)) of landscape ``name`` at ``(x, y)``."""
    ls = get_landscape(name)
    h = np.empty((2, 2))
    landscape_hess(ls.lid, ls.pack(params), np.array([x, y], dtype=np.float64), h)
    return h
