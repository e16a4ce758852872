"""What ``python main.py inspect SCENARIO [--at X Y] [--json]`` prints: the landscape,
its critical points in the view with their types, the local quadratic model at a point,
and for a quadratic the theory table per racer (predicted against measured, after
running the scenario).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.theory.local import critical_points, local_model, scale_of
from engine.theory.runs import landscape_figures, race_quadratic, race_theory


class InspectError(Exception):
    """The scenario cannot be inspected (the message says why)."""


def view_box(scenario: Any, landscape: Any) -> tuple[float, float, float, float]:
    """The scenario's view box (each range the landscape's where the file gives none)."""
    v = scenario.view
    xr = v.x_range if v.x_range is not None else landscape.view[:2]
    yr = v.y_range if v.y_range is not None else landscape.view[2:]
    return (float(xr[0]), float(xr[1]), float(yr[0]), float(yr[1]))


def inspect(scenario: Any, at: tuple[float, float] | None = None) -> dict[str, Any]:
    """The report as plain data. Runs the scenario when its landscape is a quadratic.
    InspectError for an objective without a landscape (a perceptron)."""
    from engine.scenario import build_race
    from engine.scenario.build import landscape_of

    if scenario.objective.kind != "landscape":
        raise InspectError(
            f"inspect needs a 2-D landscape, and this is a {scenario.objective.kind} race "
            "(its loss is over (w1, w2, b) and a data set: there is no landscape to inspect)"
        )
    ls = landscape_of(scenario)
    race = build_race(scenario)
    obj = race.objective
    box = view_box(scenario, ls)
    scale = scale_of(obj.lid, obj.packed, box)
    report: dict[str, Any] = {
        "scenario": scenario.name,
        "landscape": {
            "name": ls.name,
            "title": ls.title,
            "formula": ls.formula,
            "params": dict(getattr(obj, "params", {})),
            "view": list(box),
        },
        "scale": {"curvature": scale.curvature, "gradient": scale.gradient},
        "critical_points": [
            {"point": list(c.point), "f": c.f, "kind": c.kind, "eigenvalues": list(c.eigenvalues)}
            for c in critical_points(obj.lid, obj.packed, box, scale)
        ],
    }
    if at is not None:
        report["at"] = local_model(obj.lid, obj.packed, at[0], at[1], scale).as_dict()
    q = race_quadratic(race)
    if q is not None:
        report["quadratic"] = landscape_figures(q)
        race.run()
        blocks = race_theory(race) or []
        report["racers"] = [
            {"label": c.label, "optimizer": c.optimizer, "steps": race.steps, **b}
            for c, b in zip(race.racers, blocks, strict=True)
        ]
    return report


def _num(v: Any, digits: int = 6) -> str:
    if v is None:
        return "—"
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return f"{float(v) + 0.0:.{digits}g}"  # + 0.0: a negative zero prints as 0


def _param(v: Any) -> str:
    """A parameter's value: a number, a list of numbers or anything else as text."""
    if isinstance(v, bool) or not isinstance(v, int | float | list | tuple):
        return str(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_param(u) for u in v) + "]"
    return _num(v)


def _vec(v: Any) -> str:
    return "(" + ", ".join(_num(u) for u in v) + ")"


def _poly(c: dict[str, float]) -> str:
    """c + c_x·x + ... with signs (zero terms left out)."""
    terms = [
        (c["1"], ""),
        (c["x"], "·x"),
        (c["y"], "·y"),
        (c["x^2"], "·x²"),
        (c["xy"], "·x·y"),
        (c["y^2"], "·y²"),
    ]
    out = ""
    for v, name in terms:
        if v == 0.0 and (name or out):
            continue
        sign = "−" if v < 0 else "+"
        out += (f" {sign} " if out else ("−" if v < 0 else "")) + _num(abs(v)) + name
    return out or "0"


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[k]) for r in [header, *rows]) for k in range(len(header))]
    out = []
    for r in [header, tuple("-" * w for w in widths), *rows]:
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return out


def inspect_text(report: dict[str, Any]) -> str:
    """The report as the command line prints it."""
    ls = report["landscape"]
    x0, x1, y0, y1 = ls["view"]
    lines = [
        f"{report['scenario']}",
        f"landscape: {ls['title']} ({ls['name']})",
        f"  {ls['formula']}",
        f"  view x in [{x0:g}, {x1:g}], y in [{y0:g}, {y1:g}]",
    ]
    if ls["params"]:
        lines.append("  " + ", ".join(f"{k} = {_param(v)}" for k, v in ls["params"].items()))
    cps = report["critical_points"]
    lines += ["", f"critical points in the view: {len(cps)}"]
    rows: list[tuple[str, ...]] = [
        (c["kind"], _vec(c["point"]), _num(c["f"]), _vec(c["eigenvalues"])) for c in cps
    ]
    lines += ["  " + s for s in _table(("type", "point", "f", "Hessian eigenvalues"), rows)]
    if "at" in report:
        m = report["at"]
        lines += [
            "",
            f"local quadratic model at {_vec(m['point'])}:",
            f"  f = {_num(m['f'], 10)}",
            f"  ∇f = {_vec(m['grad'])}   |∇f| = {_num(m['grad_norm'])}"
            + ("   (a critical point)" if m["critical"] else ""),
            f"  H = [{_vec(m['hessian'][0])}, {_vec(m['hessian'][1])}]",
            f"  eigenvalues {_vec(m['eigenvalues'])}: {m['kind']}",
        ]
        if m["newton_step"] is None:
            lines.append("  Newton step: none (H is degenerate)")
        else:
            lines.append(
                f"  Newton step −H⁻¹∇f = {_vec(m['newton_step'])} → {_vec(m['newton_point'])}"
            )
        lines.append("  model m(x, y) = " + _poly(m["taylor"]["expanded"]))
    q = report.get("quadratic")
    if q is not None:
        lines += [
            "",
            "quadratic: f = f* + ½ (x − c)ᵀ A (x − c)",
            f"  λ = {_vec(q['lambda'])}, eigenvectors {_vec(q['eigenvectors'][0])}, "
            f"{_vec(q['eigenvectors'][1])}",
            f"  κ = {_num(q['kappa'])}, 2/λmax = {_num(q['lr_max_stable'])}, "
            f"η* = 2/(λmin + λmax) = {_num(q['lr_optimal'])} "
            f"(rate (κ − 1)/(κ + 1) = {_num(q['rate_at_lr_optimal'])})",
        ]
        d = q["distill_optimum"]
        if d is not None:
            lines.append(
                f"  heavy ball (Distill): η = {_num(d['lr'])}, ρ = {_num(d['momentum'])}"
                f", rate √ρ = {_num(d['rate'])}"
            )
        racers = report.get("racers", [])
        steps = racers[0]["steps"] if racers else 0
        lines += [
            "",
            f"per racer, after {steps} steps (rate: per-step contraction of |x − x*|;"
            " the loss gap contracts at its square):",
        ]
        rows = []
        for r in racers:
            rel = r["relative_difference"]
            rows.append(
                (
                    r["label"],
                    r["method"] or "—",
                    _num(r["predicted_rate"]),
                    _num(r["measured_rate"]),
                    "—"
                    if rel is None
                    else f"{rel * 100 + 0.0:+.3f} %".replace("-0.000", "0.000").replace(
                        "+0.000", "0.000"
                    ),
                    r["agreement"] if r["covered"] else r["reason"],
                )
            )
        header = ("racer", "method", "predicted", "measured", "difference", "agree (< 1 %)")
        lines += ["  " + s for s in _table(header, rows)]
    return "\n".join(lines)


def json_ready(v: Any) -> Any:
    """``v`` with numpy scalars as Python numbers and non-finite floats as strings."""
    if isinstance(v, dict):
        return {str(k): json_ready(u) for k, u in v.items()}
    if isinstance(v, list | tuple):
        return [json_ready(u) for u in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v
