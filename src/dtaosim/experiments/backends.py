"""Where a sweep's points run: in this process, in local worker processes, or on Dask.

Every backend runs the same :func:`~dtaosim.experiments.sweep.run_point` on the same task, and
a point's numbers depend only on its configuration and seed (each run's random streams are
keyed by seed, run and process; the kernel is parallel over runs without reductions across
them), so the same sweep gives identical numbers on every backend and any number of workers.
Workers write their own partitions into the sweep directory; the client only receives
:class:`~dtaosim.experiments.sweep.PointDone` (point, status, wall time).

* :class:`InProcess` - points one after the other in this process (numba threads across runs).
  Points are not batched on the run axis: two points of a sweep differ in their
  configuration by construction (a mechanism constant, a scenario rate), and the kernel and the
  agents take one mechanism and one configuration per call, so only replicate points differing
  in their seed alone could share a batch - a sweep spec expresses those as ``runs`` instead.
* :class:`LocalProcesses` - a pool of ``N`` spawned processes (no Dask needed at run time).
* :class:`DaskBackend` - a ``dask.distributed`` cluster: an existing one (``tcp://HOST:PORT``,
  started with ``dask scheduler`` / ``dask worker``) or a ``LocalCluster`` of ``N`` worker
  processes on the loopback interface. Every worker needs dtaosim installed (same version) and
  the sweep directory at the same path (a shared filesystem).

Tasks are submitted in a bounded window (a few per worker), so neither the client nor the
scheduler holds the whole sweep: memory stays flat for 1,000 points or 100,000.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from dtaosim.errors import ConfigError
from dtaosim.experiments.sweep import PointDone, PointTask, run_point

__all__ = ["DaskBackend", "InProcess", "LocalProcesses", "make_backend"]


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class InProcess:
    """Run the points one after the other in this process."""

    name = "in-process"

    def session(self) -> AbstractContextManager[Any]:
        """Nothing to start."""
        return nullcontext()

    def threads_per_task(self) -> int | None:
        """Numba threads per point: all of them (runs are spread over the cores)."""
        return None

    def run(self, tasks: Iterator[PointTask], on_done: Callable[[PointDone], None],
            on_progress: Callable[[int, float], None] | None = None) -> None:
        """Run ``tasks``, calling ``on_done`` after each (and ``on_progress`` within)."""
        for task in tasks:
            cb = None
            if on_progress is not None:
                def cb(f: float, _k: int = task.point) -> None:
                    on_progress(_k, f)
            on_done(run_point(task, cb))


def _windowed(submit: Callable[[PointTask], Any], tasks: Iterator[PointTask], window: int,
              wait_one: Callable[[set[Any]], tuple[set[Any], set[Any]]],
              result: Callable[[Any], PointDone], on_done: Callable[[PointDone], None]) -> None:
    pending: set[Any] = set()
    it = iter(tasks)
    exhausted = False
    while True:
        while not exhausted and len(pending) < window:
            task = next(it, None)
            if task is None:
                exhausted = True
                break
            pending.add(submit(task))
        if not pending:
            return
        finished, pending = wait_one(pending)
        for fut in finished:
            on_done(result(fut))


class LocalProcesses:
    """A pool of ``workers`` spawned processes on this machine.

    Parameters
    ----------
    workers
        Number of processes.
    threads
        Numba threads per process (default: cores // workers, at least 1).
    """

    name = "local processes"

    def __init__(self, workers: int, threads: int | None = None) -> None:
        if workers < 1:
            raise ConfigError(f"--processes: need at least 1 worker (got {workers})")
        self.workers = workers
        self.threads = threads if threads is not None else max(1, _cores() // workers)

    def threads_per_task(self) -> int | None:
        """Numba threads each point uses."""
        return self.threads

    def session(self) -> AbstractContextManager[Any]:
        """The pool starts with :meth:`run`."""
        return nullcontext()

    def run(self, tasks: Iterator[PointTask], on_done: Callable[[PointDone], None],
            on_progress: Callable[[int, float], None] | None = None) -> None:
        """Run ``tasks`` in the pool; ``on_done`` in completion order."""
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx) as pool:

            def wait_one(pending: set[Any]) -> tuple[set[Any], set[Any]]:
                done, rest = wait(pending, return_when=FIRST_COMPLETED)
                return set(done), set(rest)

            def result(fut: Future[PointDone]) -> PointDone:
                return fut.result()

            _windowed(lambda t: pool.submit(run_point, t), tasks, 2 * self.workers, wait_one,
                      result, on_done)


class DaskBackend:
    """Points as tasks on a ``dask.distributed`` cluster.

    Parameters
    ----------
    scheduler
        Address of a running scheduler (``tcp://HOST:PORT``); or None for a local cluster.
    workers
        Worker processes of the local cluster (ignored with ``scheduler``).
    threads
        Numba threads per point (default: cores // workers locally; the workers' own
        setting on a remote cluster).
    connect_timeout_s
        How long to try to reach the scheduler.
    """

    name = "dask"

    def __init__(self, scheduler: str | None = None, workers: int | None = None,
                 threads: int | None = None, connect_timeout_s: float = 20.0) -> None:
        if scheduler is None and (workers is None or workers < 1):
            raise ConfigError("--workers: need at least 1 worker")
        self.scheduler = scheduler
        self.workers = workers
        if threads is None and scheduler is None:
            assert workers is not None
            threads = max(1, _cores() // workers)
        self.threads = threads
        self._session: Any = None
        self.connect_timeout_s = connect_timeout_s
        if scheduler is not None:
            self.name = f"dask {scheduler}"
        else:
            self.name = f"dask LocalCluster ({workers} workers)"

    def threads_per_task(self) -> int | None:
        """Numba threads each point uses."""
        return self.threads

    def _client(self) -> tuple[Any, Any]:
        import logging

        from distributed import Client, LocalCluster

        if self.scheduler is not None:
            try:
                return Client(self.scheduler, timeout=f"{self.connect_timeout_s}s"), None
            except (OSError, TimeoutError) as e:
                raise ConfigError(f"--scheduler {self.scheduler}: cannot connect "
                                  f"({' '.join(str(e).split())})") from None
        cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None,
                               silence_logs=logging.ERROR)
        return Client(cluster), cluster

    @contextmanager
    def session(self) -> Iterator[None]:
        """Connect to the scheduler (or start the local cluster) for the sweep's duration.

        Raises
        ------
        ConfigError
            If the scheduler cannot be reached.
        """
        client, cluster = self._client()
        self._session = client
        try:
            yield
        finally:
            self._session = None
            client.close()
            if cluster is not None:
                cluster.close()

    def run(self, tasks: Iterator[PointTask], on_done: Callable[[PointDone], None],
            on_progress: Callable[[int, float], None] | None = None) -> None:
        """Submit ``tasks`` to the cluster in a bounded window; ``on_done`` as they finish."""
        if self._session is None:
            with self.session():
                self.run(tasks, on_done, on_progress)
            return
        self._submit_all(self._session, tasks, on_done)

    def _submit_all(self, client: Any, tasks: Iterator[PointTask],
                    on_done: Callable[[PointDone], None]) -> None:
        from distributed import wait as dwait

        info = client.scheduler_info()
        slots = sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values())
        window = max(4, 2 * max(slots, 1))

        def submit(task: PointTask) -> Any:
            return client.submit(run_point, task, pure=False,
                                 key=f"dtaosim-point-{task.point}-{uuid.uuid4().hex[:12]}")

        def wait_one(pending: set[Any]) -> tuple[set[Any], set[Any]]:
            res = dwait(list(pending), return_when="FIRST_COMPLETED")
            return set(res.done), set(res.not_done)

        def result(fut: Any) -> PointDone:
            try:
                return fut.result()  # type: ignore[no-any-return]
            except Exception as e:  # the worker died (KilledWorker) or lost the task
                k = int(str(fut.key).split("-")[2])
                return _client_side_failure(tasks_seen.get(k), e)
            finally:
                tasks_seen.pop(int(str(fut.key).split("-")[2]), None)

        tasks_seen: dict[int, PointTask] = {}

        def track(it: Iterator[PointTask]) -> Iterator[PointTask]:
            for t in it:
                tasks_seen[t.point] = t
                yield t

        _windowed(submit, track(tasks), window, wait_one, result, on_done)


def _client_side_failure(task: PointTask | None, error: BaseException) -> PointDone:
    """Record a point whose worker died: the client writes its failed partition."""
    import traceback

    from dtaosim.io.sweep_store import PointWriter

    message = " ".join(f"{type(error).__name__}: {error}".split())
    if task is None:  # pragma: no cover - every submitted task is tracked
        raise error
    with PointWriter(task.sweep_dir, task.point, {}, blocks=0) as w:
        committed = w.commit({"status": "failed", "seed": task.seed, "wall_s": 0.0,
                              "error": message, "traceback": "".join(
                                  traceback.format_exception(error))})
    return PointDone(point=task.point, status="failed", runs=int(task.config.get("runs", 1)),
                     wall_s=0.0, error=message, committed=committed)


def make_backend(processes: int | None = None, workers: int | None = None,
                 scheduler: str | None = None) -> InProcess | LocalProcesses | DaskBackend:
    """The backend the CLI options ask for (at most one of them).

    Raises
    ------
    ConfigError
        If more than one is given or a count is below 1.
    """
    given = [n for n, v in (("--processes", processes), ("--workers", workers),
                            ("--scheduler", scheduler)) if v is not None]
    if len(given) > 1:
        raise ConfigError(f"choose one of {', '.join(given)}")
    if processes is not None:
        return LocalProcesses(processes)
    if workers is not None:
        return DaskBackend(workers=workers)
    if scheduler is not None:
        if not scheduler.strip():
            raise ConfigError("--scheduler: empty address")
        return DaskBackend(scheduler=scheduler)
    return InProcess()
