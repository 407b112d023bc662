"""Coding a corpus in batches: streamed, parallel, resumable, and optionally on a Dask cluster.

A coding run reads the turns its coder has not coded yet, a batch at a time, codes each batch
(in this process, in a pool of worker processes, or on Dask workers) and writes each batch's
codings in one transaction together with the record that those turns are coded. Memory stays
flat however large the corpus, and a run killed at any point leaves whole batches only: the
same command run again codes exactly the turns that are left.

One coding run at a time per project: a second one started meanwhile says that a run is in
progress (the lock is the operating system's, so a killed run never leaves it behind).
A turn the coder fails on is left uncoded with a warning naming it, and the run goes on;
only a coder that fails on every turn of a batch fails the run. Worker processes end with
the process that started them.

A coder is built by a picklable factory, once per worker process.

Example:
    >>> for progress in run_coding(store, factory, coder_id="rules:relational@1.0"):
    ...     print(progress.turns_done, progress.turns_total)
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import MissingExtraError, ReltextError
from ..store.database import Store
from .locks import LockHeld, project_lock


class TurnCoder(Protocol):
    """What a coding run needs of a coder."""

    def code_turns(self, turns: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Codings for ``turns`` (dicts with ``turn_pk``, ``text``, ``role``, ``speaker``).

        Each coding is a dict with ``turn_pk, code, start_char, end_char, confidence,
        evidence, origin``; offsets are into the turn's text.
        """
        ...


CoderFactory = Callable[[], TurnCoder]
ENGINES = ("local", "dask")


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """Where a run stands after one more batch was written."""

    run_id: str
    turns_done: int
    turns_total: int
    codings: int
    words: int
    seconds: float
    skipped: tuple[str, ...] = ()  # "transcript/turn: error" of turns left uncoded


def run_coding(
    store: Store,
    factory: CoderFactory,
    *,
    coder_id: str,
    manifest: dict[str, Any] | None = None,
    batch_size: int = 500,
    workers: int = 1,
    engine: str = "local",
    scheduler: str | None = None,
) -> Iterator[BatchProgress]:
    """Code every current turn that ``coder_id`` has not coded, yielding after each batch.

    Args:
        store: The project.
        factory: Builds the coder; called once in each worker process.
        coder_id: The coder's name as recorded on its codings (``rules:relational@1.0``).
        manifest: What the run records about itself (codebook hash, pipeline, parameters).
        batch_size: Turns per batch, and per transaction.
        workers: Processes coding in parallel (local engine) or Dask workers of a local cluster.
        engine: ``"local"`` or ``"dask"``.
        scheduler: A Dask scheduler address; a local cluster is started when None.

    Raises:
        ReltextError: a bad engine or worker count, or another coding run is in progress
            in this project.
    """
    if engine not in ENGINES:
        raise ReltextError(f"unknown engine {engine!r}", fix=f"Use one of: {', '.join(ENGINES)}.")
    if workers < 1:
        raise ReltextError(f"--workers must be at least 1, got {workers}",
                           fix="Give the number of processes to use, e.g. --workers 2.")
    try:
        with project_lock(store.path, "coding"):
            yield from _run(store, factory, coder_id=coder_id, manifest=manifest,
                            batch_size=batch_size, workers=workers, engine=engine,
                            scheduler=scheduler)
    except LockHeld:
        with store.read() as conn:
            running = [r for r in store.list_runs(conn, kind="code") if r["status"] == "running"]
        what = (f" (run {running[-1]['run_id']} of {running[-1]['coder']}, started "
                f"{running[-1]['started_at']})" if running else "")
        raise ReltextError(
            f"another coding run is in progress in this project{what}", path=store.path,
            fix="Wait for it to end, then run this again: it codes only the turns still "
            "left.") from None


def _run(store: Store, factory: CoderFactory, *, coder_id: str, manifest: dict[str, Any] | None,
         batch_size: int, workers: int, engine: str, scheduler: str | None
         ) -> Iterator[BatchProgress]:
    """The run itself, inside the project's coding lock."""
    with store.read() as conn:
        total = store.count_uncoded_turns(conn, coder=coder_id)
    params = {"batch_size": batch_size, "workers": workers, "engine": engine,
              "scheduler": scheduler, **(manifest or {})}
    with store.write() as conn:
        # No other run can be coding now: one left "running" was killed.
        interrupted = store.mark_interrupted_runs(conn, kind="code", coder=coder_id)
        run_pk, run_id = store.start_run(
            conn, kind="code", coder=coder_id,
            manifest={**params, "resumes": interrupted, "turns_to_code": total},
        )
    started = time.perf_counter()
    done = codings = words = 0
    skipped: list[str] = []
    status = "failed"
    try:
        batches = _read_batches(store, coder_id, batch_size)
        if engine == "dask":
            results = _code_on_dask(batches, factory, workers=workers, scheduler=scheduler)
        elif workers > 1:
            results = _code_in_processes(batches, factory, workers=workers)
        else:
            coder = factory()
            results = ((batch, code_batch(coder, batch)) for batch in batches)
        for batch, (batch_codings, failed) in results:
            failed_pks = {turn_pk for turn_pk, _ in failed}
            with store.write() as conn:
                # Turns another process coded meanwhile (none while the lock holds) keep theirs.
                fresh = store.uncoded_among(conn, [t["turn_pk"] for t in batch
                                                   if t["turn_pk"] not in failed_pks],
                                            coder=coder_id)
                kept = [c for c in batch_codings if c["turn_pk"] in fresh]
                store.add_codings(conn, [{**c, "coder": coder_id, "run_pk": run_pk}
                                         for c in kept])
                store.mark_coded(conn, fresh, coder=coder_id, run_pk=run_pk)
            done += len(fresh)
            codings += len(kept)
            words += sum(len(t["text"].split()) for t in batch if t["turn_pk"] in fresh)
            names = {t["turn_pk"]: f"{t['transcript_id']}/{t['turn_id']}" for t in batch}
            skipped += [f"{names[turn_pk]}: {error}" for turn_pk, error in failed]
            yield BatchProgress(run_id, done, total, codings, words,
                                time.perf_counter() - started, tuple(skipped))
        status = "done"
        if skipped:
            warnings.warn(f"{len(skipped)} turn(s) could not be coded and were left for the "
                          f"next run: {'; '.join(skipped[:5])}"
                          + (f"; and {len(skipped) - 5} more" if len(skipped) > 5 else ""),
                          stacklevel=2)
    finally:
        # A killed process never gets here: its run stays "running" until the next run of the
        # same coder marks it "interrupted" and codes what it left.
        with store.write() as conn:
            store.finish_run(conn, run_pk, status=status, manifest={
                **params, "resumes": interrupted, "turns_to_code": total, "turns_coded": done,
                "codings": codings, "words": words, "turns_skipped": skipped,
                "seconds": round(time.perf_counter() - started, 3),
            })


def code_batch(coder: TurnCoder, batch: list[dict[str, Any]]
               ) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
    """The batch's codings, and ``(turn_pk, error)`` for each turn the coder failed on.

    When the batch fails, its turns are coded one by one, so one bad turn costs only
    itself. A coder that fails on every turn is broken, not the data: that error is raised.
    """
    try:
        return coder.code_turns(batch), []
    except Exception as error:  # noqa: BLE001 - any coder's failure, narrowed turn by turn
        if len(batch) == 1:
            return [], [(batch[0]["turn_pk"], _said(error))]
        first = error
    codings, failed = [], []
    for turn in batch:
        try:
            codings.extend(coder.code_turns([turn]))
        except Exception as error:  # noqa: BLE001
            failed.append((turn["turn_pk"], _said(error)))
    if len(failed) == len(batch):
        raise first
    return codings, failed


def _said(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text[:200]}" if text else type(error).__name__


def _read_batches(store: Store, coder_id: str, batch_size: int) -> Iterator[list[dict[str, Any]]]:
    # Each batch is read in its own short transaction, so writers are never held up.
    after = 0
    while True:
        with store.read() as conn:
            batch = store.uncoded_turns_after(conn, coder=coder_id, after=after,
                                              limit=batch_size)
        if not batch:
            return
        yield batch
        after = batch[-1]["turn_pk"]


# -- process pool ------------------------------------------------------------------------

_worker_coder: TurnCoder | None = None


def _init_worker(factory: CoderFactory) -> None:
    global _worker_coder
    parent = multiprocessing.parent_process()
    if parent is not None:  # a killed run's workers end with it, not after their batch
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    _worker_coder = factory()


def _exit_with(parent: multiprocessing.process.BaseProcess) -> None:
    parent.join()
    os._exit(1)


def _code_in_worker(batch: list[dict[str, Any]]
                    ) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
    assert _worker_coder is not None, "worker used before its initializer ran"
    return code_batch(_worker_coder, batch)


def _code_in_processes(batches, factory: CoderFactory, *, workers: int):
    """Batches coded by ``workers`` processes, results in input order, few batches in flight."""
    context = multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                             initializer=_init_worker, initargs=(factory,)) as pool:
        pending: list[tuple[list[dict[str, Any]], Future]] = []
        for batch in batches:
            pending.append((batch, pool.submit(_code_in_worker, batch)))
            if len(pending) >= workers * 2:
                first, future = pending.pop(0)
                yield first, future.result()
        for batch, future in pending:
            yield batch, future.result()


# -- Dask ---------------------------------------------------------------------------------

_DASK_CODERS: dict[int, TurnCoder] = {}


def _code_on_dask_worker(batch: list[dict[str, Any]], factory: CoderFactory, key: int):
    # One coder per worker process, built on its first batch and kept for the others.
    coder = _DASK_CODERS.get(key)
    if coder is None:
        coder = _DASK_CODERS[key] = factory()
    return code_batch(coder, batch)


def _code_on_dask(batches, factory: CoderFactory, *, workers: int, scheduler: str | None):
    try:
        from distributed import Client, LocalCluster
    except ImportError as error:
        raise MissingExtraError("distributed", "dask") from error
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, host="127.0.0.1")
    client = Client(scheduler or cluster)
    try:
        key = id(factory)
        remote_factory = client.scatter(factory, broadcast=True)
        pending = []
        for batch in batches:
            pending.append((batch, client.submit(_code_on_dask_worker, batch, remote_factory,
                                                 key, pure=False)))
            if len(pending) >= workers * 2:
                first, future = pending.pop(0)
                yield first, future.result()
        for batch, future in pending:
            yield batch, future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
