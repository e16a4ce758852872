"""Run a race in a background thread, paced to a chosen speed.

The thread calls :meth:`Race.advance` chunk by chunk (the kernel releases the GIL, so
the GUI thread keeps drawing on the other core). It checks its stop flag between
chunks; a chunk at full speed is sized to take about ``chunk_seconds``, so ``stop()``
returns within a few tens of milliseconds. Readers pull progress from the race's
buffers at their own rate; nothing here touches widgets.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from engine.race import Race


class RaceRunner:
    """Play / pause / step / stop a race in one background thread."""

    def __init__(
        self,
        race: Race,
        steps_per_second: float = math.inf,
        chunk_seconds: float = 0.008,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.race = race
        self._speed = float(steps_per_second)
        self.chunk_seconds = chunk_seconds
        self._cond = threading.Condition()
        self._playing = False
        self._pending = 0
        self._stop = False
        self._chunk = 256
        self._owed = 0.0
        self._last = time.perf_counter()
        self.on_error = on_error
        self.error: BaseException | None = None
        self.steps_done = 0  # total updates run by this runner (for throughput figures)
        self.busy_seconds = 0.0  # time spent inside the kernel
        self._thread = threading.Thread(target=self._loop, name="race-runner", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ control (any thread)
    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def speed(self) -> float:
        return self._speed

    def set_speed(self, steps_per_second: float) -> None:
        """Target updates per second per racer (math.inf: as fast as the engine goes)."""
        with self._cond:
            self._speed = max(float(steps_per_second), 1e-3)
            self._owed = 0.0
            self._last = time.perf_counter()
            self._cond.notify_all()

    def play(self) -> None:
        with self._cond:
            self._playing = True
            self._owed = 1.0  # the first step happens at once
            self._last = time.perf_counter()
            self._cond.notify_all()

    def pause(self) -> None:
        with self._cond:
            self._playing = False
            self._cond.notify_all()

    def toggle(self) -> bool:
        """Play if paused, pause if playing; returns the new state."""
        if self._playing:
            self.pause()
        else:
            self.play()
        return self._playing

    def step(self, n: int = 1) -> None:
        """Run exactly ``n`` more updates (also while paused)."""
        with self._cond:
            self._pending += int(n)
            self._cond.notify_all()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until pending single steps are done (tests, rendering)."""
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            with self._cond:
                if self._pending == 0 and not self._busy:
                    return True
            time.sleep(0.001)
        return False

    def stop(self, timeout: float = 1.0) -> bool:
        """Stop the thread; True if it ended within ``timeout`` seconds."""
        with self._cond:
            self._stop = True
            self._playing = False
            self._cond.notify_all()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # ------------------------------------------------------------ the thread
    _busy = False

    def _advance(self, n: int) -> int:
        t0 = time.perf_counter()
        done = self.race.advance(n)
        dt = time.perf_counter() - t0
        self.busy_seconds += dt
        self.steps_done += done
        if n >= 16 and dt > 0:
            # keep a full-speed chunk near chunk_seconds
            per_step = dt / n
            target = int(self.chunk_seconds / max(per_step, 1e-9))
            self._chunk = max(16, min(target, 1 << 20))
        return done

    def _loop(self) -> None:
        try:
            while True:
                with self._cond:
                    while not self._stop and self._pending == 0 and not self._playing:
                        self._cond.wait(0.25)
                    if self._stop:
                        return
                    n_single = self._pending
                    self._pending = 0
                    playing = self._playing
                    speed = self._speed
                    self._busy = True
                try:
                    if n_single:
                        self._advance(n_single)
                        continue
                    if not playing:
                        continue
                    if self.race.done:
                        with self._cond:
                            self._playing = False
                        continue
                    if math.isinf(speed):
                        self._advance(self._chunk)
                        continue
                    now = time.perf_counter()
                    self._owed += (now - self._last) * speed
                    self._last = now
                    n = int(self._owed)
                    if n >= 1:
                        n = min(n, max(self._chunk, 1))
                        self._owed -= n
                        self._advance(n)
                    else:
                        wait = (1.0 - self._owed) / speed
                        with self._cond:
                            if not self._stop:
                                self._cond.wait(min(wait, 0.05))
                finally:
                    self._busy = False
        except BaseException as e:
            self.error = e
            if self.on_error is not None:
                self.on_error(e)
