"""What an optimizer is to the rest of the program: its spec (:class:`Optimizer`).

A spec is plain data: the hyperparameters (``ParamSpec``: defaults, ranges, symbols),
the equations and description shown in the GUI, ``main.py list`` and the README, and
what the race kernel and the window must know about it (extra objective evaluations,
a Hessian, a velocity). Its update is its branch of engine.optimizers.opt_update (or,
for a ``special`` one, of engine.kernel.special_step).

The kernel reads a racer's hyperparameters from a float64 vector ``hp`` packed in spec
order (slots ``0 .. H_PARAMS − 1``), followed by the kernel fields ``HP_*`` packed
from the spec here, so the kernel tests a racer's fields, not optimizer names.
Updates name their slots with :func:`slots` (checked against the spec at import).
"""

from __future__ import annotations

import functools
import operator
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from engine.params import ParamError, ParamSpec, resolve, updated

K_STATE = 4  # state vectors per racer
S_STATE = 4  # scalar state slots per racer
H_PARAMS = 8  # hyperparameter slots per racer (spec order)

# the kernel fields of hp, after the hyperparameters (Optimizer.pack)
HP_EXTRA = H_PARAMS  # objective evaluations per update besides the recorded one
HP_EVALS = H_PARAMS + 1  # what they are: EVAL_NONE, EVAL_LOOKAHEAD or EVAL_PAIRS
HP_RHO = H_PARAMS + 2  # look-ahead: the gradient is taken at x + ρ·st[HP_ROW]
HP_ROW = H_PARAMS + 3
HP_SPECIAL = H_PARAMS + 4  # 1: engine.kernel.special_step makes the update
HP_HESSIAN = H_PARAMS + 5  # 1: the update needs the Hessian at x
HP_PLAIN = H_PARAMS + 6  # 1: the update is exactly x ← x + (−lr)·g (the fast loop)
HP_MOMENTUM = H_PARAMS + 7  # 1 + the state row the momentum arrow reads (0: none)
H_SIZE = H_PARAMS + 8  # hp slots per racer

EVAL_NONE = 0
EVAL_LOOKAHEAD = 1  # one evaluation at x + ρ·v (nag)
EVAL_PAIRS = 2  # pairs at x ± δu, random directions u; the update uses no gradient


def slots(names: str, *lists: tuple[ParamSpec, ...]) -> tuple[int, ...]:
    """The hp slots of the space-separated ``names``: their positions in each of the
    spec ``lists`` given, which must agree (an update shared by several optimizers
    reads one slot per name). Raises at import when a spec and its update disagree."""
    want = names.split()
    for params in lists:
        have = [p.name for p in params]
        for k, name in enumerate(want):
            if name != "_" and (k >= len(have) or have[k] != name):
                raise RuntimeError(f"hyperparameter slot {k} is not {name!r} in {have}")
    return tuple(range(len(want)))


@dataclass(frozen=True)
class Optimizer:
    """One optimizer: its name, hyperparameters, equations and what the kernel and the
    window need to know. ``oid`` is its kernel id, given by the registry
    (engine.optimizers.OPTIMIZERS: its position there)."""

    name: str
    title: str
    params: tuple[ParamSpec, ...]
    equations: str
    description: str = ""
    oid: int = -1
    torch: str | None = None  # torch.optim class with the same algorithm, if any
    #: torch keyword arguments made of several of ours, e.g. ("betas", ("beta1", "beta2"))
    torch_pairs: tuple[tuple[str, tuple[str, ...]], ...] = ()
    reference: str = "lecture formulas"  # what the tests check it against without torch
    #: a rule across parameters: given the resolved parameters, None or what is wrong
    #: (the message starts with the parameter name, like every ParamError)
    rule: Callable[[dict[str, Any]], str | None] | None = None
    momentum_slot: int = -1  # state row holding a momentum/velocity vector (for overlays)
    velocity_sign: float = 1.0  # +1: the slot points along the update, -1: against it
    #: what a racer's initial velocity ``v0`` sets (state row 0) and in which units;
    #: "" for an optimizer without a velocity (v0 and x_prev do not apply)
    velocity: str = ""
    #: the units of that velocity: "gradient" (the step is −η·v) or "x" (the step is +v)
    velocity_units: str = ""
    velocity_flag: int = -1  # scalar slot set to 1 with a velocity (sgd: the buffer exists)
    #: its weight decay: "l2" (torch's weight_decay, g ← g + λ·x), "decoupled" (AdamW's
    #: x ← x·(1 − η·λ)) or "" (none); the hyperparameter is "weight_decay"
    decay: str = ""
    decay_switch: str = ""  # a bool hyperparameter that makes an "l2" decay decoupled
    lookahead: str = ""  # hyperparameter ρ: the gradient is taken at x + ρ·st[momentum_slot]
    pairs: str = ""  # hyperparameter N: 2N evaluations at x ± δu instead of the gradient
    special: bool = False  # the update is made by engine.kernel.special_step
    hessian: bool = False  # the update needs the Hessian at x
    #: given the resolved parameters: is the update exactly x ← x + (−lr)·g?
    plain: Callable[[dict[str, Any]], bool] | None = None
    #: the racer's table of bias corrections made ahead (packed hp, length), if any
    bias_table: Callable[[np.ndarray, int], np.ndarray] | None = None

    def resolve(self, given: dict[str, Any] | None) -> dict[str, Any]:
        """Defaults merged with ``given`` (raises ParamError on bad or unknown keys, or on a
        combination the algorithm does not define)."""
        p = resolve(self.params, given)
        if self.rule is not None:
            problem = self.rule(p)
            if problem:
                raise ParamError(problem)
        return p

    def updated(self, valid: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        """:meth:`resolve` of ``valid`` (a resolve result) with ``changes``: the changed
        values validated, and the rule across the parameters checked (ParamError)."""
        p = updated(self._by_name, valid, changes)
        if self.rule is not None:
            problem = self.rule(p)
            if problem:
                raise ParamError(problem)
        return p

    def extra_evals(self, p: dict[str, Any]) -> int:
        """Objective evaluations per update besides the recorded one (resolved ``p``)."""
        if self.lookahead:
            return 1
        if self.pairs:
            return 2 * int(p[self.pairs])
        return 0

    def pack(self, params: dict[str, Any]) -> np.ndarray:
        """Packed float64 vector for the kernel: the hyperparameters in spec order, then
        the kernel fields (``HP_*``). ``params`` are validated first (:meth:`resolve`)."""
        hp: np.ndarray = self.pack_resolved([self.resolve(params)])[0]
        return hp

    @functools.cached_property
    def _by_name(self) -> dict[str, ParamSpec]:
        return {spec.name: spec for spec in self.params}

    @functools.cached_property
    def _row(self) -> tuple[struct.Struct, Callable[[Mapping[str, Any]], tuple[Any, ...]]]:
        """The hyperparameters' float64 values in spec order as bytes (native order), and
        the function giving their values in that order."""
        names = [spec.name for spec in self.params]
        get: Callable[[Mapping[str, Any]], tuple[Any, ...]]
        if len(names) > 1:
            get = operator.itemgetter(*names)
        elif names:
            one = names[0]
            get = lambda p: (p[one],)  # noqa: E731
        else:
            get = lambda p: ()  # noqa: E731
        return struct.Struct(f"={len(names)}d"), get

    def hyper_bytes(self, p: Mapping[str, Any]) -> bytes:
        """The packed hyperparameters of resolved ``p`` (slots ``0 .. len(params) − 1`` of
        :meth:`pack`), float(v) of each as bytes: what a RacerConfig keeps of its
        validated parameters and a race packs (:meth:`pack_rows`)."""
        row, get = self._row
        return row.pack(*get(p))

    def pack_resolved(self, ps: Sequence[dict[str, Any]]) -> np.ndarray:
        """:meth:`pack` of each of ``ps`` at once, an (n, H_SIZE) array. Each must come
        from :meth:`resolve` of this optimizer: nothing is validated again (a race packs
        the parameters its RacerConfigs validated, see engine.race.validated_params)."""
        return self.pack_rows([self.hyper_bytes(p) for p in ps], ps)

    def pack_rows(self, rows: Sequence[bytes], ps: Sequence[dict[str, Any]]) -> np.ndarray:
        """:meth:`pack_resolved` of ``ps`` given ``rows``, their :meth:`hyper_bytes` (made
        before: a race has them from its RacerConfigs)."""
        n, m = len(rows), len(self.params)
        hp = np.zeros((n, H_SIZE))
        names = [spec.name for spec in self.params]
        if n and m:
            hp[:, :m] = np.frombuffer(b"".join(rows), np.float64).reshape(n, m)
        if self.lookahead:
            hp[:, HP_EXTRA] = 1.0  # extra_evals
            hp[:, HP_EVALS] = EVAL_LOOKAHEAD
            hp[:, HP_RHO] = hp[:, names.index(self.lookahead)]
            hp[:, HP_ROW] = self.momentum_slot
        elif self.pairs:
            hp[:, HP_EXTRA] = 2.0 * np.trunc(hp[:, names.index(self.pairs)])  # 2·int(N)
            hp[:, HP_EVALS] = EVAL_PAIRS
        hp[:, HP_SPECIAL] = self.special
        hp[:, HP_HESSIAN] = self.hessian
        hp[:, HP_MOMENTUM] = self.momentum_slot + 1  # -1 (none) packs as 0
        if self.plain is not None:
            hp[:, HP_PLAIN] = [bool(self.plain(p)) for p in ps]
        return hp

    def torch_kwargs(self, params: dict[str, Any]) -> dict[str, Any]:
        """Keyword arguments for the torch.optim class (tests and documentation)."""
        p = self.resolve(params)
        if p.pop("bias_correction", True) is False:
            raise ValueError(f"torch.optim.{self.torch} has no bias_correction = false")
        if p.pop("eps_in_sqrt", False) is True:
            raise ValueError(f"torch.optim.{self.torch} has no eps_in_sqrt = true")
        for key, names in self.torch_pairs:
            p[key] = tuple(p.pop(n) for n in names)
        return p

    def arrow(self, st: np.ndarray, lr: float) -> np.ndarray | None:
        """The momentum arrow the window draws at a racer's head (``st``: its state rows,
        ``lr``: its last rate): the row ``momentum_slot`` turned along the update, times
        the rate for a velocity in gradient units (a step of −η·v); None without one."""
        if self.momentum_slot < 0:
            return None
        v: np.ndarray = st[self.momentum_slot] * self.velocity_sign
        return v * lr if self.velocity_units == "gradient" else v


def registry(*specs: Optimizer) -> dict[str, Optimizer]:
    """The optimizers by name, each with its kernel id: its position in ``specs``."""
    out: dict[str, Optimizer] = {}
    for oid, spec in enumerate(specs):
        if spec.name in out or len(spec.params) > H_PARAMS:
            raise RuntimeError(f"optimizer {spec.name!r}: a second one, or too many parameters")
        if spec.decay and "weight_decay" not in {p.name for p in spec.params}:
            raise RuntimeError(f"optimizer {spec.name!r}: a decay needs weight_decay")
        if spec.lookahead and spec.momentum_slot < 0:
            raise RuntimeError(f"optimizer {spec.name!r}: a look-ahead needs a momentum slot")
        out[spec.name] = replace(spec, oid=oid)
    return out


# ---------------------------------------------------------------- shared parameters
def lr_param(default: float, doc: str = "learning rate η", symbol: str = "η") -> ParamSpec:
    return ParamSpec("lr", default, doc, lo=0.0, hi=1e6, lo_open=True, log=True, symbol=symbol)


def eps_param(default: float) -> ParamSpec:
    return ParamSpec(
        "eps",
        default,
        "ε, added to the denominator for numerical stability",
        lo=0.0,
        hi=1.0,
        lo_open=True,
        log=True,
        symbol="ε",
    )


#: ε under the root (the lecture notes' form) instead of after it (torch's)
EPS_IN_SQRT = ParamSpec(
    "eps_in_sqrt",
    False,
    "put ε under the square root, √(G + ε) (the notes' form), not after it, √G + ε (torch's)",
    kind="bool",
)
WEIGHT_DECAY = ParamSpec(
    "weight_decay", 0.0, "L2 penalty λ added to the gradient", lo=0.0, symbol="λ"
)
DECOUPLED_WEIGHT_DECAY = ParamSpec(
    "weight_decay", 0.01, "decoupled weight decay λ", lo=0.0, symbol="λ"
)
BETA1 = ParamSpec(
    "beta1", 0.9, "decay of the first-moment average", lo=0.0, hi=1.0, hi_open=True, symbol="β₁"
)
BETA2 = ParamSpec(
    "beta2", 0.999, "decay of the second-moment average", lo=0.0, hi=1.0, hi_open=True, symbol="β₂"
)
