"""The scenario file's ``[map]`` table: read, checked, written back."""

from __future__ import annotations

import dataclasses

import pytest

from engine.scenario import MapSettings, ScenarioError, dumps_scenario, loads_scenario

BASE = """
schema = 1
name = "m"
steps = 100
[objective]
name = "himmelblau"
start = [0.0, 0.0]
{map}
[[optimizers]]
name = "momentum"
label = "hb"
params = {{ lr = 0.01, momentum = 0.9 }}
[[optimizers]]
name = "sgd"
enabled = false
"""


def _load(table: str):  # type: ignore[no-untyped-def]
    return loads_scenario(BASE.format(map=table), source="m.toml")


def test_a_map_table_is_read_and_written_back() -> None:
    s = _load('[map]\nover = "lr, momentum"\nres = [64]\nranges = [1e-4, 0.1, 0.0, 0.99]')
    assert s.map == MapSettings(over="lr,momentum", res=(64,), ranges=(1e-4, 0.1, 0.0, 0.99))
    again = loads_scenario(dumps_scenario(s))
    assert again.map == s.map
    fresh = loads_scenario(dumps_scenario(dataclasses.replace(s, origin=None)))
    assert fresh.map == s.map
    assert _load("").map is None
    start = _load('[map]\nover = "start"\nracer = "hb"\nres = [32, 24]\nbox = [-5, 5, -4, 4]')
    assert start.map == MapSettings(over="start", racer="hb", res=(32, 24),
                                    box=(-5.0, 5.0, -4.0, 4.0))  # fmt: skip
    rnd = _load('[map]\nover = "lr"\nsearch = "random"\nbudget = 50\nsteps = 20')
    assert (rnd.map.search, rnd.map.budget, rnd.map.steps) == ("random", 50, 20)  # type: ignore[union-attr]
    assert "budget = 50" in dumps_scenario(dataclasses.replace(rnd, origin=None))
    logs = _load('[map]\nover = "lr,momentum"\nlog = ["momentum"]')
    assert logs.map.log == ("momentum",)  # type: ignore[union-attr]
    assert loads_scenario(dumps_scenario(dataclasses.replace(logs, origin=None))).map == logs.map


@pytest.mark.parametrize(
    ("table", "key", "words"),
    [
        ('over = "lr,betaz"', "map.over", 'no numeric parameter "betaz"'),
        ('over = "lr,lr"', "map.over", "two distinct"),
        ('over = "lr"\nracer = "nobody"', "map.racer", 'no racer labelled "nobody"'),
        ('over = "lr"\nranges = [1e-3, 1e-1, 0, 1]', "map.ranges", "expected 2 numbers"),
        ('over = "lr"\nbox = [0, 1, 0, 1]', "map.box", "box is for start maps"),
        ('over = "start"\nranges = [0, 1]', "map.ranges", "a start map takes box"),
        ('over = "start"\nbox = [1, 0, 0, 1]', "map.box", "min < max"),
        ('over = "start"\nres = [0]', "map.res[0]", "an integer in [1, 16384]"),
        ('over = "lr"\nsearch = "rand"', "map.search", "'grid' or 'random'"),
        ('over = "lr"\nlog = ["momentum"]', "map.log", '"momentum" is not swept'),
        ('over = "start"\nlog = ["lr"]', "map.log", "log is for hyperparameter maps"),
        ('over = "lr"\nlog = "lr"', "map.log", ""),
        ('over = "lr"\nfoo = 1', "map.foo", ""),
        ("res = [3]", "map.over", ""),
    ],
)
def test_a_bad_map_table_names_the_key(table: str, key: str, words: str) -> None:
    with pytest.raises(ScenarioError) as e:
        _load("[map]\n" + table)
    msgs = [f"{p.key}: {p.message}" for p in e.value.problems]
    assert any(m.startswith(key + ":") and words in m for m in msgs), msgs
    assert all(p.file == "m.toml" for p in e.value.problems)


def test_a_perceptron_start_map_is_refused() -> None:
    text = """
schema = 1
name = "p"
[objective]
kind = "perceptron"
data = { rows = [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]] }
[map]
over = "start"
[[optimizers]]
name = "sgd"
"""
    with pytest.raises(ScenarioError) as e:
        loads_scenario(text, source="p.toml")
    assert any("3-D" in p.message for p in e.value.problems)
