"""Coding a corpus in batches: streamed, parallel, resumable, and optionally on a Dask cluster.

A coding run reads the turns its coder has not coded yet, a batch at a time, codes each batch
(in this process, in a pool of worker processes, or on Dask workers) and writes each batch's
codings in one transaction together with the record that those turns are coded. Memory stays
flat however large the corpus, and a run killed at any point leaves whole batches only: the
same command run again codes exactly the turns that are left.

A coder is built by a picklable factory, once per worker process.

Example:
    >>> for progress in run_coding(store, factory, coder_id="rules:relational@1.0"):
    ...     print(progress.turns_done, progress.turns_total)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import MissingExtraError, ReltextError
from .store import Store


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
    """
    if engine not in ENGINES:
        raise ReltextError(f"unknown engine {engine!r}", fix=f"Use one of: {', '.join(ENGINES)}.")
    if workers < 1:
        raise ReltextError(f"--workers must be at least 1, got {workers}",
                           fix="Give the number of processes to use, e.g. --workers 2.")
    with store.read() as conn:
        total = store.count_uncoded_turns(conn, coder=coder_id)
    params = {"batch_size": batch_size, "workers": workers, "engine": engine,
              "scheduler": scheduler, **(manifest or {})}
    with store.write() as conn:
        interrupted = store.mark_interrupted_runs(conn, kind="code", coder=coder_id)
        run_pk, run_id = store.start_run(
            conn, kind="code", coder=coder_id,
            manifest={**params, "resumes": interrupted, "turns_to_code": total},
        )
    started = time.perf_counter()
    done = codings = words = 0
    status = "failed"
    try:
        batches = _read_batches(store, coder_id, batch_size)
        if engine == "dask":
            results = _code_on_dask(batches, factory, workers=workers, scheduler=scheduler)
        elif workers > 1:
            results = _code_in_processes(batches, factory, workers=workers)
        else:
            coder = factory()
            results = ((batch, coder.code_turns(batch)) for batch in batches)
        for batch, batch_codings in results:
            with store.write() as conn:
                # Another run of the same coder may have written these turns meanwhile.
                fresh = store.uncoded_among(conn, [t["turn_pk"] for t in batch], coder=coder_id)
                kept = [c for c in batch_codings if c["turn_pk"] in fresh]
                store.add_codings(conn, [{**c, "coder": coder_id, "run_pk": run_pk}
                                         for c in kept])
                store.mark_coded(conn, fresh, coder=coder_id, run_pk=run_pk)
            done += len(fresh)
            codings += len(kept)
            words += sum(len(t["text"].split()) for t in batch if t["turn_pk"] in fresh)
            yield BatchProgress(run_id, done, total, codings, words,
                                time.perf_counter() - started)
        status = "done"
    finally:
        # A killed process never gets here: its run stays "running" until the next run of the
        # same coder marks it "interrupted" and codes what it left.
        with store.write() as conn:
            store.finish_run(conn, run_pk, status=status, manifest={
                **params, "resumes": interrupted, "turns_to_code": total, "turns_coded": done,
                "codings": codings, "words": words,
                "seconds": round(time.perf_counter() - started, 3),
            })


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
    _worker_coder = factory()


def _code_in_worker(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    assert _worker_coder is not None, "worker used before its initializer ran"
    return _worker_coder.code_turns(batch)


def _code_in_processes(batches, factory: CoderFactory, *, workers: int):
    """Batches coded by ``workers`` processes, results in input order, few batches in flight."""
    import multiprocessing

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
    return coder.code_turns(batch)


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
