"""Every trajectory the engine makes stays the same bits across redesigns of its code.

A fingerprint (SHA-256 over every recorded row: points, losses, gradient norms, rates,
counts and how each run ended) of races that together use every optimizer (defaults and
the switches that change its arithmetic) on three landscapes, without and with gradient
noise, and of a perceptron race with every optimizer. The recorded fingerprints live in
tests/data/trajectory_fingerprints.json, keyed by the host CPU numba compiles for: the
perceptron's vectorised sums depend on the CPU's vector width, so another CPU may round
differently and has fingerprints of its own (recorded there with
``GA_RECORD_FINGERPRINTS=1 python -m pytest tests/test_trajectory_fingerprints.py``;
record only from code whose trajectories are known to be right).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from engine.optimizers import OPTIMIZERS
from engine.race import Race
from engine.scenario import build_race, loads_scenario

DATA = Path(__file__).parent / "data" / "trajectory_fingerprints.json"
STEPS = 300

#: the optimizers the recorded races hold; one added later races in the case "added"
#: (its own fingerprint), so that the recorded races keep their bits
RECORDED = (
    "adadelta", "adagrad", "adam", "adamax", "adamw", "momentum", "nadam", "nag", "newton",
    "radam", "random_search", "rmsprop", "rprop", "sgd",
)  # fmt: skip
ADDED = sorted(set(OPTIMIZERS) - set(RECORDED))

#: racers beyond each optimizer's defaults: every switch that changes the arithmetic
VARIANTS = [
    ("sgd", {"lr": 0.001, "momentum": 0.9}, ""),
    ("sgd", {"lr": 0.001, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}, ""),
    ("sgd", {"lr": 0.001, "momentum": 0.5, "dampening": 0.3}, ""),
    ("sgd", {"lr": 0.002}, 'schedule = { name = "cosine", T = 300, warmup = 20 }'),
    ("sgd", {"lr": 0.001, "momentum": 0.9}, "v0 = [0.5, -0.25]"),
    ("momentum", {"lr": 0.01, "momentum": 0.8}, "x_prev = [-1.4, 1.9]"),
    ("nag", {"lr": 0.0005, "momentum": 0.95}, 'schedule = { name = "step", step_size = 50 }'),
    ("adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.001}, ""),
    ("rmsprop", {"lr": 0.005, "centered": True, "momentum": 0.5}, ""),
    ("adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.01}, ""),
    ("adam", {"lr": 0.01, "bias_correction": False}, ""),
    ("adamw", {"lr": 0.01, "amsgrad": True}, ""),
    ("nadam", {"lr": 0.01, "decoupled_weight_decay": True, "weight_decay": 0.01}, ""),
    ("radam", {"lr": 0.01, "decoupled_weight_decay": True, "weight_decay": 0.01}, ""),
    ("adamax", {"lr": 0.01, "weight_decay": 0.01}, ""),
    ("rprop", {"lr": 0.001, "step_max": 1.0}, ""),
    ("newton", {"lr": 0.5, "saddle_free": False}, ""),
    ("random_search", {"lr": 0.001, "directions": 3, "normalize": True}, ""),
    ("random_search", {"lr": 0.0001, "sign": 1}, ""),
]

#: the added optimizers' racers beyond their defaults (the case "added")
ADDED_VARIANTS = [
    ("lion", {"lr": 0.01, "beta1": 0.5, "weight_decay": 0.1}, ""),
]

LANDSCAPES = {
    "rosenbrock": ("", (-1.5, 2.0)),
    "quadratic": ("params = { lambda1 = 2.0, lambda2 = 100.0 }", (4.0, 0.5)),
    "himmelblau": ("", (-0.5, 0.5)),
}


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v)


def _racers(dim: int, added: bool = False) -> str:
    out = []
    if added:
        entries = [(name, {}, "") for name in ADDED] + ADDED_VARIANTS
    else:
        entries = [(name, {}, "") for name in RECORDED] + VARIANTS
    for k, (name, params, extra) in enumerate(entries):
        if dim != 2 and ("v0" in extra or "x_prev" in extra):
            continue
        ps = ", ".join(f"{key} = {_toml_value(v)}" for key, v in params.items())
        out.append(f'[[optimizers]]\nname = "{name}"\nlabel = "r{k}"\nparams = {{ {ps} }}\n')
        if extra:
            out.append(extra + "\n")
    return "\n".join(out)


def _landscape_race(name: str, noise: float, added: bool = False) -> Race:
    params, start = LANDSCAPES[name]
    text = (
        f'schema = 1\nname = "fingerprint"\nsteps = {STEPS}\nseed = 7\n\n'
        f'[objective]\nkind = "landscape"\nname = "{name}"\n{params}\n'
        f"start = [{start[0]}, {start[1]}]\ngrad_noise = {noise}\n\n" + _racers(2, added)
    )
    return build_race(loads_scenario(text))


def _perceptron_race() -> Race:
    text = (
        'schema = 1\nname = "fingerprint"\nseed = 3\n\n[objective]\nkind = "perceptron"\n'
        'data = { kind = "blobs", n = 400, separation = 3.0, spread = 1.0, balance = 0.4 }\n'
        "batch_size = 16\nepochs = 3\nvalidation_fraction = 0.2\nstart = [0.5, -0.5, 0.1]\n\n"
        + _racers(3)
    )
    return build_race(loads_scenario(text))


def digest(race: Race) -> str:
    """SHA-256 of every racer's recorded rows and how its run ended."""
    h = hashlib.sha256()
    for i in range(len(race.racers)):
        n = int(race.count[i])
        h.update(np.int64([n, int(race.t[i]), int(race.status[i])]).tobytes())
        for arr in (race.xs[i, :n], race.loss[i, :n], race.gnorm[i, :n], race.lrs[i, :n]):
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update(np.ascontiguousarray(race.X[i]).tobytes())
    return h.hexdigest()


def fingerprint(race: Race) -> str:
    race.run()
    return digest(race)


CASES = [f"{name}-noise{noise}" for name in LANDSCAPES for noise in (0.0, 0.3)] + ["perceptron"]
CASES += ["added"]


def _race_for(case: str) -> Race:
    if case == "perceptron":
        return _perceptron_race()
    if case == "added":
        return _landscape_race("rosenbrock", 0.3, added=True)
    name, noise = case.split("-noise")
    return _landscape_race(name, float(noise))


def _host() -> str:
    import llvmlite.binding as llvm

    return llvm.get_host_cpu_name()


def _recorded() -> dict[str, dict[str, str]]:
    return json.loads(DATA.read_text()) if DATA.exists() else {}


def test_the_races_cover_every_optimizer() -> None:
    race = _landscape_race("rosenbrock", 0.0)
    added = _landscape_race("rosenbrock", 0.0, added=True)
    assert {c.optimizer for c in race.racers} == set(RECORDED)
    assert {c.optimizer for c in added.racers} == set(ADDED)
    assert set(RECORDED) | set(ADDED) == set(OPTIMIZERS)
    assert len(race.racers) == len(RECORDED) + len(VARIANTS)
    assert len(_perceptron_race().racers) == len(RECORDED) + len(VARIANTS) - 2


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_trajectories_are_the_recorded_bits(case: str) -> None:
    got = fingerprint(_race_for(case))
    host = _host()
    if os.environ.get("GA_RECORD_FINGERPRINTS") == "1":
        rec = _recorded()
        rec.setdefault(host, {})[case] = got
        DATA.parent.mkdir(exist_ok=True)
        DATA.write_text(json.dumps(rec, indent=1, sort_keys=True) + "\n")
        return
    want = _recorded().get(host, {}).get(case)
    if want is None:
        pytest.skip(f"no fingerprints recorded for CPU {host!r} (see the module docstring)")
    assert got == want, f"{case}: the engine's trajectories changed on {host}"


def test_fingerprint_sees_one_bit() -> None:
    """A change in the last bit of one recorded loss changes the fingerprint."""
    race = _landscape_race("himmelblau", 0.0)
    a = fingerprint(race)
    race.loss[3, 10] = np.nextafter(race.loss[3, 10], np.inf)
    assert digest(race) != a
