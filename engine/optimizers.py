"""The optimizer registry and the numba update rules.

An optimizer is plain data plus a pure update, as in optax: its state is a ``(K, d)``
float64 array ``st`` (K state vectors of the parameter dimension d) and a small
float64 vector ``sc`` of scalars (also caches, see ``_one_minus_pow``), both zero at
``init``; :func:`opt_update` advances
the parameters ``x`` in place given the gradient ``g``, the learning rate of this
update ``lr`` and the number ``t`` of updates already done. Dispatch is by integer id
so one compiled kernel serves every optimizer (no per-optimizer compilation).

Where torch.optim has the algorithm, the update reproduces torch's float64 arithmetic
operation by operation (tests compare whole trajectories against torch.optim); the
equations each one implements are in its ``equations`` text, shown in the GUI.

Three optimizers need more than the gradient at ``x``; the race kernel provides it:
``nag`` gets the gradient at the look-ahead point ``x + ρ·v``, ``newton`` the Hessian,
``random_search`` evaluates the loss itself (see engine.kernel).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.jit import jit, jit_hot, jit_inline, optimize_for_size
from engine.params import ParamError, ParamSpec, resolve

K_STATE = 4  # state vectors per racer
S_STATE = 4  # scalar state slots per racer
H_SIZE = 8  # hyperparameter slots per racer

(
    SGD,
    MOMENTUM,
    NAG,
    ADAGRAD,
    ADADELTA,
    RMSPROP,
    ADAM,
    ADAMW,
    NADAM,
    RADAM,
    ADAMAX,
    RPROP,
    NEWTON,
    RANDOM_SEARCH,
) = range(14)


@jit_inline
def _lerp(a: float, b: float, w: float) -> float:
    """torch.lerp's scalar formula (exact same rounding)."""
    if abs(w) < 0.5:
        return a + w * (b - a)
    return b - (b - a) * (1.0 - w)


# beta**step below this: 1 − beta**step is exactly 1.0 at this step and every later one
_POW_FLOOR = 2.0**-60


@jit_inline
def _one_minus_pow(beta: float, step: float, sc: np.ndarray, k: int) -> float:
    """``1.0 − beta**step`` (torch's bias correction, same bits), skipping the pow() call.

    pow() costs ~20 ns, most of an Adam step. For 0 <= beta < 1, beta**step decreases
    with step: once the computed power is <= 2^-60 (with < 1 ulp of error, every later
    power is below 2^-58), 1 − power rounds to exactly 1.0 from then on. ``sc[k]`` = 1
    and ``sc[k + 1]`` = beta record that state (a racer's step only grows; a reset
    zeroes ``sc``; a changed beta no longer matches ``sc[k + 1]`` and starts over).
    """
    if sc[k] != 0.0 and sc[k + 1] == beta:
        return 1.0
    p = beta**step
    if p <= _POW_FLOOR:
        sc[k] = 1.0
        sc[k + 1] = beta
    return 1.0 - p


#: steps a bias-correction table covers at most (later steps call pow(), as before):
#: all of them for β₂ = 0.999 (1 − β₂ᵗ is exactly 1 from t ≈ 41,400), 1.5 MB per racer
BIAS_TABLE_MAX = 1 << 16


def bias_table(oid: int, hp: np.ndarray, length: int) -> np.ndarray:
    """The Adam family's bias corrections of updates 1 .. length − 1, made ahead so the
    kernel reads them instead of calling pow() (~40 ns each here, most of an Adam step
    while β₂ᵗ is not yet negligible: ~41,000 steps for β₂ = 0.999).

    A (3, length) array: row 0 = [β₁, 1 − β₁¹, 1 − β₁², ...], row 1 = [β₂, 1 − β₂¹, ...],
    row 2 = [β₂, (1 − β₂¹)^0.5, ...], with C pow() as torch.optim computes them in Python
    (a compiled loop: the same libm pow(), tested bit for bit against Python's). NAdam's
    rows hold its μ terms instead (:func:`_nadam_table`). A row the optimizer does not
    use starts with NaN; opt_update uses a row only when its first entry equals the
    racer's β (so a table left from other betas is never used) and the step is within
    it. Tables are shared (cached, read-only).
    """
    length = max(int(length), 1)
    if oid == NADAM:
        return _nadam_table(float(hp[1]), float(hp[2]), float(hp[5]), length)
    uses1 = oid in (ADAM, ADAMW, ADAMAX)
    uses2 = oid in (ADAM, ADAMW, NADAM)
    if not (uses1 or uses2):
        return _NO_TABLE
    return _bias_table(float(hp[1]) if uses1 else math.nan,
                       float(hp[2]) if uses2 else math.nan, length)  # fmt: skip


_NO_TABLE = np.full((3, 1), np.nan)
_NO_TABLE.flags.writeable = False


@functools.lru_cache(maxsize=64)
def _bias_table(beta1: float, beta2: float, length: int) -> np.ndarray:
    out = np.full((3, length), np.nan)
    for row, beta in ((0, beta1), (1, beta2)):
        if beta == beta:  # NaN: a row this optimizer does not use
            _fill_bias_rows(beta, out, row, 2 if row == 1 else -1)
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=64)
def _nadam_table(beta1: float, beta2: float, momentum_decay: float, length: int) -> np.ndarray:
    """NAdam's: row 0 = [β₁, μ₁, μ₂, ...] with μₛ = β₁·(1 − 0.5·0.96^(s·ψ)), ψ the momentum
    decay (its μₜ₊₁ is row 0's next entry: (s + 1.0)·ψ is float(s + 1)·ψ, the same bits);
    row 1 = [β₂, 1 − β₂¹, ...]; row 2 = [ψ, unused...]."""
    out = np.full((3, length), np.nan)
    _fill_bias_rows(beta2, out, 1, -1)
    _fill_mu_row(beta1, momentum_decay, out)
    out.flags.writeable = False
    return out


@jit
def _fill_mu_row(beta1: float, momentum_decay: float, out: np.ndarray) -> None:
    out[0, 0] = beta1
    out[2, 0] = momentum_decay
    for s in range(1, out.shape[1]):
        out[0, s] = beta1 * (1.0 - 0.5 * (0.96 ** (float(s) * momentum_decay)))


@jit
def _fill_bias_rows(beta: float, out: np.ndarray, row: int, sqrt_row: int) -> None:
    """out[row] = [β, 1 − β¹, 1 − β², ...] and, if sqrt_row >= 0, out[sqrt_row] = [β,
    (1 − β¹)^0.5, ...]: C pow() as in opt_update and as Python/torch compute them (no
    vector maths library here: LLVM keeps each pow() a libm call; `** half` with a
    non-constant half, so LLVM cannot turn it into sqrt(), which rounds differently)."""
    n = out.shape[1]
    out[row, 0] = beta
    if sqrt_row >= 0:
        out[sqrt_row, 0] = beta
    done = False
    for s in range(1, n):
        step = float(s)
        half = step * 0.0 + 0.5
        bc = 1.0
        if not done:
            p = beta**step
            bc = 1.0 - p
            done = p <= _POW_FLOOR  # 1 − β^s is exactly 1.0 from here (_one_minus_pow)
        out[row, s] = bc
        if sqrt_row >= 0:
            out[sqrt_row, s] = 1.0 if bc == 1.0 else bc**half


@jit_hot
def opt_update(
    oid: int,
    hp: np.ndarray,
    st: np.ndarray,
    sc: np.ndarray,
    bt: np.ndarray,
    x: np.ndarray,
    g: np.ndarray,
    lr: float,
    t: int,
) -> None:
    """Apply one update of optimizer ``oid`` to ``x`` in place.

    ``g`` is the gradient (it may be overwritten), ``lr`` the scheduled learning rate,
    ``t`` the number of updates done before this one (torch's ``step`` is ``t + 1``).
    ``bt`` is the racer's table of Adam bias corrections (:func:`bias_table`; NaN
    rows for none). ``newton`` and ``random_search`` are applied by the kernel, not here.
    """
    # The race kernel inlines this and optimises it for speed there; the copy of its
    # own (Python callers) is optimised for size: less machine code to generate.
    optimize_for_size()
    d = x.shape[0]
    step = float(t + 1)
    # torch computes `x ** 0.5` with C pow(); LLVM turns a literal `** 0.5` into sqrt(),
    # which differs in the last bit for ~0.1 % of inputs. An exponent LLVM cannot
    # constant-fold keeps the real pow() call, so trajectories stay bit-identical.
    half = step * 0.0 + 0.5
    # the bias corrections 1 − β₁ᵗ (sc[0:2]) and 1 − β₂ᵗ (sc[2:4]) of the Adam family,
    # one inlined copy of each (nadam keeps its μ product in sc[1]: no β₁ term)
    # (the table's values when it was made for these betas and is long enough: no pow)
    bc1 = 1.0
    bc2 = 1.0
    bc2_sqrt = -1.0  # -1: not from the table
    ts = t + 1
    tab = ts < bt.shape[1]
    if oid == ADAM or oid == ADAMW or oid == ADAMAX:
        if tab and bt[0, 0] == hp[1]:
            bc1 = bt[0, ts]
        else:
            bc1 = _one_minus_pow(hp[1], step, sc, 0)
    if oid == ADAM or oid == ADAMW or oid == NADAM:
        if tab and bt[1, 0] == hp[2]:
            bc2 = bt[1, ts]
            bc2_sqrt = bt[2, ts]
        else:
            bc2 = _one_minus_pow(hp[2], step, sc, 2)
    if oid == SGD:
        momentum = hp[1]
        dampening = hp[2]
        nesterov = hp[3] != 0.0
        wd = hp[4]
        if momentum == 0.0 and wd == 0.0:  # plain gradient descent, no per-element tests
            for i in range(d):
                x[i] = x[i] + (-lr) * g[i]
            return
        for i in range(d):
            gi = g[i]
            if wd != 0.0:
                gi = gi + wd * x[i]
            if momentum != 0.0:
                if sc[0] == 0.0:
                    buf = gi
                else:
                    buf = st[0, i] * momentum + (1.0 - dampening) * gi
                st[0, i] = buf
                if nesterov:
                    gi = gi + momentum * buf
                else:
                    gi = buf
            x[i] = x[i] + (-lr) * gi
        if momentum != 0.0:
            sc[0] = 1.0
    elif oid == MOMENTUM:
        beta = hp[1]
        for i in range(d):
            v = beta * st[0, i] + (1.0 - beta) * g[i]
            st[0, i] = v
            x[i] = x[i] - lr * v
    elif oid == NAG:
        # g is the gradient at the look-ahead point x + rho*v (kernel provides it)
        rho = hp[1]
        for i in range(d):
            v = rho * st[0, i] - lr * g[i]
            st[0, i] = v
            x[i] = x[i] + v
    elif oid == ADAGRAD:
        lr_decay = hp[1]
        wd = hp[2]
        eps = hp[4]
        clr = lr / (1.0 + (step - 1.0) * lr_decay)
        if t == 0:
            for i in range(d):
                st[0, i] = hp[3]  # initial_accumulator_value
        for i in range(d):
            gi = g[i]
            if wd != 0.0:
                gi = gi + wd * x[i]
            s = st[0, i] + 1.0 * gi * gi
            st[0, i] = s
            std = math.sqrt(s) + eps
            x[i] = x[i] + (-clr) * gi / std
    elif oid == ADADELTA:
        rho = hp[1]
        eps = hp[2]
        wd = hp[3]
        for i in range(d):
            gi = g[i]
            if wd != 0.0:
                gi = gi + wd * x[i]
            sq = st[0, i] * rho + (1.0 - rho) * gi * gi
            st[0, i] = sq
            std = math.sqrt(sq + eps)
            delta = math.sqrt(st[1, i] + eps)
            delta = delta / std * gi
            st[1, i] = st[1, i] * rho + (1.0 - rho) * delta * delta
            x[i] = x[i] + (-lr) * delta
    elif oid == RMSPROP:
        alpha = hp[1]
        eps = hp[2]
        wd = hp[3]
        momentum = hp[4]
        centered = hp[5] != 0.0
        for i in range(d):
            gi = g[i]
            if wd != 0.0:
                gi = gi + wd * x[i]
            sq = st[0, i] * alpha + (1.0 - alpha) * gi * gi
            st[0, i] = sq
            if centered:
                ga = _lerp(st[1, i], gi, 1.0 - alpha)
                st[1, i] = ga
                avg = math.sqrt(sq + (-1.0) * ga * ga)
            else:
                avg = math.sqrt(sq)
            avg = avg + eps
            if momentum > 0.0:
                buf = st[2, i] * momentum + 1.0 * gi / avg
                st[2, i] = buf
                x[i] = x[i] + (-lr) * buf
            else:
                x[i] = x[i] + (-lr) * gi / avg
    elif oid == ADAM or oid == ADAMW:
        beta1 = hp[1]
        beta2 = hp[2]
        eps = hp[3]
        wd = hp[4]
        amsgrad = hp[5] != 0.0
        if oid == ADAM and hp[6] == 0.0:  # bias_correction = false: x ← x − η·m/(√v̂ + ε)
            bc1 = 1.0
            bc2_sqrt = 1.0
        step_size = lr / bc1
        if bc2_sqrt < 0.0:
            bc2_sqrt = 1.0 if bc2 == 1.0 else bc2**half  # pow(1, y) = 1 exactly
        for i in range(d):
            gi = g[i]
            if wd != 0.0:
                if oid == ADAMW:
                    x[i] = x[i] * (1.0 - lr * wd)
                else:
                    gi = gi + wd * x[i]
            m = _lerp(st[0, i], gi, 1.0 - beta1)
            st[0, i] = m
            v = st[1, i] * beta2 + (1.0 - beta2) * gi * gi
            st[1, i] = v
            vh = v
            if amsgrad:
                vh = st[2, i]
                if v > vh:  # max(st[2, i], v), as max() picks (no overload to compile)
                    vh = v
                st[2, i] = vh
            r = math.sqrt(vh)
            if bc2_sqrt != 1.0:  # r / 1.0 is r (every bit): no division once bc2 is 1
                r = r / bc2_sqrt
            x[i] = x[i] + (-step_size) * m / (r + eps)
    elif oid == NADAM:
        beta1 = hp[1]
        beta2 = hp[2]
        eps = hp[3]
        wd = hp[4]
        momentum_decay = hp[5]
        decoupled = hp[6] != 0.0
        if t == 0:
            sc[1] = 1.0  # mu_product
        if ts + 1 < bt.shape[1] and bt[0, 0] == beta1 and bt[2, 0] == momentum_decay:
            mu = bt[0, ts]  # the table's μ (bias_table: the same pow(), no call here)
            mu_next = bt[0, ts + 1]
        else:
            mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
            mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1.0) * momentum_decay)))
        mu_product = sc[1] * mu
        if mu_product < _POW_FLOOR:
            # 1 − μ-product (and 1 − μ-product·μₜ₊₁) is exactly 1.0 from here on: a zero
            # keeps it so without multiplying subnormals at every later step (~150 cycles
            # each here: NAdam ran at ~160 ns a step once μ₁···μₜ passed 2^-1022)
            mu_product = 0.0
        sc[1] = mu_product
        mu_product_next = mu_product * mu_next
        c1 = -lr * (1.0 - mu) / (1.0 - mu_product)
        c2 = (-lr * mu_next) / (1.0 - mu_product_next)
        for i in range(d):
            gi = g[i]
            if wd != 0.0:
                if decoupled:
                    x[i] = x[i] * (1.0 - lr * wd)
                else:
                    gi = gi + wd * x[i]
            m = _lerp(st[0, i], gi, 1.0 - beta1)
            st[0, i] = m
            v = st[1, i] * beta2 + (1.0 - beta2) * gi * gi
            st[1, i] = v
            denom = math.sqrt(v / bc2) + eps
            xi = x[i] + c1 * gi / denom
            x[i] = xi + c2 * m / denom
    elif oid == RADAM:
        beta1 = hp[1]
        beta2 = hp[2]
        eps = hp[3]
        wd = hp[4]
        decoupled = hp[5] != 0.0
        bc1 = 1.0 - beta1**step
        bc2 = 1.0 - beta2**step
        rho_inf = 2.0 / (1.0 - beta2) - 1.0
        rho_t = rho_inf - 2.0 * step * (beta2**step) / bc2
        rect = 0.0
        if rho_t > 5.0:
            rect = (
                (rho_t - 4.0)
                * (rho_t - 2.0)
                * rho_inf
                / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)
            ) ** half
        for i in range(d):
            gi = g[i]
            if wd != 0.0:
                if decoupled:
                    x[i] = x[i] * (1.0 - lr * wd)
                else:
                    gi = gi + wd * x[i]
            m = _lerp(st[0, i], gi, 1.0 - beta1)
            st[0, i] = m
            v = st[1, i] * beta2 + (1.0 - beta2) * gi * gi
            st[1, i] = v
            mhat = m / bc1
            if rho_t > 5.0:
                # torch: float / tensor is tensor.reciprocal() * float
                adaptive = (1.0 / (math.sqrt(v) + eps)) * (bc2**half)
                x[i] = x[i] + (-1.0) * (mhat * lr * adaptive * rect)
            else:
                x[i] = x[i] + (-1.0) * (mhat * lr)
    elif oid == ADAMAX:
        beta1 = hp[1]
        beta2 = hp[2]
        eps = hp[3]
        wd = hp[4]
        clr = lr / bc1
        for i in range(d):
            gi = g[i]
            if wd != 0.0:
                gi = gi + wd * x[i]
            m = _lerp(st[0, i], gi, 1.0 - beta1)
            st[0, i] = m
            u = st[1, i] * beta2
            ag = abs(gi) + eps
            if ag > u:  # max(β₂·u, |g| + ε), as max() picks (NaN: the first)
                u = ag
            st[1, i] = u
            x[i] = x[i] + (-clr) * m / u
    elif oid == RPROP:
        # hp[0] = lr is the initial step size; the schedule scales the steps by lr_t/lr
        eta_minus = hp[1]
        eta_plus = hp[2]
        step_min = hp[3]
        step_max = hp[4]
        scale = lr / hp[0] if hp[0] != 0.0 else 1.0
        if t == 0:
            for i in range(d):
                st[0, i] = 0.0  # prev
                st[1, i] = hp[0]  # step sizes
        for i in range(d):
            gi = g[i]
            prod = gi * st[0, i]
            if prod > 0.0:
                factor = eta_plus
            elif prod < 0.0:
                factor = eta_minus
            else:
                factor = 1.0
            ss = st[1, i] * factor
            if step_min > ss:  # min(max(Δ·factor, step_min), step_max), as min/max pick
                ss = step_min
            if step_max < ss:
                ss = step_max
            st[1, i] = ss
            if factor == eta_minus and prod < 0.0:
                gi = 0.0
            sgn = 0.0
            if gi > 0.0:
                sgn = 1.0
            elif gi < 0.0:
                sgn = -1.0
            elif gi != gi:
                sgn = gi
            x[i] = x[i] + (-1.0) * sgn * (ss * scale)
            st[0, i] = gi


def _sgd_rule(p: dict[str, Any]) -> str | None:
    """torch.optim.SGD refuses Nesterov without momentum or with dampening, and so do we."""
    if p["nesterov"] and (p["momentum"] <= 0.0 or p["dampening"] != 0.0):
        return (
            f"nesterov: Nesterov momentum needs momentum > 0 and dampening = 0 "
            f"(as torch.optim.SGD); got momentum = {p['momentum']:g}, "
            f"dampening = {p['dampening']:g}"
        )
    return None


def _random_search_rule(p: dict[str, Any]) -> str | None:
    if p["sign"] not in (-1, 1):
        return (
            f"sign: expected -1 (descend) or 1 (the notes' W + α(G⁺ − G⁻)·δW: climbs), "
            f"got {p['sign']}"
        )
    return None


@dataclass(frozen=True)
class Optimizer:
    """One optimizer: registry name, kernel id, hyperparameters and exact equations."""

    name: str
    oid: int
    title: str
    params: tuple[ParamSpec, ...]
    equations: str
    torch: str | None = None  # torch.optim class with the same algorithm, if any
    momentum_slot: int = -1  # state row holding a momentum/velocity vector (for overlays)
    velocity_sign: float = 1.0  # +1: the slot points along the update, -1: against it
    description: str = ""
    #: a rule across parameters: given the resolved parameters, None or what is wrong
    #: (the message starts with the parameter name, like every ParamError)
    rule: Callable[[dict[str, Any]], str | None] | None = None
    #: what a racer's initial velocity ``v0`` sets (state row 0) and in which units;
    #: "" for an optimizer without a velocity (v0 and x_prev do not apply)
    velocity: str = ""

    def resolve(self, given: dict[str, Any] | None) -> dict[str, Any]:
        """Defaults merged with ``given`` (raises ParamError on bad or unknown keys, or on a
        combination the algorithm does not define)."""
        p = resolve(self.params, given)
        if self.rule is not None:
            problem = self.rule(p)
            if problem:
                raise ParamError(problem)
        return p

    def pack(self, params: dict[str, Any]) -> np.ndarray:
        """Packed float64 hyperparameter vector for the kernel (spec order)."""
        p = self.resolve(params)
        hp = np.zeros(H_SIZE)
        for i, spec in enumerate(self.params):
            hp[i] = float(p[spec.name])
        return hp

    def torch_kwargs(self, params: dict[str, Any]) -> dict[str, Any]:
        """Keyword arguments for the torch.optim class (tests and documentation)."""
        p = self.resolve(params)
        if self.name == "adam" and not p.pop("bias_correction"):
            raise ValueError("torch.optim.Adam has no bias_correction = false")
        if self.name in ("adam", "adamw", "nadam", "radam", "adamax"):
            p["betas"] = (p.pop("beta1"), p.pop("beta2"))
        if self.name == "rprop":
            p["etas"] = (p.pop("eta_minus"), p.pop("eta_plus"))
            p["step_sizes"] = (p.pop("step_min"), p.pop("step_max"))
        return p


def _lr(default: float) -> ParamSpec:
    return ParamSpec(
        "lr", default, "learning rate η", lo=0.0, hi=1e6, lo_open=True, log=True, symbol="η"
    )


_EPS = "ε, added to the denominator for numerical stability"
_WD = ParamSpec("weight_decay", 0.0, "L2 penalty λ added to the gradient", lo=0.0, symbol="λ")
_B1 = ParamSpec(
    "beta1", 0.9, "decay of the first-moment average", lo=0.0, hi=1.0, hi_open=True, symbol="β₁"
)
_B2 = ParamSpec(
    "beta2", 0.999, "decay of the second-moment average", lo=0.0, hi=1.0, hi_open=True, symbol="β₂"
)


def _eps(default: float) -> ParamSpec:
    return ParamSpec("eps", default, _EPS, lo=0.0, hi=1.0, lo_open=True, log=True, symbol="ε")


OPTIMIZERS: dict[str, Optimizer] = {
    o.name: o
    for o in (
        Optimizer(
            "sgd",
            SGD,
            "SGD (torch.optim.SGD)",
            (
                _lr(0.01),
                ParamSpec("momentum", 0.0, "momentum factor μ", lo=0.0, hi=1.0, symbol="μ"),
                ParamSpec("dampening", 0.0, "dampening τ for momentum", lo=0.0, hi=1.0, symbol="τ"),
                ParamSpec("nesterov", False, "use Nesterov momentum", kind="bool"),
                _WD,
            ),
            "g ← ∇f(x) + λ·x\n"
            "if μ ≠ 0:  b ← g at the first step, else b ← μ·b + (1 − τ)·g\n"
            "           g ← g + μ·b  (nesterov)   or   g ← b\n"
            "x ← x − η·g",
            torch="SGD",
            momentum_slot=0,
            velocity_sign=-1.0,
            description="Plain gradient descent; with momentum it is the lecture's heavy ball "
            "v ← ρv − ηg, x ← x + v (b = −v/η); nesterov = true is the notes' "
            "change-of-variables NAG (x̃ = x + ρv).",
            rule=_sgd_rule,
            velocity="the buffer b, in gradient units (the step is −η·b; the lectures' "
            "heavy-ball velocity is v = −η·b): with v0 the first update is already "
            "b ← μ·b + (1 − τ)·g",
        ),
        Optimizer(
            "momentum",
            MOMENTUM,
            "Momentum (EMA form of the lectures)",
            (
                _lr(0.01),
                ParamSpec(
                    "momentum", 0.9, "EMA factor β", lo=0.0, hi=1.0, hi_open=True, symbol="β"
                ),
            ),
            "v ← β·v + (1 − β)·∇f(x)\nx ← x − η·v",
            momentum_slot=0,
            velocity_sign=-1.0,
            description="Gradient descent on an exponential moving average of the gradients; "
            "the same path as heavy ball (sgd) with μ = β and η·(1 − β).",
            velocity="v, in gradient units (the step is −η·v)",
        ),
        Optimizer(
            "nag",
            NAG,
            "Nesterov accelerated gradient (look-ahead form)",
            (
                _lr(0.001),
                ParamSpec("momentum", 0.9, "momentum ρ", lo=0.0, hi=1.0, hi_open=True, symbol="ρ"),
            ),
            "v ← ρ·v − η·∇f(x + ρ·v)\nx ← x + v",
            momentum_slot=0,
            velocity_sign=1.0,
            description="Lecture 5's NAG: the gradient is measured at the look-ahead point.",
            velocity="v, in units of x (the step itself: x ← x + v)",
        ),
        Optimizer(
            "adagrad",
            ADAGRAD,
            "AdaGrad (torch.optim.Adagrad)",
            (
                _lr(0.01),
                ParamSpec("lr_decay", 0.0, "learning-rate decay", lo=0.0),
                _WD,
                ParamSpec("initial_accumulator_value", 0.0, "initial value of G", lo=0.0),
                _eps(1e-10),
            ),
            "g ← ∇f(x) + λ·x\nη_t ← η / (1 + (t − 1)·lr_decay)\nG ← G + g²\n"
            "x ← x − η_t·g / (√G + ε)",
            torch="Adagrad",
            description="Per-coordinate rates shrink with the sum of squared gradients.",
        ),
        Optimizer(
            "adadelta",
            ADADELTA,
            "AdaDelta (torch.optim.Adadelta)",
            (
                _lr(1.0),
                ParamSpec("rho", 0.9, "decay of the running averages", lo=0.0, hi=1.0, symbol="ρ"),
                _eps(1e-6),
                _WD,
            ),
            "g ← ∇f(x) + λ·x\nE[g²] ← ρ·E[g²] + (1 − ρ)·g²\n"
            "Δ ← √(E[Δ²] + ε) / √(E[g²] + ε) · g\nE[Δ²] ← ρ·E[Δ²] + (1 − ρ)·Δ²\nx ← x − η·Δ",
            torch="Adadelta",
            description="Zeiler's AdaDelta: the ratio of two running RMS values sets the step.",
        ),
        Optimizer(
            "rmsprop",
            RMSPROP,
            "RMSProp (torch.optim.RMSprop)",
            (
                _lr(0.01),
                ParamSpec(
                    "alpha",
                    0.99,
                    "decay of the squared-gradient average",
                    lo=0.0,
                    hi=1.0,
                    symbol="α",
                ),
                _eps(1e-8),
                _WD,
                ParamSpec("momentum", 0.0, "momentum μ", lo=0.0, hi=1.0, symbol="μ"),
                ParamSpec("centered", False, "divide by the centred variance", kind="bool"),
            ),
            "g ← ∇f(x) + λ·x\nE[g²] ← α·E[g²] + (1 − α)·g²\n"
            "D ← √E[g²] + ε   (centered: D ← √(E[g²] − E[g]²) + ε, E[g] ← α·E[g] + (1 − α)·g)\n"
            "μ > 0:  b ← μ·b + g/D,  x ← x − η·b;   else  x ← x − η·g/D",
            torch="RMSprop",
            momentum_slot=2,
            velocity_sign=-1.0,
            description="Hinton's RMSProp; the lectures' E[g²] ← 0.9E[g²] + 0.1g² is alpha = 0.9 "
            "(the lecture puts ε under the root, torch adds it after).",
        ),
        Optimizer(
            "adam",
            ADAM,
            "Adam (torch.optim.Adam)",
            (
                _lr(0.001),
                _B1,
                _B2,
                _eps(1e-8),
                _WD,
                ParamSpec("amsgrad", False, "use the AMSGrad maximum of v", kind="bool"),
                ParamSpec(
                    "bias_correction",
                    True,
                    "divide m by 1 − β₁ᵗ and v by 1 − β₂ᵗ (false: the 003 notes' form)",
                    kind="bool",
                ),
            ),
            "g ← ∇f(x) + λ·x\nm ← β₁·m + (1 − β₁)·g\nv ← β₂·v + (1 − β₂)·g²\n"
            "v̂ ← max(v̂, v) (amsgrad) or v\n"
            "x ← x − η/(1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + ε)\n"
            "bias_correction = false:  x ← x − η·m / (√v̂ + ε)",
            torch="Adam",
            momentum_slot=0,
            velocity_sign=-1.0,
            description="Kingma & Ba's Adam with bias correction (Algorithm 1 of the paper); "
            "bias_correction = false is the 003 notes' Adam (torch.optim.Adam has no such "
            "switch: checked against the formula).",
        ),
        Optimizer(
            "adamw",
            ADAMW,
            "AdamW (torch.optim.AdamW)",
            (
                _lr(0.001),
                _B1,
                _B2,
                _eps(1e-8),
                ParamSpec("weight_decay", 0.01, "decoupled weight decay λ", lo=0.0, symbol="λ"),
                ParamSpec("amsgrad", False, "use the AMSGrad maximum of v", kind="bool"),
            ),
            "x ← x·(1 − η·λ)\nm ← β₁·m + (1 − β₁)·g\nv ← β₂·v + (1 − β₂)·g²\n"
            "x ← x − η/(1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + ε)",
            torch="AdamW",
            momentum_slot=0,
            velocity_sign=-1.0,
            description="Adam with decoupled weight decay.",
        ),
        Optimizer(
            "nadam",
            NADAM,
            "NAdam (torch.optim.NAdam)",
            (
                _lr(0.002),
                _B1,
                _B2,
                _eps(1e-8),
                _WD,
                ParamSpec("momentum_decay", 0.004, "momentum decay ψ", lo=0.0, symbol="ψ"),
                ParamSpec(
                    "decoupled_weight_decay", False, "decay weights as in AdamW", kind="bool"
                ),
            ),
            "μ_t ← β₁(1 − ½·0.96^(t·ψ)),  Π_t ← Π_{t−1}·μ_t\n"
            "m ← β₁·m + (1 − β₁)·g,  v ← β₂·v + (1 − β₂)·g²,  D ← √(v/(1 − β₂ᵗ)) + ε\n"
            "x ← x − η(1 − μ_t)/(1 − Π_t)·g/D − η·μ_{t+1}/(1 − Π_t·μ_{t+1})·m/D",
            torch="NAdam",
            momentum_slot=0,
            velocity_sign=-1.0,
            description="Adam with Nesterov momentum (Dozat).",
        ),
        Optimizer(
            "radam",
            RADAM,
            "RAdam (torch.optim.RAdam)",
            (
                _lr(0.001),
                _B1,
                _B2,
                _eps(1e-8),
                _WD,
                ParamSpec(
                    "decoupled_weight_decay", False, "decay weights as in AdamW", kind="bool"
                ),
            ),
            "m ← β₁·m + (1 − β₁)·g,  v ← β₂·v + (1 − β₂)·g²,  m̂ ← m/(1 − β₁ᵗ)\n"
            "ρ∞ = 2/(1 − β₂) − 1,  ρ_t = ρ∞ − 2t·β₂ᵗ/(1 − β₂ᵗ)\n"
            "ρ_t > 5:  r = √((ρ_t − 4)(ρ_t − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρ_t)),"
            "  x ← x − η·m̂·r·√(1 − β₂ᵗ)/(√v + ε)\n"
            "else:     x ← x − η·m̂",
            torch="RAdam",
            momentum_slot=0,
            velocity_sign=-1.0,
            description="Rectified Adam: no adaptive step until the variance estimate is reliable.",
        ),
        Optimizer(
            "adamax",
            ADAMAX,
            "Adamax (torch.optim.Adamax)",
            (_lr(0.002), _B1, _B2, _eps(1e-8), _WD),
            "m ← β₁·m + (1 − β₁)·g\nu ← max(β₂·u, |g| + ε)\nx ← x − η/(1 − β₁ᵗ) · m/u",
            torch="Adamax",
            momentum_slot=0,
            velocity_sign=-1.0,
            description="Adam with the infinity norm.",
        ),
        Optimizer(
            "rprop",
            RPROP,
            "Rprop (torch.optim.Rprop)",
            (
                ParamSpec(
                    "lr",
                    0.01,
                    "initial step size Δ₀",
                    lo=0.0,
                    hi=1e6,
                    lo_open=True,
                    log=True,
                    symbol="Δ₀",
                ),
                ParamSpec(
                    "eta_minus",
                    0.5,
                    "step shrink factor η⁻",
                    lo=0.0,
                    hi=1.0,
                    lo_open=True,
                    hi_open=True,
                ),
                ParamSpec("eta_plus", 1.2, "step growth factor η⁺", lo=1.0, lo_open=True),
                ParamSpec("step_min", 1e-6, "smallest step", lo=0.0, log=True),
                ParamSpec("step_max", 50.0, "largest step", lo=0.0, lo_open=True, log=True),
            ),
            "s ← sign(g·g_prev)\nΔ ← clip(Δ·η⁺ if s > 0, Δ·η⁻ if s < 0, Δ if s = 0; step_min,"
            " step_max)\ng ← 0 where s < 0\nx ← x − sign(g)·Δ·(η_t/η),  g_prev ← g",
            torch="Rprop",
            description="Resilient backpropagation: only the sign of the gradient is used.",
        ),
        Optimizer(
            "newton",
            NEWTON,
            "Damped Newton (saddle-free)",
            (
                ParamSpec(
                    "lr",
                    1.0,
                    "step scale η (1 = full Newton step)",
                    lo=0.0,
                    hi=1e6,
                    lo_open=True,
                    log=True,
                    symbol="η",
                ),
                ParamSpec(
                    "damping",
                    1e-3,
                    "eigenvalue floor δ (saddle-free form only)",
                    lo=0.0,
                    lo_open=True,
                    log=True,
                    symbol="δ",
                ),
                ParamSpec(
                    "saddle_free",
                    True,
                    "use max(|λᵢ|, δ) (false: plain Newton x − η·H⁻¹·∇f, δ unused)",
                    kind="bool",
                ),
            ),
            "H = V·diag(λᵢ)·Vᵀ  (analytic Hessian at x)\n"
            "H̃ = V·diag(max(|λᵢ|, δ))·Vᵀ   (positive definite even at saddles)\n"
            "x ← x − η·H̃⁻¹·∇f(x)\n"
            "saddle_free = false:  H̃ = H (δ unused),  x ← x − η·H⁻¹·∇f(x);  "
            "singular H: a non-finite step (diverged)",
            description="Second-order step; |λ| makes it move away from saddles and maxima. "
            "Plain Newton (saddle_free = false) jumps to the stationary point of the local "
            "quadratic model, a saddle or a maximum as readily as a minimum.",
        ),
        Optimizer(
            "random_search",
            RANDOM_SEARCH,
            "Finite-difference random search (lecture notes)",
            (
                _lr(0.01),
                ParamSpec(
                    "delta",
                    0.01,
                    "perturbation scale δ",
                    lo=0.0,
                    lo_open=True,
                    log=True,
                    symbol="δ",
                ),
                ParamSpec("directions", 1, "random directions per step N", kind="int", lo=1, hi=64),
                ParamSpec("normalize", False, "divide by 2δ² so that E[step] = −η·∇f", kind="bool"),
                ParamSpec(
                    "sign",
                    -1,
                    "−1: descend; +1: the notes' W + α(G⁺ − G⁻)·δW as printed (climbs)",
                    kind="int",
                    lo=-1,
                    hi=1,
                    symbol="s",
                ),
            ),
            "δWᵢ = δ·uᵢ,  uᵢ ~ N(0, I),  i = 1..N\n"
            "G⁺ᵢ = f(x + δWᵢ),  G⁻ᵢ = f(x − δWᵢ)\n"
            "x ← x + s·(η/N)·Σᵢ (G⁺ᵢ − G⁻ᵢ)·δWᵢ   (normalize: also divided by 2δ²)\n"
            "s = −1 descends (default); s = +1 is the notes' W + α(G⁺ − G⁻)·δW, which climbs",
            description="The notes' method of finite differences; the notes print "
            "W + α(G⁺ − G⁻)·δW, which climbs the loss: sign = −1 (default) minimises.",
            rule=_random_search_rule,
        ),
    )
}


def get_optimizer(name: str) -> Optimizer:
    """The optimizer called ``name`` (KeyError naming the valid ones otherwise)."""
    try:
        return OPTIMIZERS[name]
    except KeyError:
        raise KeyError(
            f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}"
        ) from None


def set_velocity(
    name: str,
    params: dict[str, Any],
    st: np.ndarray,
    sc: np.ndarray,
    x0: np.ndarray,
    v0: Any = None,
    x_prev: Any = None,
) -> bool:
    """Give a racer of optimizer ``name`` (state ``st``, ``sc`` just zeroed) a velocity.

    ``v0`` is the velocity in the optimizer's own units (``Optimizer.velocity``): sgd's
    buffer b (gradient units, step −η·b), momentum's v (gradient units, step −η·v), nag's
    v (units of x, step +v). ``x_prev`` instead names the point before the start ``x0``:
    the previous update was Δ = x0 − x_prev, so b = v = −Δ/η (sgd, momentum; η = the
    racer's lr) or v = Δ (nag). sgd's flag ``sc[0] = 1`` makes its first update
    b ← μ·b + (1 − τ)·g (torch's buffer exists). Returns False (nothing set) when neither
    is given or the optimizer has no velocity.
    """
    opt = get_optimizer(name)
    if not opt.velocity or (v0 is None and x_prev is None):
        return False
    if v0 is not None:
        v = np.asarray(v0, dtype=np.float64)
    else:
        dx = np.asarray(x0, dtype=np.float64) - np.asarray(x_prev, dtype=np.float64)
        v = dx if opt.oid == NAG else -dx / float(params["lr"])
    st[0] = v
    if opt.oid == SGD:
        sc[0] = 1.0
    return True
