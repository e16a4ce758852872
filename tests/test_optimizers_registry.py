"""The optimizer registry (engine.optimizers): one spec per optimizer drives the kernel
fields, the ids, ``main.py list``, the README table and the GUI's racer editor, so a
new optimizer (one module, one registry entry, one dispatcher line) appears everywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import engine.optimizers as optimizers
from engine.docs import optimizers_table
from engine.optimizers import OPTIMIZERS, bias_table, get_optimizer, opt_update, set_velocity
from engine.optimizers.spec import (
    EVAL_LOOKAHEAD,
    EVAL_NONE,
    EVAL_PAIRS,
    H_SIZE,
    HP_EVALS,
    HP_EXTRA,
    HP_HESSIAN,
    HP_PLAIN,
    HP_RHO,
    HP_ROW,
    HP_SPECIAL,
    K_STATE,
    S_STATE,
    slots,
)

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def test_ids_are_registry_positions_by_name() -> None:
    """The kernel's ids come from the registry order, each exported by name."""
    for k, (name, opt) in enumerate(OPTIMIZERS.items()):
        assert opt.oid == k and getattr(optimizers, name.upper()) == k, name
        assert get_optimizer(name) is opt


def test_slots_check_the_spec_order() -> None:
    params = OPTIMIZERS["adam"].params
    assert slots("lr beta1 beta2", params) == (0, 1, 2)
    assert slots("_ _ beta2", params, OPTIMIZERS["adamw"].params) == (0, 1, 2)
    with pytest.raises(RuntimeError, match="slot 1 is not 'beta2'"):
        slots("lr beta2", params)
    with pytest.raises(RuntimeError):
        slots("lr momentum", OPTIMIZERS["momentum"].params, OPTIMIZERS["sgd"].params[:1])


def test_kernel_fields_come_from_the_spec() -> None:
    """What the race kernel special-cases is packed from the spec after the
    hyperparameters: extra evaluations, look-ahead, special update, Hessian, fast path."""
    for name, opt in OPTIMIZERS.items():
        hp = opt.pack({})
        assert hp.shape == (H_SIZE,)
        want_extra = {"nag": 1, "random_search": 2}.get(name, 0)
        assert hp[HP_EXTRA] == want_extra, name
        want_evals = {"nag": EVAL_LOOKAHEAD, "random_search": EVAL_PAIRS}.get(name, EVAL_NONE)
        assert hp[HP_EVALS] == want_evals, name
        assert hp[HP_SPECIAL] == (name in ("newton", "random_search")), name
        assert hp[HP_HESSIAN] == (name == "newton"), name
        assert hp[HP_PLAIN] == (name == "sgd"), name
    rs = OPTIMIZERS["random_search"].pack({"directions": 5})
    assert rs[HP_EXTRA] == 10
    nag = OPTIMIZERS["nag"].pack({"momentum": 0.7})
    assert nag[HP_RHO] == 0.7 and nag[HP_ROW] == OPTIMIZERS["nag"].momentum_slot
    sgd = OPTIMIZERS["sgd"]
    assert not sgd.pack({"momentum": 0.5})[HP_PLAIN]
    assert not sgd.pack({"weight_decay": 0.1})[HP_PLAIN]


def test_momentum_arrow_and_velocity_units() -> None:
    """The window's momentum arrow: the spec's state row along the update, times the rate
    for a velocity in gradient units (sgd, momentum); nag's v is a step already."""
    st = np.zeros((K_STATE, 2))
    st[0] = (1.0, -2.0)
    st[2] = (3.0, 4.0)
    assert OPTIMIZERS["sgd"].arrow(st, 0.1).tolist() == [-0.1, 0.2]
    assert OPTIMIZERS["momentum"].arrow(st, 0.1).tolist() == [-0.1, 0.2]
    assert OPTIMIZERS["nag"].arrow(st, 0.1).tolist() == [1.0, -2.0]
    assert OPTIMIZERS["adam"].arrow(st, 0.1).tolist() == [-1.0, 2.0]
    assert OPTIMIZERS["rmsprop"].arrow(st, 0.1).tolist() == [-3.0, -4.0]
    for name in ("adagrad", "rprop", "newton", "random_search"):
        assert OPTIMIZERS[name].arrow(st, 0.1) is None, name
    # a velocity given as the point before the start: v = −Δ/η, or Δ in units of x
    for name, want in (("sgd", [-10.0, 20.0]), ("momentum", [-10.0, 20.0]), ("nag", [1.0, -2.0])):
        st, sc = np.zeros((K_STATE, 2)), np.zeros(S_STATE)
        assert set_velocity(name, {"lr": 0.1}, st, sc, np.array([1.0, -2.0]), x_prev=[0.0, 0.0])
        assert st[0].tolist() == want, name
        assert sc[0] == (1.0 if name == "sgd" else 0.0)
    assert not set_velocity("adam", {"lr": 0.1}, st, sc, np.zeros(2), v0=[1.0, 1.0])


def test_bias_tables_by_spec() -> None:
    for name, opt in OPTIMIZERS.items():
        tab = bias_table(opt.oid, opt.pack({}), 100)
        has = name in ("adam", "adamw", "nadam", "adamax")
        assert (tab.shape == (3, 100)) == has, name
        assert has or np.isnan(tab).all(), name


def test_every_update_moves_and_keeps_its_state_shape() -> None:
    """opt_update serves every optimizer not made by the kernel's special_step."""
    for name, opt in OPTIMIZERS.items():
        if opt.special:
            continue
        x = np.array([0.5, -0.5])
        st, sc = np.zeros((K_STATE, 2)), np.zeros(S_STATE)
        hp = opt.pack({})
        opt_update(opt.oid, hp, st, sc, bias_table(opt.oid, hp, 10), x, np.array([1.0, 2.0]),
                   float(hp[0]), 0)  # fmt: skip
        assert x.tolist() != [0.5, -0.5], name


# ------------------------------------------------------------------ appears everywhere
def test_list_shows_every_optimizer() -> None:
    run = [sys.executable, "main.py", "list"]
    text = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for name, opt in OPTIMIZERS.items():
        assert f"  {name}: {opt.title}\n" in text, name
    out = subprocess.run([*run, "--json"], cwd=ROOT, capture_output=True, text=True, check=True)
    doc = json.loads(out.stdout)
    assert [o["name"] for o in doc["optimizers"]] == list(OPTIMIZERS)
    for o in doc["optimizers"]:
        assert [p["name"] for p in o["params"]] == [p.name for p in OPTIMIZERS[o["name"]].params]


def test_readme_table_has_every_optimizer() -> None:
    table = optimizers_table()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, opt in OPTIMIZERS.items():
        ref = f"torch.optim.{opt.torch}" if opt.torch else opt.reference
        assert f"| `{name}` | {opt.title}<br><sub>checked against {ref}</sub>" in table, name
        assert f"| `{name}` |" in readme, f"{name}: run python3 -m engine.docs README.md"


@pytest.mark.gui
def test_racer_editor_offers_every_optimizer(qtbot) -> None:  # type: ignore[no-untyped-def]
    from engine.race import RacerConfig
    from gui.racers import RacerEditor

    for name in OPTIMIZERS:
        ed = RacerEditor(RacerConfig(name))
        qtbot.addWidget(ed)
        box = ed.opt_box
        assert [box.itemText(k) for k in range(box.count())] == list(OPTIMIZERS)
        assert box.currentText() == name


@pytest.mark.gui
def test_step_arrows_show_the_momentum_of_the_spec(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    """The window's step arrows: −η·∇f, the last step and, where the optimizer's spec has
    one (Optimizer.arrow), its momentum; each non-zero one drawn as 3 strokes (6 points)."""
    race = window.race
    for _ in range(3):
        window.step_action.trigger()
        assert window.runner.wait_idle()
    counts = [int(c) for c in race.count]
    assert min(counts) == 4
    window.landscape.show_step_arrows(race, counts)
    momenta = 0
    for i, cfg in enumerate(race.racers):
        head, lr = race.xs[i, 3], race.lrs[i, 3]
        vecs = [-lr * race.objective.gradient(head), head - race.xs[i, 2]]
        momentum = get_optimizer(cfg.optimizer).arrow(race.st[i], lr)
        if momentum is not None:
            vecs.append(momentum)
            momenta += bool(np.any(momentum != 0.0))
        drawn = sum(6 for v in vecs if np.hypot(*v[:2]) > 0)
        assert window.landscape.arrows[i].xData.size == drawn, cfg.optimizer
    assert momenta >= 3  # Adam, NAG, Momentum (RMSProp's buffer is off by default)
