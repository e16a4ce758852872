"""engine.maps.job without Qt: a map on one worker thread, in bands equal to one call of
compute_map, cancelled, superseded, refused, closed."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.maps import MapCancelled, MapError, MapResult, compute_map, plan
from engine.maps.command import view_of
from engine.maps.job import (
    CANCELLED,
    DONE,
    FAILED,
    RUNNING,
    JobRequest,
    MapJob,
    Outcome,
    band_spec,
    bands,
)
from engine.scenario import Scenario, load_scenario

SCEN = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.fixture(scope="module")
def himmelblau() -> Scenario:
    return load_scenario(SCEN / "himmelblau_four_minima.toml")


class Gate:
    """A compute_map that waits at each call until released (or stopped), counting the
    threads that call it at once."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.entered = threading.Event()
        self.calls = 0
        self.inside = 0
        self.most_inside = 0
        self.threads: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, spec: Any, scenario: Any, racer: Any, steps: int, **kw: Any) -> MapResult:
        with self.lock:
            self.calls += 1
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
            self.threads.add(threading.current_thread().name)
        self.entered.set()
        try:
            stop = kw["stop"]
            while not self.go.wait(0.01):
                if stop.is_set():
                    raise MapCancelled("stopped")
            return compute_map(spec, scenario, racer, steps, **kw)
        finally:
            with self.lock:
                self.inside -= 1


def _collect() -> tuple[MapJob, list[Outcome], list[tuple[int, int, int]], threading.Event]:
    outcomes: list[Outcome] = []
    progress: list[tuple[int, int, int]] = []
    ended = threading.Event()

    def done(o: Outcome) -> None:
        outcomes.append(o)
        ended.set()

    job = MapJob(on_progress=lambda g, d, n: progress.append((g, d, n)), on_done=done)
    return job, outcomes, progress, ended


def test_bands_cover_the_rows_in_order() -> None:
    s = load_scenario(SCEN / "himmelblau_four_minima.toml")
    r = s.racers[0]
    for res in ((128, 128), (7, 300), (20, 1), (1, 1)):
        spec = plan("start", r, view_of(s), res=res)
        bs = bands(spec)
        assert bs[0][0] == 0 and bs[-1][1] == spec.shape[0]
        assert all(a[1] == b[0] and a[0] < a[1] for a, b in itertools.pairwise(bs))
        sizes = [hi - lo for lo, hi in bs]
        assert all(b == 2 * a for a, b in itertools.pairwise(sizes[:-1]))  # doubling
    spec = plan("start", r, view_of(s), res=(128, 128))
    assert bands(spec) == [(0, 16), (16, 48), (48, 112), (112, 128)]  # 2048 pixels first
    sub = band_spec(spec, 16, 32)
    assert sub.shape == (16, 128)
    assert sub.values(0) == spec.values(16 * 128)


def test_a_start_map_in_bands_equals_one_call(himmelblau: Scenario) -> None:
    job, outcomes, progress, ended = _collect()
    req = JobRequest(racer=0, over="start", res=(40, 120), steps=200, colour_by="minimum")
    spec = job.start(himmelblau, req)
    assert len(bands(spec)) > 1
    assert ended.wait(60)
    assert job.join(5)
    (o,) = outcomes
    assert o.state == DONE and job.state == DONE and o.result is job.result
    assert o.result is not None
    whole = compute_map(spec, himmelblau, himmelblau.racers[0], 200, workers=2)
    for k, v in whole.metrics.items():
        assert np.array_equal(o.result.metrics[k], v, equal_nan=True), k
    assert np.array_equal(o.result.final_point, whole.final_point)
    assert o.result.extra["steps"] == 200
    assert len(set(o.result.metrics["minimum"].ravel().tolist())) == 4
    # progress in pixels of the whole map, rising to the total
    done = [d for _, d, _ in progress]
    assert done == sorted(done) and done[-1] == spec.size
    assert {n for _, _, n in progress} == {spec.size}
    assert job.first_seconds is not None
    gen, part, rows = job.partial()  # type: ignore[misc]
    assert gen == job.generation and rows == spec.shape[0] and part is o.result


def test_partial_rows_are_final_while_the_rest_waits(himmelblau: Scenario) -> None:
    gate = Gate()
    calls: list[int] = []

    def second_band_waits(*a: Any, **kw: Any) -> MapResult:
        calls.append(1)
        if len(calls) == 2:
            return gate(*a, **kw)
        return compute_map(*a, **kw)

    job = MapJob(compute=second_band_waits)
    spec = job.start(himmelblau, JobRequest(0, "start", res=(64, 96), steps=100))
    assert gate.entered.wait(30)
    _, part, rows = job.partial()  # type: ignore[misc]
    first = bands(spec)[0][1]
    assert rows == first and job.state == RUNNING
    assert (part.metrics["minimum"][:rows] >= 0).all()
    assert (part.metrics["minimum"][rows:] == -1).all()
    assert np.isnan(part.metrics["final_loss"][rows:]).all()
    assert 0 < job.done_pixels < spec.size
    gate.go.set()
    assert job.join(30)
    assert job.state == DONE


def test_cancel_keeps_the_previous_result(himmelblau: Scenario) -> None:
    job, outcomes, _, ended = _collect()
    job.start(himmelblau, JobRequest(0, "lr", res=(9,), steps=50))
    assert ended.wait(30)
    first = job.result
    assert first is not None
    gate = Gate()
    job.compute = gate
    ended.clear()
    job.start(himmelblau, JobRequest(0, "lr", res=(11,), steps=50))
    assert gate.entered.wait(10)
    assert job.state == RUNNING
    assert job.cancel()
    assert ended.wait(10)
    assert outcomes[-1].state == CANCELLED and job.state == CANCELLED
    assert job.result is first  # the previous map stays
    assert not job.cancel()  # nothing running now
    assert job.join(5)


def test_a_new_map_supersedes_the_running_one_on_the_same_thread(himmelblau: Scenario) -> None:
    gate = Gate()
    job, outcomes, _, _ = _collect()
    job.compute = gate
    job.start(himmelblau, JobRequest(0, "start", res=(8,), steps=50))
    assert gate.entered.wait(10)
    spec2 = job.start(himmelblau, JobRequest(0, "lr", res=(5,), steps=50))
    gate.go.set()
    assert job.join(30)
    assert [o.state for o in outcomes] == [CANCELLED, DONE]
    assert outcomes[1].generation == job.generation == 2
    assert job.result is not None and job.result.spec is spec2
    assert gate.most_inside == 1 and gate.threads == {"map"}  # one worker, one call at a time


def test_bad_requests_start_nothing(himmelblau: Scenario) -> None:
    job, outcomes, _, _ = _collect()
    bad = [
        (JobRequest(0, "nesterov"), "not a numeric parameter"),
        (JobRequest(0, "lr,nesterov"), "not a numeric parameter"),
        (JobRequest(0, "start", res=(5000, 5000)), "pixels would need"),
        (JobRequest(9, "start"), "racer: expected 0 to 3, got 9"),
        (JobRequest(0, "start", colour_by="beauty"), "colour by"),
        (JobRequest(0, "lr", ranges=(1.0, 0.1)), "LO < HI"),
        (JobRequest(0, "start", steps=0), "steps: expected at least 1"),
    ]
    for req, words in bad:
        with pytest.raises(MapError, match=words):
            job.start(himmelblau, req)
    assert job.state == "idle" and not job.thread_alive and not outcomes


def test_a_failure_is_reported(himmelblau: Scenario) -> None:
    def broken(*_a: Any, **_kw: Any) -> MapResult:
        raise RuntimeError("out of paint")

    job, outcomes, _, ended = _collect()
    job.compute = broken
    job.start(himmelblau, JobRequest(0, "lr", res=(4,), steps=10))
    assert ended.wait(10)
    assert job.state == FAILED and "out of paint" in job.message
    assert outcomes[0].result is None


def test_close_cancels_and_joins(himmelblau: Scenario) -> None:
    gate = Gate()
    job, outcomes, _, _ = _collect()
    job.compute = gate
    job.start(himmelblau, JobRequest(0, "start", res=(8,), steps=50))
    assert gate.entered.wait(10)
    assert job.thread_alive
    assert job.close(10)
    assert not job.thread_alive
    assert outcomes == []  # no callbacks once closed
