"""Maps on a Dask cluster (engine.maps.cluster, ``main.py map --workers/--scheduler``):
the same arrays as the local run, bit for bit, also when a worker dies mid-map; tiles of
a measured size; bad cluster arguments refused before anything is written."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import main
from engine.maps import MapResult, MapSpec, compute_map, plan
from engine.maps.command import MapRequest, plans, view_of
from engine.maps.grid import MapError
from engine.scenario import Scenario, load_scenario

distributed = pytest.importorskip("distributed")
cluster_mod = pytest.importorskip("engine.maps.cluster")

ROOT = Path(__file__).resolve().parents[1]
SCEN = ROOT / "scenarios"


def _new_cluster(n: int = 2) -> Any:
    return distributed.LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        scheduler_kwargs=dict(cluster_mod.LOCAL_SCHEDULER),
        silence_logs=logging.ERROR,
        env=dict(cluster_mod.WORKER_ENV),
    )


@pytest.fixture(scope="module")
def cluster() -> Any:
    from engine.warmup import compile_engine

    compile_engine()  # the workers load the kernels from the disk cache
    c = _new_cluster()
    yield c
    c.close()


def _same(a: MapResult, b: MapResult) -> None:
    """Every array of two maps equal, bit for bit (NaN where NaN)."""
    assert a.spec.shape == b.spec.shape and a.racer == b.racer
    assert set(a.metrics) == set(b.metrics)
    for k in a.metrics:
        assert a.metrics[k].dtype == b.metrics[k].dtype, k
        assert np.array_equal(a.metrics[k], b.metrics[k], equal_nan=True), k
    assert a.final_point.shape == b.final_point.shape
    assert np.array_equal(
        a.final_point.view(np.int64), b.final_point.view(np.int64)
    )  # the bits, NaN payloads and signed zeros too
    assert a.steps_done == b.steps_done


def _cases() -> list[tuple[Scenario, MapSpec, int]]:
    him = load_scenario(SCEN / "himmelblau_four_minima.toml")
    him = replace(him, objective=replace(him.objective, grad_noise=0.2))  # noise streams
    r = him.racers[0]
    start = plan("start", r, view_of(him), res=(40, 30))
    sad = load_scenario(SCEN / "lecture_saddle.toml")  # diverged / unbounded pixels
    rs = sad.racers[0]
    lr = plan("lr", rs, view_of(sad), res=(60,), ranges=[1e-3, 3.0])
    per = load_scenario(SCEN / "perceptron_minibatch128.toml")  # shuffled mini-batches
    rp = per.racers[0]
    rnd = plan("lr,weight_decay", rp, view_of(per), ranges=[0.01, 20.0, 0.0, 0.2],
               search="random", budget=40, seed=per.seed)  # fmt: skip
    # no gradient noise: the batch kernel (engine.maps.fast) where it covers the optimizer
    ros = load_scenario(SCEN / "rosenbrock_race.toml")
    adam = next(r for r in ros.racers if r.optimizer == "adam")
    ros = replace(ros, racers=[adam, *(r for r in ros.racers if r is not adam)])
    plane = plan("lr,beta1", adam, view_of(ros), res=(30, 7))
    him0 = load_scenario(SCEN / "himmelblau_four_minima.toml")
    start0 = plan("start", him0.racers[0], view_of(him0), res=(90, 70))
    return [(him, start, 300), (sad, lr, 400), (per, rnd, per.steps), (ros, plane, 800),
            (him0, start0, 600)]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("k", range(5))
def test_cluster_map_equals_the_local_map(cluster: Any, k: int) -> None:
    s, spec, steps = _cases()[k]
    racer = s.racers[0]
    local = compute_map(spec, s, racer, steps, workers=2)
    seen: list[tuple[int, int]] = []
    with cluster_mod.connect(None, cluster.scheduler_address) as session:
        res = compute_map_cluster(session, spec, s, racer, steps, lambda d, n: seen.append((d, n)))
    _same(local, res)
    info = res.extra["cluster"]
    assert info["workers"] == 2 and info["workers_lost"] == 0 and 1 <= info["workers_used"] <= 2
    assert info["tiles"] == len(seen) >= 2
    assert seen[-1] == (spec.size, spec.size)
    assert info["tiles_rerun_after_a_lost_worker"] == 0


def compute_map_cluster(*args: Any) -> MapResult:
    res: MapResult = cluster_mod.compute_map_cluster(*args)
    return res


@pytest.mark.slow
def test_tiles_are_sized_from_the_measured_cost(cluster: Any) -> None:
    """A map of ~1-2 s of work: a few tiles per worker of at least MIN_TILE_SECONDS,
    not one per block."""
    s = load_scenario(SCEN / "lecture_saddle.toml")
    r = s.racers[0]
    spec = plan("start", r, view_of(s), res=(96,))
    with cluster_mod.connect(None, cluster.scheduler_address) as session:
        res = compute_map_cluster(session, spec, s, r, 4000)
    info = res.extra["cluster"]
    n = info["workers"]
    most = n + cluster_mod.TILES_PER_WORKER * n + n  # the first wave, the rest rounded up
    assert n + 1 <= info["tiles"] <= most
    # the tiles after the first wave hold many pixels each (not ~1 block per task)
    assert info["tile_pixels_max"] >= spec.size // most


@pytest.mark.slow
def test_cancel_stops_the_cluster_map(cluster: Any) -> None:
    import threading

    from engine.maps import MapCancelled

    s = load_scenario(SCEN / "rosenbrock_race.toml")
    r = s.racers[0]
    spec = plan("start", r, view_of(s), res=(64,))
    stop = threading.Event()
    stop.set()
    with cluster_mod.connect(None, cluster.scheduler_address) as session:
        with pytest.raises(MapCancelled):
            compute_map_cluster(session, spec, s, r, 500, None, stop)
        # the cluster is usable after a cancelled map
        small = plan("start", r, view_of(s), res=(6,))
        _same(
            compute_map(small, s, r, 50, workers=1), compute_map_cluster(session, small, s, r, 50)
        )


def _noisy_saddle_starts(res: int) -> tuple[Scenario, Any, MapSpec]:
    """A start map of the saddle with gradient noise (races, not the batch kernel): the
    scenario, its racer and the map of ``res`` pixels."""
    s = load_scenario(SCEN / "lecture_saddle.toml")
    s = replace(s, objective=replace(s.objective, grad_noise=0.3))
    r = s.racers[0]
    return s, r, plan("start", r, view_of(s), res=(res,))


@pytest.mark.slow
def test_a_worker_lost_mid_map_is_survived() -> None:
    """One worker process is killed after the first tile arrives (while the other tiles
    run): the scheduler reruns its tiles elsewhere, the map is complete and equal to the
    local one, and says a worker was lost."""
    s, r, spec = _noisy_saddle_starts(72)
    steps = 3000
    local = compute_map(spec, s, r, steps, workers=2)
    c = _new_cluster()
    try:
        with cluster_mod.connect(None, c.scheduler_address) as session:
            pids: dict[str, int] = session.client.run(os.getpid)
            killed: list[tuple[str, bool]] = []

            def kill_one(done: int, total: int) -> None:
                if killed:
                    return
                busy = [w for w, ks in session.client.processing().items() if ks]
                victim = (busy or sorted(pids))[0]
                os.kill(pids[victim], signal.SIGKILL)
                killed.append((victim, bool(busy)))

            res = compute_map_cluster(session, spec, s, r, steps, kill_one)
    finally:
        c.close()
    assert killed
    _same(local, res)
    info = res.extra["cluster"]
    assert info["workers_lost"] == 1 and info["workers_at_end"] >= 1
    # a worker killed while running a tile (the client has not fetched a result since):
    # the scheduler reran that tile
    assert info["tiles_rerun_after_a_lost_worker"] >= (1 if killed[0][1] else 0)


@pytest.mark.slow
def test_a_tile_the_cluster_drops_is_sent_again(cluster: Any) -> None:
    """A tile whose future the cluster cancels (as when a lost worker takes the tile's
    inputs with it and the scheduler forgets the tile) is sent again: the map is
    complete and equal to the local one."""
    from distributed import Future

    s, r, spec = _noisy_saddle_starts(48)
    steps = 2000
    local = compute_map(spec, s, r, steps, workers=2)
    with cluster_mod.connect(None, cluster.scheduler_address) as session:
        dropped: list[str] = []

        def drop_one(done: int, total: int) -> None:
            if dropped:
                return
            tiles = sorted(
                str(k)
                for ks in session.client.processing().values()
                for k in ks
                if str(k).startswith("map-tile-")
            )
            if tiles:  # cancelled from the client: its future ends cancelled
                session.client.cancel([Future(tiles[0], session.client)])
                dropped.append(tiles[0])

        res = compute_map_cluster(session, spec, s, r, steps, drop_one)
    assert dropped, "no tile was running when the first one arrived"
    _same(local, res)


@pytest.mark.slow
def test_cli_workers_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "m"
    local = tmp_path / "l"
    args = [str(SCEN / "rosenbrock_race.toml"), "--over", "lr,beta1", "--racer", "Adam",
            "--res", "12x5", "--steps", "300", "--quiet"]  # fmt: skip
    assert main.main(["map", *args, "--workers", "2", "--out", str(out)]) == 0
    assert main.main(["map", *args, "--out", str(local)]) == 0
    a, b = np.load(out / "map.npz"), np.load(local / "map.npz")
    assert set(a.files) == set(b.files)
    for k in a.files:
        assert np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind == "f"), k
    info = json.loads((out / "map.json").read_text())
    assert info["computed_by"]["kind"] == "dask" and info["computed_by"]["cluster"] == "local"
    assert info["cluster"]["workers"] == 2 and info["cluster"]["tiles"] >= 2
    assert json.loads((local / "map.json").read_text())["computed_by"]["kind"] == "local"


@pytest.mark.slow
def test_cli_scheduler_end_to_end(cluster: Any, tmp_path: Path) -> None:
    out = tmp_path / "m"
    args = [str(SCEN / "perceptron_batch.toml"), "--over", "lr", "--racer", "SGD (η = 0.5)",
            "--res", "9", "--quiet", "--scheduler", cluster.scheduler_address]  # fmt: skip
    assert main.main(["map", *args, "--out", str(out)]) == 0
    info = json.loads((out / "map.json").read_text())
    assert info["computed_by"] == {"kind": "dask", "cluster": "scheduler",
                                   "scheduler": cluster.scheduler_address}  # fmt: skip
    assert np.load(out / "map.npz")["final_point"].shape == (9, 3)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "give one"),
        (["--workers", "0"], ">= 1"),
        (["--workers", "-3"], ">= 1"),
        (["--scheduler", "tcp://127.0.0.1:1"], "cannot reach a Dask scheduler"),
        (["--scheduler", "not an address"], "--scheduler"),
    ],
)
def test_cli_bad_cluster_arguments_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    extra: list[str], message: str,
) -> None:  # fmt: skip
    monkeypatch.setattr(cluster_mod, "CONNECT_TIMEOUT", 0.5)
    out = tmp_path / "out"
    code = main.main(["map", str(SCEN / "rosenbrock_race.toml"), "--over", "lr", "--racer",
                      "Adam", "--res", "3", "--quiet", *extra, "--out", str(out)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err
    assert list(tmp_path.iterdir()) == []


def test_without_dask_one_clear_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from engine.maps.command import make_maps

    monkeypatch.setitem(sys.modules, "engine.maps.cluster", None)  # import fails
    s = load_scenario(SCEN / "rosenbrock_race.toml")
    req = MapRequest("lr", racer="Adam", res=(3,), workers=2)
    with pytest.raises(MapError, match=r'pip install -e "\.\[cluster\]"'):
        make_maps(s, req, tmp_path / "o")
    assert list(tmp_path.iterdir()) == []


def test_plans_checks_the_cluster_arguments() -> None:
    s = load_scenario(SCEN / "rosenbrock_race.toml")
    with pytest.raises(MapError, match="give one"):
        plans(s, MapRequest("lr", workers=2, scheduler="tcp://h:8786"))
    with pytest.raises(MapError, match=">= 1"):
        plans(s, MapRequest("lr", workers=0))
    assert len(plans(s, MapRequest("lr", racer="Adam", workers=2))) == 1


@pytest.mark.slow
def test_a_scheduler_without_workers_or_with_other_kernels_refused(
    cluster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = distributed.LocalCluster(
        n_workers=0, processes=True, dashboard_address=None,
        scheduler_kwargs=dict(cluster_mod.LOCAL_SCHEDULER), silence_logs=logging.ERROR,
    )  # fmt: skip
    try:
        no_worker = pytest.raises(cluster_mod.ClusterError, match="no worker")
        with no_worker, cluster_mod.connect(None, empty.scheduler_address, timeout=0.5):
            pass
    finally:
        empty.close()
    # this machine's kernels differ from the workers': their maps would too
    monkeypatch.setattr(cluster_mod, "engine_fingerprint", lambda: "numba-other")
    other = pytest.raises(cluster_mod.ClusterError, match="another version")
    with other, cluster_mod.connect(None, cluster.scheduler_address):
        pass
