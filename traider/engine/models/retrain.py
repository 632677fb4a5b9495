"""Retraining off the event loop: `RetrainManager` runs `training.train_model` in a
process pool and turns what the children report into `RetrainProgress` and
`RetrainFinished` events.

Why a process pool, and how it is set up:

* the engine's event loop must keep trading while a model trains for minutes, and the
  GIL would stall it if training ran on a thread;
* the "spawn" start method: the engine runs threads, and forking a threaded process can
  copy a held lock into the child and deadlock it;
* each child lowers its priority (`os.nice(10)`) and limits its threads to one
  (OpenMP/BLAS/polars through the environment before they are imported, xgboost's
  `n_jobs`, torch's intra-op threads), so on a 2-core machine it cannot starve the
  engine;
* bars given as a DataFrame are written to `home/retrain/{job_id}-{pid}.parquet` and the
  child reads them back, rather than pickling a large frame through the pool's pipe; the
  file is deleted when the job ends;
* progress goes through a `SimpleQueue` handed to the children when they start: its
  `put` writes to the pipe synchronously, so when a job's future is done every progress
  message it sent is already readable, and `poll` can report them before the
  `RetrainFinished`.

A job that raises ends in `RetrainFinished(ok=False)`; so does a child that dies (the
pool is broken then, and a new one is made for the next job). `RetrainFinished.model_id`
is empty: the caller registers `result(job_id)` in the registry and knows the new id.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from traider.engine.core.events import RetrainFinished, RetrainProgress
from traider.engine.models.training import TrainResult, TrainSpec

if TYPE_CHECKING:
    from multiprocessing.queues import SimpleQueue

    import polars as pl

__all__ = ["RetrainError", "RetrainEvent", "RetrainManager"]

RetrainEvent = RetrainProgress | RetrainFinished
ProgressMessage = tuple[str, str, float, str]  # job_id, stage, fraction, message

_THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "POLARS_MAX_THREADS",
)
_CHILD_NICE = 10
_MAX_DRAIN = 10_000  # messages read per poll: bounds the time one poll can take
_MESSAGE_CHARS = 300

# --- the child's side --------------------------------------------------------------------

_progress_queue: SimpleQueue[ProgressMessage] | None = None


def _init_child(queue: SimpleQueue[ProgressMessage]) -> None:
    """Pool initializer: runs in each child before any job, and before the heavy
    libraries are imported there, so the thread limits take effect."""
    global _progress_queue
    _progress_queue = queue
    for name in _THREAD_ENV:
        os.environ[name] = "1"
    with contextlib.suppress(OSError):  # a lower priority is a courtesy, not a must
        os.nice(_CHILD_NICE)


def _run_job(
    job_id: str, spec_doc: dict[str, Any], bars_path: str, out_dir: str, version_hint: str,
    source: str,
) -> dict[str, Any]:  # fmt: skip
    """One training job in the child; returns `TrainResult.to_dict()` plus the child's
    pid in the metrics (where it ran)."""
    from traider.engine.models.training import load_bars, train_model

    spec = TrainSpec.from_dict(spec_doc)
    if spec.model == "lstm":
        import torch

        torch.set_num_threads(1)
    queue = _progress_queue

    def progress(stage: str, fraction: float, message: str) -> None:
        if queue is not None:
            queue.put((job_id, stage, float(fraction), message))

    bars = load_bars(Path(bars_path))
    result = train_model(
        spec, bars, Path(out_dir), version_hint, progress, source=source, threads=1
    )
    doc = result.to_dict()
    doc["metrics"]["pid"] = os.getpid()
    return doc


# --- the parent's side -------------------------------------------------------------------


class RetrainError(RuntimeError):
    """A retraining request that cannot be accepted; the message is one line."""


@dataclass(slots=True)
class _Job:
    job_id: str
    model: str
    reason: str
    future: Future[dict[str, Any]]
    bars_file: Path | None  # written by the manager, deleted when the job ends
    fraction: float = 0.0


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    return line[:_MESSAGE_CHARS]


def _unlink(path: Path | None) -> None:
    if path is not None:
        path.unlink(missing_ok=True)


class RetrainManager:
    """Training jobs in a pool of `workers` spawned processes; at most one job per model
    at a time. Every method returns quickly: call `poll()` from the event loop."""

    def __init__(
        self, home: Path, workers: int = 1, now_ns: Callable[[], int] = time.time_ns
    ) -> None:
        """`now_ns` stamps the events and names the artifacts: the engine passes its
        clock, so the events agree with the rest of its bus (simulated time included)."""
        if not 1 <= workers <= 8:
            raise ValueError(f"workers must be between 1 and 8, got {workers}")
        self.home = Path(home)
        self.now_ns = now_ns
        self.workers = workers
        self._context = multiprocessing.get_context("spawn")
        self._pool: ProcessPoolExecutor | None = None
        self._queue: SimpleQueue[ProgressMessage] | None = None
        self._jobs: dict[str, _Job] = {}
        self._results: dict[str, TrainResult] = {}
        self._pending: list[RetrainEvent] = []
        self._submitted = 0
        self._closed = False

    # --- pool ---------------------------------------------------------------------------

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # a fresh queue with each pool: a child that died may have held its lock
            self._queue = self._context.SimpleQueue()
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=self._context,
                initializer=_init_child,
                initargs=(self._queue,),
            )
        return self._pool

    def _drop_pool(self) -> None:
        """Forget a broken pool; the next `submit` makes a new one."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = None

    # --- the API ------------------------------------------------------------------------

    def submit(self, spec: TrainSpec, bars: pl.DataFrame | Path, reason: str) -> str:
        """Queue a job; returns its id "rt-<n>-<model>". Refused (RetrainError) while a
        job for the same model is running, or after `shutdown`."""
        if self._closed:
            raise RetrainError("retraining is shut down")
        busy = next((j for j in self._jobs.values() if j.model == spec.model), None)
        if busy is not None:
            raise RetrainError(
                f"{spec.model}: job {busy.job_id} is still running; wait for it to finish"
            )
        self._submitted += 1
        job_id = f"rt-{self._submitted}-{spec.model}"
        bars_file: Path | None = None
        if isinstance(bars, str | os.PathLike):
            bars_path = Path(bars)
            if not bars_path.is_file():
                raise RetrainError(f"{bars_path}: no such file of bars")
            source = str(bars_path)
        else:
            folder = self.home / "retrain"
            folder.mkdir(parents=True, exist_ok=True)
            # the pid keeps two managers (engine, CLI) on one home from sharing a file
            bars_file = bars_path = folder / f"{job_id}-{os.getpid()}.parquet"
            bars.write_parquet(bars_path)
            source = f"{bars.height} bars handed to retraining"
        # a timestamp in the name: job numbers restart with the process, artifacts do not
        stamp = datetime.fromtimestamp(self.now_ns() / 1e9, tz=UTC)
        version_hint = f"{stamp:%Y%m%dT%H%M%S}-{self._submitted}"
        args = (job_id, spec.to_dict(), str(bars_path), str(self.home), version_hint, source)
        try:
            future = self._ensure_pool().submit(_run_job, *args)
        except BrokenProcessPool:
            self._drop_pool()
            future = self._ensure_pool().submit(_run_job, *args)
        self._jobs[job_id] = _Job(job_id, spec.model, reason, future, bars_file)
        now = self.now_ns()
        self._pending.append(
            RetrainProgress(now, now, job_id, spec.model, "queued", 0.0, f"queued: {reason}")
        )
        return job_id

    def poll(self) -> list[RetrainEvent]:
        """Progress and finished jobs since the last call, in order; never waits."""
        events, self._pending = self._pending, []
        # which jobs are done is read BEFORE draining: a done job's messages are then all
        # in the queue already (see the module docstring), so they precede its finish
        done = [job for job in self._jobs.values() if job.future.done()]
        events.extend(self._drain())
        for job in done:
            events.extend(self._finish(job))
        return events

    def running(self) -> list[str]:
        """Ids of jobs submitted and not yet reported finished by `poll`."""
        return list(self._jobs)

    def result(self, job_id: str) -> TrainResult | None:
        """The `TrainResult` of a job that finished ok (None otherwise or unknown)."""
        return self._results.get(job_id)

    def shutdown(self, wait: bool = False) -> None:
        """Cancel queued jobs; with `wait=False` kill running children (their results
        would have nobody to register them), with `wait=True` let them finish."""
        self._closed = True
        pool = self._pool
        if pool is not None:
            # ProcessPoolExecutor (before 3.14) has no way to stop a running task but
            # killing its process; the pool forgets `_processes` on shutdown, so take it first
            children = list((pool._processes or {}).values())
            pool.shutdown(wait=wait, cancel_futures=True)
            if not wait:
                for child in children:
                    if child.is_alive():
                        child.kill()
        for job in self._jobs.values():
            if job.future.done() or not wait:
                _unlink(job.bars_file)

    # --- internals ----------------------------------------------------------------------

    def _drain(self) -> list[RetrainEvent]:
        queue = self._queue
        out: list[RetrainEvent] = []
        if queue is None:
            return out
        for _ in range(_MAX_DRAIN):
            if queue.empty():
                break
            job_id, stage, fraction, message = queue.get()
            job = self._jobs.get(job_id)
            if job is not None:
                job.fraction = fraction
            model = job.model if job is not None else job_id.split("-", 2)[-1]
            now = self.now_ns()
            out.append(RetrainProgress(now, now, job_id, model, stage, fraction, message))
        return out

    def _finish(self, job: _Job) -> list[RetrainEvent]:
        del self._jobs[job.job_id]
        _unlink(job.bars_file)
        try:
            doc = job.future.result(timeout=0)
        except CancelledError:
            message = "cancelled before it started"
        except BrokenProcessPool:
            self._drop_pool()
            message = "the training process died (killed, or out of memory?)"
        except Exception as exc:  # allowed: any failure of the job becomes an event
            message = _one_line(exc)
        else:
            result = TrainResult.from_dict(doc)
            self._results[job.job_id] = result
            m = result.metrics
            lo, hi = m["oos_accuracy_ci"]
            now = self.now_ns()
            text = (f"{job.model} trained: out-of-sample accuracy {m['oos_accuracy']:.3f} "
                    f"[{lo:.3f}, {hi:.3f}]; report {m['report']}")  # fmt: skip
            return [RetrainFinished(now, now, job.job_id, job.model, True, "", job.reason, text)]
        now = self.now_ns()
        return [
            RetrainProgress(now, now, job.job_id, job.model, "failed", job.fraction, message),
            RetrainFinished(now, now, job.job_id, job.model, False, "", job.reason, message),
        ]
