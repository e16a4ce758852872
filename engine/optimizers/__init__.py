"""The optimizer registry and the dispatcher of their numba updates.

An optimizer is plain data plus a pure update, as in optax: its state is a ``(K, d)``
float64 array ``st`` (K state vectors of the parameter dimension d) and a small
float64 vector ``sc`` of scalars (also caches, see ``one_minus_pow``), both zero at
``init``; :func:`opt_update` advances the parameters ``x`` in place given the gradient
``g``, the learning rate of this update ``lr`` and the number ``t`` of updates already
done. Dispatch is by integer id so one compiled kernel serves every optimizer (no
per-optimizer compilation).

One module per family holds each optimizer's spec (engine.optimizers.spec.Optimizer:
hyperparameters, equations, what the kernel and the window need) and the names of its
hyperparameter slots; :func:`opt_update` holds the updates, one branch each (see its
docstring for why one function). Where torch.optim has the algorithm, the update
reproduces torch's float64 arithmetic operation by operation (tests compare whole
trajectories against torch.optim).

Adding an optimizer: a module with its spec and slot names
(:func:`~engine.optimizers.spec.slots`), its spec in :data:`OPTIMIZERS` (its id is its
position), its id name below and its branch in :func:`opt_update`. The registry feeds
the scenario validation, ``main.py list``, the README table, the GUI and the warm-up.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from engine.jit import jit_hot, optimize_for_size
from engine.optimizers import adam, adaptive, lion, newton, random_search, rprop, sgd
from engine.optimizers import momentum as momentum_
from engine.optimizers._common import (
    POW_FLOOR,
    ema,
    ema_sq,
    mix,
    one_minus_pow,
    sign,
)
from engine.optimizers.adam import BIAS_TABLE_MAX
from engine.optimizers.spec import H_SIZE, K_STATE, S_STATE, Optimizer, registry

__all__ = [
    "BIAS_TABLE_MAX",
    "H_SIZE",
    "K_STATE",
    "OPTIMIZERS",
    "S_STATE",
    "Optimizer",
    "bias_table",
    "get_optimizer",
    "opt_update",
    "set_velocity",
]

#: every optimizer by name; its kernel id is its position (menus and tables keep it)
OPTIMIZERS: dict[str, Optimizer] = registry(
    sgd.SGD,
    momentum_.MOMENTUM,
    momentum_.NAG,
    adaptive.ADAGRAD,
    adaptive.ADADELTA,
    adaptive.RMSPROP,
    adam.ADAM,
    adam.ADAMW,
    adam.NADAM,
    adam.RADAM,
    adam.ADAMAX,
    rprop.RPROP,
    newton.NEWTON,
    random_search.RANDOM_SEARCH,
    lion.LION,
)

# the kernel ids, by name (checked below: each is its optimizer's position)
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
    LION,
) = (o.oid for o in OPTIMIZERS.values())
if any(globals().get(o.name.upper()) != o.oid for o in OPTIMIZERS.values()):
    raise RuntimeError("the kernel ids must name the optimizers in registry order")


def _slot_of(o: Optimizer, name: str) -> int:
    names = [p.name for p in o.params]
    return names.index(name) if name else -1


# weight decay by kernel id (constants of opt_update): the slot of λ (-1: none), whether
# it is decoupled, and the slot of a switch to the decoupled form (-1: none)
_DECAY_SLOT = np.array(
    [_slot_of(o, "weight_decay" if o.decay else "") for o in OPTIMIZERS.values()]
)
_DECOUPLED = np.array([o.decay == "decoupled" for o in OPTIMIZERS.values()], dtype=np.int64)
_DECAY_SWITCH = np.array([_slot_of(o, o.decay_switch) for o in OPTIMIZERS.values()])


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
    ``bt`` is the racer's table of bias corrections (:func:`bias_table`; NaN rows for
    none). Optimizers with a ``special`` spec (newton, random_search) are applied by the
    kernel's special_step, not here. Hyperparameters are read by the slot names of each
    optimizer's module (checked against its spec at import).

    One function with every update in it (~250 lines, the reason it exceeds the usual
    length): numba's IR inliner re-runs its passes on each inlined function and
    deep-copies its IR, so updates written as inlined functions of their own modules
    cost ~0.6 s more of cold compile (this function: 1.2 -> 1.9 s) for the same machine
    code. Only small shared helpers (engine.optimizers._common) are inlined here, and
    weight decay, the same for every optimizer that has one, is applied once before the
    update (by the slots of ``_DECAY_SLOT``: each spec's ``decay``).
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
    # one inlined copy of each (nadam keeps its μ product in sc[1]: no β₁ term), from
    # the racer's table when it was made for these betas and is long enough (no pow)
    bc1 = 1.0
    bc2 = 1.0
    bc2_sqrt = -1.0  # -1: not from the table
    ts = t + 1
    tab = ts < bt.shape[1]
    if oid == ADAM or oid == ADAMW or oid == ADAMAX:
        if tab and bt[0, 0] == hp[adam.BETA_1]:
            bc1 = bt[0, ts]
        else:
            bc1 = one_minus_pow(hp[adam.BETA_1], step, sc, 0)
    if oid == ADAM or oid == ADAMW or oid == NADAM:
        if tab and bt[1, 0] == hp[adam.BETA_2]:
            bc2 = bt[1, ts]
            bc2_sqrt = bt[2, ts]
        else:
            bc2 = one_minus_pow(hp[adam.BETA_2], step, sc, 2)
    # weight decay, for every optimizer with one (its spec's ``decay``), written once:
    # L2 (torch's weight_decay: g ← g + λ·x) or decoupled (AdamW's x ← x·(1 − η·λ))
    k = _DECAY_SLOT[oid]
    if k >= 0 and hp[k] != 0.0:
        wd = hp[k]
        switch = _DECAY_SWITCH[oid]
        if _DECOUPLED[oid] != 0 or (switch >= 0 and hp[switch] != 0.0):
            for i in range(d):
                x[i] = x[i] * (1.0 - lr * wd)
        else:
            for i in range(d):
                g[i] = g[i] + wd * x[i]
    if oid == SGD:
        momentum = hp[sgd.MOMENTUM]
        dampening = hp[sgd.DAMPENING]
        nesterov = hp[sgd.NESTEROV] != 0.0
        if momentum == 0.0:  # plain gradient descent, no per-element tests
            for i in range(d):
                x[i] = x[i] + (-lr) * g[i]
            return
        for i in range(d):
            gi = g[i]
            if sc[0] == 0.0:  # the buffer does not exist yet (set_velocity sets sc[0])
                buf = gi
            else:
                buf = st[0, i] * momentum + (1.0 - dampening) * gi
            st[0, i] = buf
            if nesterov:
                gi = gi + momentum * buf
            else:
                gi = buf
            x[i] = x[i] + (-lr) * gi
        sc[0] = 1.0
    elif oid == MOMENTUM:
        beta = hp[momentum_.BETA]
        for i in range(d):
            v = mix(st[0, i], g[i], beta)
            st[0, i] = v
            x[i] = x[i] - lr * v
    elif oid == NAG:
        # g is the gradient at the look-ahead point x + ρ·v (the kernel's extra evaluation)
        rho = hp[momentum_.BETA]
        for i in range(d):
            v = rho * st[0, i] - lr * g[i]
            st[0, i] = v
            x[i] = x[i] + v
    elif oid == ADAGRAD:
        eps = hp[adaptive.AG_EPS]
        clr = lr / (1.0 + (step - 1.0) * hp[adaptive.LR_DECAY])
        if t == 0:
            for i in range(d):
                st[0, i] = hp[adaptive.INITIAL]  # G starts at initial_accumulator_value
        root = hp[adaptive.AG_EPS_ROOT] != 0.0  # ε under the root: the notes' form
        for i in range(d):
            gi = g[i]
            s = st[0, i] + 1.0 * gi * gi
            st[0, i] = s
            std = math.sqrt(s + eps) if root else math.sqrt(s) + eps
            x[i] = x[i] + (-clr) * gi / std
    elif oid == ADADELTA:
        rho = hp[adaptive.RHO]
        eps = hp[adaptive.AD_EPS]
        for i in range(d):  # st[0]: E[g²], st[1]: E[Δ²]
            gi = g[i]
            sq = ema_sq(st[0, i], gi, rho)
            st[0, i] = sq
            std = math.sqrt(sq + eps)
            delta = math.sqrt(st[1, i] + eps)
            delta = delta / std * gi
            st[1, i] = ema_sq(st[1, i], delta, rho)
            x[i] = x[i] + (-lr) * delta
    elif oid == RMSPROP:
        alpha = hp[adaptive.ALPHA]
        eps = hp[adaptive.RMS_EPS]
        momentum = hp[adaptive.RMS_MOMENTUM]
        centered = hp[adaptive.CENTERED] != 0.0
        root = hp[adaptive.RMS_EPS_ROOT] != 0.0  # ε under the root: the notes' form
        for i in range(d):  # st[0]: E[g²], st[1]: E[g] (centered), st[2]: the buffer b
            gi = g[i]
            sq = ema_sq(st[0, i], gi, alpha)
            st[0, i] = sq
            if centered:
                ga = ema(st[1, i], gi, alpha)
                st[1, i] = ga
                sq = sq + (-1.0) * ga * ga
            if root:
                avg = math.sqrt(sq + eps)
            else:
                avg = math.sqrt(sq) + eps
            if momentum > 0.0:
                buf = st[2, i] * momentum + 1.0 * gi / avg
                st[2, i] = buf
                x[i] = x[i] + (-lr) * buf
            else:
                x[i] = x[i] + (-lr) * gi / avg
    elif oid == ADAM or oid == ADAMW:
        beta1 = hp[adam.BETA_1]
        beta2 = hp[adam.BETA_2]
        eps = hp[adam.EPS]
        amsgrad = hp[adam.AMSGRAD] != 0.0
        if oid == ADAM and hp[adam.BIAS_CORRECTION] == 0.0:  # x ← x − η·m/(√v̂ + ε)
            bc1 = 1.0
            bc2 = 1.0
            bc2_sqrt = 1.0
        root = oid == ADAM and hp[adam.EPS_ROOT] != 0.0  # ε under the root: the 004 notes'
        step_size = lr / bc1
        if bc2_sqrt < 0.0:
            bc2_sqrt = 1.0 if bc2 == 1.0 else bc2**half  # pow(1, y) = 1 exactly
        for i in range(d):  # st[0]: m, st[1]: v, st[2]: AMSGrad's maximum of v
            gi = g[i]
            m = ema(st[0, i], gi, beta1)
            st[0, i] = m
            v = ema_sq(st[1, i], gi, beta2)
            st[1, i] = v
            vh = v
            if amsgrad:
                vh = st[2, i]
                if v > vh:  # max(st[2, i], v), as max() picks (no overload to compile)
                    vh = v
                st[2, i] = vh
            if root:  # x ← x − η/(1 − β₁ᵗ) · m / √(v̂/(1 − β₂ᵗ) + ε)
                x[i] = x[i] + (-step_size) * m / math.sqrt(vh / bc2 + eps)
                continue
            r = math.sqrt(vh)
            if bc2_sqrt != 1.0:  # r / 1.0 is r (every bit): no division once bc2 is 1
                r = r / bc2_sqrt
            x[i] = x[i] + (-step_size) * m / (r + eps)
    elif oid == NADAM:
        beta1 = hp[adam.BETA_1]
        beta2 = hp[adam.BETA_2]
        eps = hp[adam.EPS]
        momentum_decay = hp[adam.MOMENTUM_DECAY]
        if t == 0:
            sc[1] = 1.0  # mu_product
        if ts + 1 < bt.shape[1] and bt[0, 0] == beta1 and bt[2, 0] == momentum_decay:
            mu = bt[0, ts]  # the table's μ (adam._nadam_table: the same pow(), no call here)
            mu_next = bt[0, ts + 1]
        else:
            mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
            mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1.0) * momentum_decay)))
        mu_product = sc[1] * mu
        if mu_product < POW_FLOOR:
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
            m = ema(st[0, i], gi, beta1)
            st[0, i] = m
            v = ema_sq(st[1, i], gi, beta2)
            st[1, i] = v
            denom = math.sqrt(v / bc2) + eps
            xi = x[i] + c1 * gi / denom
            x[i] = xi + c2 * m / denom
    elif oid == RADAM:
        beta1 = hp[adam.BETA_1]
        beta2 = hp[adam.BETA_2]
        eps = hp[adam.EPS]
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
            m = ema(st[0, i], gi, beta1)
            st[0, i] = m
            v = ema_sq(st[1, i], gi, beta2)
            st[1, i] = v
            mhat = m / bc1
            if rho_t > 5.0:
                # torch: float / tensor is tensor.reciprocal() * float
                adaptive_ = (1.0 / (math.sqrt(v) + eps)) * (bc2**half)
                x[i] = x[i] + (-1.0) * (mhat * lr * adaptive_ * rect)
            else:
                x[i] = x[i] + (-1.0) * (mhat * lr)
    elif oid == ADAMAX:
        beta1 = hp[adam.BETA_1]
        beta2 = hp[adam.BETA_2]
        eps = hp[adam.EPS]
        clr = lr / bc1
        for i in range(d):  # st[0]: m, st[1]: the infinity norm u
            gi = g[i]
            m = ema(st[0, i], gi, beta1)
            st[0, i] = m
            u = st[1, i] * beta2
            ag = abs(gi) + eps
            if ag > u:  # max(β₂·u, |g| + ε), as max() picks (NaN: the first)
                u = ag
            st[1, i] = u
            x[i] = x[i] + (-clr) * m / u
    elif oid == RPROP:
        # hp's lr is the initial step size; the schedule scales the steps by lr_t/lr
        eta_minus = hp[rprop.ETA_MINUS]
        eta_plus = hp[rprop.ETA_PLUS]
        step_min = hp[rprop.STEP_MIN]
        step_max = hp[rprop.STEP_MAX]
        lr0 = hp[rprop.LR]
        scale = lr / lr0 if lr0 != 0.0 else 1.0
        if t == 0:
            for i in range(d):
                st[0, i] = 0.0  # the previous gradient
                st[1, i] = lr0  # the step sizes Δ
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
            x[i] = x[i] + (-1.0) * sign(gi) * (ss * scale)
            st[0, i] = gi
    elif oid == LION:
        beta1 = hp[lion.BETA1]
        beta2 = hp[lion.BETA2]
        for i in range(d):  # st[0]: the momentum m
            c = mix(st[0, i], g[i], beta1)
            x[i] = x[i] + (-lr) * sign(c)
            st[0, i] = mix(st[0, i], g[i], beta2)


_NO_TABLE = np.full((3, 1), np.nan)
_NO_TABLE.flags.writeable = False


def bias_table(oid: int, hp: np.ndarray, length: int) -> np.ndarray:
    """The bias corrections of updates 1 .. length − 1 of optimizer ``oid`` with packed
    hyperparameters ``hp``, made ahead so the kernel reads them instead of calling
    pow() (~40 ns each here, most of an Adam step while β₂ᵗ is not yet negligible:
    ~41,000 steps for β₂ = 0.999); a (3, length) array, NaN rows where none (see
    engine.optimizers.adam._bias_table). Tables are shared (cached, read-only)."""
    make = get_optimizer_by_id(oid).bias_table
    return _NO_TABLE if make is None else make(hp, max(int(length), 1))


def get_optimizer(name: str) -> Optimizer:
    """The optimizer called ``name`` (KeyError naming the valid ones otherwise)."""
    try:
        return OPTIMIZERS[name]
    except KeyError:
        raise KeyError(
            f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}"
        ) from None


_BY_ID = tuple(OPTIMIZERS.values())


def get_optimizer_by_id(oid: int) -> Optimizer:
    """The optimizer of kernel id ``oid``."""
    return _BY_ID[oid]


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
    the previous update was Δ = x0 − x_prev, so v = −Δ/η in gradient units (η = the
    racer's lr) or v = Δ in units of x. The spec's ``velocity_flag`` (sgd: torch's
    buffer exists) makes the first update b ← μ·b + (1 − τ)·g. Returns False (nothing
    set) when neither is given or the optimizer has no velocity.
    """
    opt = get_optimizer(name)
    if not opt.velocity or (v0 is None and x_prev is None):
        return False
    if v0 is not None:
        v = np.asarray(v0, dtype=np.float64)
    else:
        dx = np.asarray(x0, dtype=np.float64) - np.asarray(x_prev, dtype=np.float64)
        v = dx if opt.velocity_units == "x" else -dx / float(params["lr"])
    st[opt.momentum_slot] = v
    if opt.velocity_flag >= 0:
        sc[opt.velocity_flag] = 1.0
    return True
