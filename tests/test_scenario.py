"""Scenario files: loading, validation messages, round trips and robustness."""

from __future__ import annotations

import copy
import math
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.scenario import (
    MAX_FILE_BYTES,
    Problem,
    Scenario,
    ScenarioError,
    build_race,
    dumps_scenario,
    load_scenario,
    loads_scenario,
    save_scenario,
    scenario_from_dict,
    scenario_to_dict,
)

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))

GOOD = """\
schema = 1
name = "Rosenbrock race"
description = "What to notice: ..."
steps = 200
seed = 0
tolerance = { loss = 1e-6, grad = 1e-6 }

[objective]
kind = "landscape"
name = "rosenbrock"
params = { a = 1.0, b = 100.0 }
start = [-1.5, 2.0]
grad_noise = 0.0

[view]
x_range = [-2.0, 2.0]
y_range = [-1.0, 3.0]
levels = 15
log_color = true

[[optimizers]]
name = "adam"
label = "Adam"
color = "#0072B2"
enabled = true
params = { lr = 0.01, beta1 = 0.9, beta2 = 0.999 }
schedule = { name = "cosine", T = 2000, warmup = 10 }

[[optimizers]]
name = "sgd"
start = [0.5, 0.5]
params = { lr = 0.001 }
"""


def problems(text: str, source: str = "rosen.toml") -> list[Problem]:
    with pytest.raises(ScenarioError) as ei:
        loads_scenario(text, source=source)
    return ei.value.problems


# ---------------------------------------------------------------- the library
def test_library_is_there() -> None:
    names = {p.name for p in SCENARIOS}
    assert {
        "rosenbrock_race.toml",
        "ravine_gd_momentum_adam.toml",
        "himmelblau_four_minima.toml",
        "noisy_sgd.toml",
    } <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_library_scenario_runs_to_the_end(path: Path) -> None:
    s = load_scenario(path)
    assert s.source == path
    assert s.description.strip(), "every scenario says what to notice"
    assert len({r.label for r in s.racers}) == len(s.racers), "labels are distinct"
    race = build_race(s)
    race.run()
    assert race.done
    for i, m in enumerate(race.metrics()):
        if "(diverges)" not in m.label:  # the library's diverging racers say so
            assert m.diverged_step is None, f"{path.name}: {m.label} diverged"
        assert m.steps == s.steps
        assert race.trajectory(i).loss.shape[0] == s.steps + 1


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_library_scenario_round_trips(path: Path, tmp_path: Path) -> None:
    s = load_scenario(path)
    assert loads_scenario(dumps_scenario(s)) == s
    assert scenario_from_dict(scenario_to_dict(s)) == s
    save_scenario(s, tmp_path / "copy.toml")
    assert load_scenario(tmp_path / "copy.toml") == s
    assert [p.name for p in tmp_path.iterdir()] == ["copy.toml"], "no temp file left"


def test_build_race_steps_override() -> None:
    s = loads_scenario(GOOD)
    race = build_race(s, steps=7)
    race.run()
    assert [race.trajectory(i).loss.shape[0] for i in range(2)] == [8, 8]
    assert race.trajectory(1).x[0].tolist() == [0.5, 0.5]  # per-racer start
    assert race.trajectory(0).x[0].tolist() == [-1.5, 2.0]
    for bad in (0, -1, 10_000_001, 2.5, True):
        with pytest.raises(ScenarioError, match="steps"):
            build_race(s, steps=bad)  # type: ignore[arg-type]
    # the race owns copies: editing it leaves the scenario alone
    race.set_params(0, {"lr": 0.5})
    assert s.racers[0].params["lr"] == 0.01


# ---------------------------------------------------------------- good input
def test_good_scenario_fields() -> None:
    s = loads_scenario(GOOD)
    assert isinstance(s, Scenario)
    assert (s.schema, s.name, s.steps, s.seed) == (1, "Rosenbrock race", 200, 0)
    assert s.objective.name == "rosenbrock" and s.objective.start == (-1.5, 2.0)
    assert s.view.x_range == (-2.0, 2.0) and s.view.levels == 15 and s.view.log_color is True
    adam, sgd = s.racers
    assert adam.label == "Adam" and adam.color == "#0072B2"
    assert adam.params["beta2"] == 0.999 and adam.params["eps"] == 1e-8  # defaults filled
    assert adam.schedule == "cosine" and adam.schedule_params["T"] == 2000
    assert adam.schedule_params["warmup"] == 10
    assert sgd.label == "sgd" and sgd.schedule == "constant" and sgd.start == (0.5, 0.5)


def test_minimal_scenario_uses_defaults() -> None:
    s = loads_scenario(
        'name = "m"\n[objective]\nname = "himmelblau"\n[[optimizers]]\nname = "sgd"\n'
    )
    assert s.steps == 1000 and s.seed == 0 and s.schema == 1
    assert s.objective.start == (0.0, 0.0)  # the landscape's own start
    assert loads_scenario(dumps_scenario(s)) == s


def test_schedule_as_bare_name_and_bom() -> None:
    text = "\ufeff" + GOOD.replace('{ name = "cosine", T = 2000, warmup = 10 }', '"linear"')
    s = loads_scenario(text)
    assert s.racers[0].schedule == "linear"


def test_awkward_strings_round_trip() -> None:
    s = loads_scenario(GOOD)
    s.name = 'quote " backslash \\ tab \t ctrl \x01 del \x7f "" """ end'
    s.description = 'line one\nline "two" with """ and \\ \r\n\ttabbed\n'
    s.racers[0].label = "λ, ünïcödé = 'x' # not a comment"
    assert loads_scenario(dumps_scenario(s)) == s


# ---------------------------------------------------------------- bad input
def _set(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


BAD: list[tuple[str, str, str, str]] = [
    # (id, text, key path, words the message must contain)
    ("beta1=1", _set(GOOD, "beta1 = 0.9", "beta1 = 1.0"), "optimizers[0].params.beta1",
     "expected a finite number in [0, 1), got 1.0"),
    ("lr=inf", _set(GOOD, "lr = 0.01", "lr = inf"), "optimizers[0].params.lr", "got inf"),
    ("lr=nan", _set(GOOD, "lr = 0.01", "lr = nan"), "optimizers[0].params.lr", "got nan"),
    ("lr=-1", _set(GOOD, "lr = 0.001", "lr = -1"), "optimizers[1].params.lr", "(0, 1e+06]"),
    ("lr=str", _set(GOOD, "lr = 0.01", 'lr = "fast"'), "optimizers[0].params.lr",
     "expected a finite number in (0, 1e+06], got \"fast\""),
    ("unknown param", _set(GOOD, "beta2 = 0.999", "betta2 = 0.999"),
     "optimizers[0].params.betta2", "did you mean 'beta2'"),
    ("unknown optimizer", _set(GOOD, 'name = "adam"', 'name = "adamm"'), "optimizers[0].name",
     "did you mean 'adam'"),
    ("unknown landscape", _set(GOOD, 'name = "rosenbrock"', 'name = "rosenbrok"'),
     "objective.name", "himmelblau"),
    ("unknown schedule", _set(GOOD, 'name = "cosine"', 'name = "cosin"'),
     "optimizers[0].schedule.name", "did you mean 'cosine'"),
    ("schedule param", _set(GOOD, "T = 2000", "T = 0"), "optimizers[0].schedule.T",
     "expected an integer in [1, inf)"),
    ("schedule unknown param", _set(GOOD, "T = 2000", "TT = 2000"),
     "optimizers[0].schedule.TT", "did you mean 'T'"),
    ("landscape param", _set(GOOD, "b = 100.0", "b = -1.0"), "objective.params.b", "got -1.0"),
    ("landscape unknown param", _set(GOOD, "b = 100.0", "c = 1.0"), "objective.params.c",
     "expected one of: a, b"),
    ("unknown key", _set(GOOD, "steps = 200", "stpes = 200"), "stpes", "did you mean 'steps'"),
    ("unknown racer key", _set(GOOD, "enabled = true", "enable = true"),
     "optimizers[0].enable", "did you mean 'enabled'"),
    ("steps=0", _set(GOOD, "steps = 200", "steps = 0"), "steps", "[1, 10000000], got 0"),
    ("steps huge", _set(GOOD, "steps = 200", "steps = 10_000_001"), "steps", "got 10000001"),
    ("steps float", _set(GOOD, "steps = 200", "steps = 200.0"), "steps", "got 200.0"),
    ("steps bool", _set(GOOD, "steps = 200", "steps = true"), "steps", "got true"),
    ("steps bigint", _set(GOOD, "steps = 200", "steps = " + "9" * 40), "steps", "digits"),
    ("seed<0", _set(GOOD, "seed = 0", "seed = -3"), "seed", "got -3"),
    ("schema", _set(GOOD, "schema = 1", "schema = 2"), "schema", "got 2"),
    ("start length", _set(GOOD, "start = [-1.5, 2.0]", "start = [-1.5, 2.0, 1.0]"),
     "objective.start", "got 3 entries"),
    ("racer start length", _set(GOOD, "start = [0.5, 0.5]", "start = [0.5]"),
     "optimizers[1].start", "got 1 entry"),
    ("start nan", _set(GOOD, "start = [-1.5, 2.0]", "start = [nan, 2.0]"), "objective.start[0]",
     "got nan"),
    ("noise inf", _set(GOOD, "grad_noise = 0.0", "grad_noise = inf"), "objective.grad_noise",
     "got inf"),
    ("noise<0", _set(GOOD, "grad_noise = 0.0", "grad_noise = -0.1"), "objective.grad_noise",
     "got -0.1"),
    ("kind", _set(GOOD, 'kind = "landscape"', 'kind = "perceptron"'), "objective.kind",
     "'landscape'"),
    ("tolerance", _set(GOOD, "loss = 1e-6", "loss = -1.0"), "tolerance.loss", ">= 0"),
    ("range order", _set(GOOD, "x_range = [-2.0, 2.0]", "x_range = [2.0, -2.0]"),
     "view.x_range", "min < max"),
    ("levels", _set(GOOD, "levels = 15", "levels = 0"), "view.levels", "got 0"),
    ("color", _set(GOOD, 'color = "#0072B2"', 'color = "blue"'), "optimizers[0].color",
     "'#rrggbb'"),
    ("enabled", _set(GOOD, "enabled = true", 'enabled = "yes"'), "optimizers[0].enabled",
     "true or false"),
    ("no optimizers", GOOD.split("[[optimizers]]")[0], "optimizers", "missing"),
    ("optimizers not array", GOOD.split("[[optimizers]]")[0] + '[optimizers]\nname = "sgd"\n',
     "optimizers", "array"),
    ("no objective name", _set(GOOD, 'name = "rosenbrock"\n', ""), "objective.name", "missing"),
    ("name empty", _set(GOOD, 'name = "Rosenbrock race"', 'name = ""'), "name", "non-empty"),
    ("schedule not table", _set(GOOD, '{ name = "cosine", T = 2000, warmup = 10 }', "3"),
     "optimizers[0].schedule", "expected a table"),
    ("multistep order", _set(GOOD, '{ name = "cosine", T = 2000, warmup = 10 }',
                             '{ name = "multistep", milestones = [200, 100] }'),
     "optimizers[0].schedule.milestones", "increasing"),
    ("date", _set(GOOD, "seed = 0", "seed = 1979-05-27"), "seed", "date"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "key", "words"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_names_file_key_and_expectation(text: str, key: str, words: str) -> None:
    probs = problems(text)
    keys = [p.key for p in probs]
    assert key in keys, f"{key} not in {keys}"
    p = probs[keys.index(key)]
    assert words in p.message, p.message
    assert str(p).startswith(f"rosen.toml: {key}: ")
    if key != "optimizers":  # (a missing top-level key has no line to point at)
        assert p.line is not None, "a key that is in the file has a line number"
    assert f"rosen.toml: {key}: " in str(ScenarioError(probs))


def test_message_format_of_the_brief() -> None:
    (p,) = problems(_set(GOOD, "beta1 = 0.9", "beta1 = 1.0"))
    assert str(p) == (
        "rosen.toml: optimizers[0].params.beta1: expected a finite number in [0, 1), got 1.0"
        " (line 26)"
    )


def test_every_problem_is_reported_at_once() -> None:
    text = _set(GOOD, "beta1 = 0.9", "beta1 = 1.0")
    text = _set(text, "steps = 200", "steps = 0")
    text = _set(text, 'name = "sgd"', 'name = "sgdd"')
    text = _set(text, "levels = 15", "levels = 1000")
    probs = problems(text)
    assert {p.key for p in probs} == {
        "optimizers[0].params.beta1",
        "steps",
        "optimizers[1].name",
        "view.levels",
    }
    lines = [p.line for p in probs]
    assert lines == sorted(lines)  # in file order
    assert len(str(ScenarioError(probs)).splitlines()) == 4


FILE_LEVEL = [
    ("syntax", "name = \n", "invalid TOML"),
    ("syntax line", 'name = "x"\nsteps = = 3\n', "line 2"),
    ("deep nesting", "a = " + "[" * 100_000, "nested too deeply"),
    ("deep nesting 2", "a = " + "[" * 200 + "]" * 200, "nesting"),
    ("huge int literal", "steps = " + "9" * 5000, "invalid TOML"),
    ("empty", "", "missing"),
    ("not a table at top", "[[x]]\n", "unknown key"),
]


@pytest.mark.parametrize(
    ("text", "words"), [f[1:] for f in FILE_LEVEL], ids=[f[0] for f in FILE_LEVEL]
)
def test_file_level_problems(text: str, words: str) -> None:
    probs = problems(text)
    assert all(p.file == "rosen.toml" for p in probs)
    assert words in str(ScenarioError(probs))


def test_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ScenarioError, match=r"nope\.toml: file not found"):
        load_scenario(missing)
    with pytest.raises(ScenarioError, match="folder"):
        load_scenario(tmp_path)
    big = tmp_path / "big.toml"
    big.write_bytes(b"# " + b"x" * MAX_FILE_BYTES)
    with pytest.raises(ScenarioError, match="at most 1048576 bytes"):
        load_scenario(big)
    latin = tmp_path / "latin.toml"
    latin.write_bytes(GOOD.replace("What", "W\xe4t").encode("latin-1"))
    with pytest.raises(ScenarioError, match=r"latin.toml: expected UTF-8 text.*\(line 3\)"):
        load_scenario(latin)
    good = tmp_path / "good.toml"
    good.write_text(GOOD, encoding="utf-8")
    assert load_scenario(str(good)).name == "Rosenbrock race"
    with pytest.raises(ScenarioError, match="cannot write"):
        save_scenario(loads_scenario(GOOD), big / "sub.toml")


def test_dict_input() -> None:
    d = tomllib.loads(GOOD)
    d["objective"]["start"] = (-1.5, 2.0)  # tuples are fine from Python
    assert scenario_from_dict(d) == loads_scenario(GOOD)
    for bad, key in [
        ({**d, 1: 2}, ""),
        ({**d, "steps": float("inf")}, "steps"),
        ({**d, "seed": 2**200}, "seed"),
    ]:
        with pytest.raises(ScenarioError) as ei:
            scenario_from_dict(bad, source="d")
        assert ei.value.problems[0].key == key
        assert str(ei.value).startswith("d: ")
    for bad in (None, [], "x", 3):
        with pytest.raises(ScenarioError):
            scenario_from_dict(bad)  # type: ignore[arg-type]
    cyclic: dict[str, Any] = {"name": "x"}
    cyclic["objective"] = cyclic
    with pytest.raises(ScenarioError, match="nesting"):
        scenario_from_dict(cyclic)
    with pytest.raises(ScenarioError):
        loads_scenario(b"name = 1")  # type: ignore[arg-type]


# ---------------------------------------------------------------- fuzzing
def _valid_dicts() -> list[dict[str, Any]]:
    out = [tomllib.loads(GOOD)]
    out += [tomllib.loads(p.read_text(encoding="utf-8")) for p in SCENARIOS]
    return out


VALID = _valid_dicts()
VALID_TEXTS = [GOOD] + [p.read_text(encoding="utf-8") for p in SCENARIOS]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 0.0, 1.0, 1e-6, 1e308, 10_000_000, 10_000_001, 2**63]),
    st.text(max_size=12),
    st.sampled_from(["adam", "sgd", "cosine", "rosenbrock", "#0072B2", "landscape", "lr"]),
)
values = st.recursive(
    scalars,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4),
        st.dictionaries(st.sampled_from(["name", "lr", "params", "x", "T", ""]), kids, max_size=4),
    ),
    max_leaves=12,
)


def _paths(d: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(d, dict):
        for k, v in d.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated_dicts(draw: st.DrawFn) -> Any:
    d = copy.deepcopy(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(d) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = d
        for k in path[:-1]:
            parent = parent[k]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(values)
        else:
            parent[path[-1]] = draw(values)
    return d


TOKENS = [*"[]{}=\"'\n-.,\\", "inf", "nan", "1e999", "[[optimizers]]\n", '"""']


@st.composite
def mutated_texts(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(VALID_TEXTS))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = min(len(text), i + draw(st.integers(0, 8)))
        insert = draw(
            st.one_of(
                st.text(max_size=6),
                st.sampled_from(TOKENS),
            )
        )
        text = text[:i] + insert + text[j:]
    return text


def _check(make: Any) -> None:
    try:
        s = make()
    except ScenarioError as e:
        assert e.problems
        for p in e.problems:
            assert p.file == "fuzz" and p.message
            assert str(p).startswith("fuzz: ")
        return
    # whatever is accepted is valid: it round-trips and is sane
    assert loads_scenario(dumps_scenario(s)) == s
    assert 1 <= s.steps <= 10_000_000 and s.racers
    assert all(math.isfinite(v) for v in s.objective.start)


# 1500 + 500 + 1000 + 500 = 3500 examples on every run (the issue asks for >= 3000 in CI)
FUZZ_EXAMPLES = {"toml": 1500, "text": 500, "dicts": 1000, "values": 500}


def fuzz(kind: str) -> Any:
    return settings(
        max_examples=FUZZ_EXAMPLES[kind],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


def test_fuzz_budget() -> None:
    assert sum(FUZZ_EXAMPLES.values()) >= 3000


@pytest.mark.slow
@fuzz("toml")
@given(mutated_texts())
def test_fuzz_mutated_toml(text: str) -> None:
    _check(lambda: loads_scenario(text, source="fuzz"))


@pytest.mark.slow
@fuzz("text")
@given(st.text(max_size=200))
def test_fuzz_random_text(text: str) -> None:
    _check(lambda: loads_scenario(text, source="fuzz"))


@pytest.mark.slow
@fuzz("dicts")
@given(mutated_dicts())
def test_fuzz_mutated_dicts(d: Any) -> None:
    _check(lambda: scenario_from_dict(d, source="fuzz"))


@pytest.mark.slow
@fuzz("values")
@given(values)
def test_fuzz_random_values(d: Any) -> None:
    _check(lambda: scenario_from_dict(d, source="fuzz"))


def test_nesterov_without_momentum_is_refused() -> None:
    text = GOOD.replace('name = "sgd"', 'name = "sgd"\nlabel = "n"', 1)
    text = _set(text, "lr = 0.001", "lr = 0.001, nesterov = true")
    with pytest.raises(ScenarioError) as e:
        loads_scenario(text, source="n.toml")
    msg = str(e.value)
    assert "optimizers[1].params.nesterov" in msg and "momentum > 0" in msg


# ---------------------------------------------------------------- messages from the models
def test_expectations_come_from_the_models_constraints() -> None:
    from engine.scenario import MAX_RACERS, MAX_STEPS
    from engine.scenario.schema import ScenarioSchema, ViewSchema, expect

    assert expect("steps") == f"an integer in [1, {MAX_STEPS}]"
    assert expect("view.levels") == "an integer in [1, 200]"
    assert expect("tolerance.divergence") == (
        "a finite number > 1 (the factor of the divergence rule)"
    )
    assert expect("objective.validation_fraction") == "a finite number in [0, 0.9]"
    assert expect("objective.kind") == "'landscape' or 'perceptron'"
    assert expect("optimizers") == f"an array of 1 to {MAX_RACERS} tables [[optimizers]]"
    assert expect("optimizers[]") == "a table [[optimizers]]"
    assert expect("view.x_range") == "an array of two finite numbers ([min, max])"
    assert expect("view.x_range[]") == "a finite number"
    assert expect("view.equal_aspect") == "true or false"
    assert expect("optimizers[].schedule") is None, "checked by hand"
    # a bound lives in the model only: the message follows it
    levels = ViewSchema.model_fields["levels"].metadata
    assert [type(m).__name__ for m in levels] == ["Ge", "Le"]
    assert ScenarioSchema.model_fields["optimizers"].metadata[1].max_length == MAX_RACERS


@pytest.mark.parametrize(
    ("old", "new", "key", "message"),
    [
        ("seed = 0", "seed = -1", "seed",
         "expected an integer in [0, 9223372036854775807], got -1"),
        ("levels = 15", "levels = 201", "view.levels", "expected an integer in [1, 200], got 201"),
        ("loss = 1e-6, grad = 1e-6", "loss = 1e-6, grad = 1e-6, divergence = 1.0",
         "tolerance.divergence",
         "expected a finite number > 1 (the factor of the divergence rule), got 1.0"),
        ('kind = "landscape"', 'kind = "landscap"', "objective.kind",
         "unknown objective kind \"landscap\"; did you mean 'landscape'? "
         "expected 'landscape' or 'perceptron'"),
        ("log_color = true", "log_color = 1", "view.log_color", "expected true or false, got 1"),
        ("x_range = [-2.0, 2.0]", "x_range = [-2.0]", "view.x_range",
         "expected an array of two finite numbers ([min, max]), got 1 entry"),
        ('color = "#0072B2"', 'color = "#0072B"', "optimizers[0].color",
         "expected a colour '#rrggbb', got \"#0072B\""),
        ('label = "Adam"', "label = 3", "optimizers[0].label",
         "expected a string of at most 200 characters, got 3"),
    ],
)  # fmt: skip
def test_messages_name_the_bounds_of_the_models(old: str, new: str, key: str, message: str) -> None:
    (p,) = [p for p in problems(_set(GOOD, old, new)) if p.key == key]
    assert p.message == message
    assert p.line is not None


def test_racer_cap_is_one_constant() -> None:
    from engine.scenario import MAX_RACERS

    d = tomllib.loads(GOOD)
    d["optimizers"] = [{"name": "sgd"}] * MAX_RACERS
    assert len(scenario_from_dict(d).racers) == MAX_RACERS
    d["optimizers"] = [{"name": "sgd"}] * (MAX_RACERS + 1)
    with pytest.raises(ScenarioError, match=f"1 to {MAX_RACERS} tables"):
        scenario_from_dict(d)


@pytest.mark.parametrize(
    "description",
    ['"', '""', 'ends "', 'a """ b', 'a """""" b', '""""', "\\", "tab\tcr\r\nctl\x01del\x7f", "\n"],
)
def test_a_fresh_document_writes_any_description(description: str) -> None:
    s = loads_scenario(GOOD)
    s.origin = None  # as made in code: a new document
    s.description = description + "\nsecond line"
    text = dumps_scenario(s)
    assert text.startswith("# Gradient Arena scenario.") and 'description = """' in text
    assert loads_scenario(text) == s
