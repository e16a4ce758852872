"""The one project-wide numba decorator.

Every engine kernel is compiled with ``nogil=True`` (engine threads run while the GUI
thread draws), ``cache=True`` (warm start reads machine code from disk) and
``error_model='numpy'`` (no division-by-zero checks that block vectorisation).
``fastmath`` is never used: it deletes the ``isfinite`` checks that detect divergence.
The one exception is narrower: engine.vmath.radd puts LLVM's ``reassoc`` flag (and no
other) on single additions, the perceptron's running sums, so they vectorise; NaN and
inf still propagate (tests/test_engine_rules.py checks the compiled kernel).

Cold compile (empty numba cache: every kernel, 11-15 s CPU here depending on the
host's load, was ~30 s): numba's own Python-side work (typing, lowering: ~70 %) grows
with the code it sees, faster than linearly within one function, so the big
dispatchers are compiled once (:func:`jit_hot`, inlined by LLVM) rather than copied
into every caller (:func:`jit_inline`, for small helpers only), and big rare parts are
functions of their own. LLVM's share (~30 %) counts every function twice, as a
library of its own and again in each caller's module (numba links callees in): the
copies nobody runs for speed are compiled for size (:func:`optimize_for_size`).
Arguments passed to another compiled function must not be literal constants: numba
compiles the callee once more for ``Literal[int](0)`` or ``Literal[bool](False)``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, cast


def _default_cache_dir() -> str:
    """A cache folder keyed by the engine's source, so an edit never runs stale code.

    numba's own cache checks only the timestamp of the file of the cached function, not
    of the functions it calls in other modules; keying the folder on every engine
    source file closes that hole.
    """
    h = hashlib.sha256()
    root = Path(__file__).parent
    files = {f: f.read_bytes() for f in sorted(root.rglob("*.py"))}
    kernels = {f for f, src in files.items() if b"from engine.jit import" in src}
    # a package with kernels counts whole (engine/optimizers: its specs hold constants
    # the kernels are compiled with); packages without kernels (scenario, maps) do not
    packages = {f.parent for f in kernels} - {root}
    for f, src in files.items():
        if f.name == "jit.py" or f in kernels or f.parent in packages:
            h.update(f.relative_to(root).as_posix().encode())
            h.update(src)
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return str(base / "gradient-arena" / f"numba-{h.hexdigest()[:16]}")


if "NUMBA_CACHE_DIR" not in os.environ:
    os.environ["NUMBA_CACHE_DIR"] = _default_cache_dir()

import numba  # noqa: E402  (must see NUMBA_CACHE_DIR)
import numba.core.config  # noqa: E402
import numba.extending  # noqa: E402

if os.environ["NUMBA_CACHE_DIR"] != numba.core.config.CACHE_DIR:  # type: ignore[attr-defined]
    numba.core.config.reload_config()

if TYPE_CHECKING:
    from numba.core.dispatcher import Dispatcher

F = TypeVar("F", bound=Callable[..., Any])
P = ParamSpec("P")

JIT_OPTIONS: dict[str, Any] = {
    "nopython": True,
    "nogil": True,
    "cache": True,
    "error_model": "numpy",
    # no C-ABI wrapper per function (for numba's first-class function types, unused
    # here): less code to generate and optimise, ~5-10 % of the cold compile
    "no_cfunc_wrapper": True,
}


def _compile(func: F, **extra: Any) -> Dispatcher[F]:
    """numba's dispatcher of ``func`` with :data:`JIT_OPTIONS` and ``extra`` options."""
    return cast("Dispatcher[F]", numba.jit(**JIT_OPTIONS, **extra)(func))


def jit(func: F) -> Dispatcher[F]:
    """Compile ``func`` with the project's numba options (see module docstring)."""
    return _compile(func)


def jit_kernel(func: F) -> Dispatcher[F]:
    """Like :func:`jit`, without the numba runtime (NRT): for the chunk kernels.

    A kernel compiled this way cannot allocate (callers pass scratch space) and pays no
    reference counting for the array views and inlined calls in its inner loop: with
    the runtime, those atomic increments cost 50-150 ns per step, ten times the step.
    """
    return _compile(func, _nrt=False)


def jit_inline(func: F) -> Dispatcher[F]:
    """Like :func:`jit`, and inlined into its numba callers at the numba-IR level.

    For the small helpers of the dispatchers (one landscape's formula, ``_lerp``, the
    random numbers): a regular call between jitted functions that passes arrays costs
    ~30 ns (runtime reference counting of each array argument), more than a whole
    optimizer step. Inlined, it costs nothing. Only for SMALL functions: numba copies
    the callee's IR into every call site (deep copies that grow with the callee's
    size times its number of blocks) and types the copy again, so a big dispatcher
    inlined this way at a few sites cost ~25 s of compile time; see :func:`jit_hot`.
    """
    return _compile(func, inline="always")


def jit_hot(func: F) -> Dispatcher[F]:
    """For the big dispatchers of the kernels' inner loops (objective, schedule, optimizer).

    Compiled once per signature by numba, without the runtime (NRT, as
    :func:`jit_kernel`: no reference counting of the array arguments), and marked
    ``alwaysinline`` so that LLVM inlines the machine-level code into every caller:
    the step costs what fully inlined code costs, and numba types and lowers the
    function once instead of once per call site.
    """
    return _compile(func, _nrt=False, forceinline=True)


def intrinsic(typer: Callable[Concatenate[Any, P], Any]) -> Callable[P, Any]:
    """``numba.extending.intrinsic``, typed for mypy: jitted code calls the result without
    the typing context, the first argument of ``typer`` (numba's stubs keep it)."""
    return cast("Callable[P, Any]", numba.extending.intrinsic(typer))


def _prefetch_row_codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
    from llvmlite import ir
    from numba.core import cgutils

    aryty = signature.args[0]
    ary = context.make_array(aryty)(context, builder, args[0])
    row = context.cast(builder, args[1], signature.args[1], numba.types.intp)
    first = context.get_constant(numba.types.intp, 0)
    (ncol,) = cgutils.unpack_tuple(builder, ary.shape, count=2)[1:]
    last = builder.sub(ncol, context.get_constant(numba.types.intp, 1))
    i32 = ir.IntType(32)
    for col in (first, last):  # a row may straddle two cache lines
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [row, col])
        fnty = ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        # read, locality 3 (keep in all cache levels), data cache
        builder.call(fn, [ptr, i32(0), i32(3), i32(1)])
    return context.get_dummy_value()


@intrinsic
def prefetch_row(typingctx: Any, arr: Any, row: Any) -> Any:
    """``prefetch_row(a, i)`` in jitted code: ask the CPU to load row ``i`` of the 2-D array
    ``a`` into cache (LLVM's prefetch; no effect on results, no fault on any address)."""
    if not (isinstance(arr, numba.types.Array) and arr.ndim == 2):
        return None
    if not isinstance(row, numba.types.Integer):
        return None
    return numba.types.void(arr, row), _prefetch_row_codegen


def _optsize_codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
    builder.function.attributes.add("optsize")
    return context.get_dummy_value()


@intrinsic
def optimize_for_size(typingctx: Any) -> Any:
    """``optimize_for_size()`` in a jitted function: LLVM compiles that function for
    small code (its ``optsize`` attribute): loops over a handful of elements are not
    vectorised or unrolled with run-time checks, prologues and epilogues they never
    use. Same arithmetic, same results (no fast-math); less machine code to optimise
    and generate: for the rare paths of the kernels, where speed hardly matters."""
    return numba.types.void(), _optsize_codegen
