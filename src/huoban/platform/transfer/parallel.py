"""The reader process of an import: reading, cell conversion and domain validation run in a
forked child while the engine's own process classifies and writes the batch before.

An import is CPU-bound Python on both sides of the write: reading and converting a batch
(``Engine.prepare``) needs neither the database's records nor the rows before it, while
dedup, numbering and the write must stay in file order in the one process that holds the
run's lease. On a machine with two or more cores the child takes the first part, so the two
halves overlap (decision 0006). Nothing about the write changes: the engine's process still
writes every batch with its journal and checkpoint in one transaction, so crash safety and
resuming are exactly those of a serial run; the child only ever reads.

The child is started with ``fork`` (the compiled converters, lookups and the open file are
inherited, nothing is re-initialised), talks through a one-way pipe (at most about one batch
ahead: the pipe blocks) and, when it must read the database (picklists, custom field
definitions on first use), does so through a connection of its own: the inherited ones are
set aside, never used nor closed, since closing a PostgreSQL connection in the child would end
the parent's session. An in-memory SQLite database (tests) exists only in the process's own
memory, so there the child keeps its private copy.

Used when ``HUOBAN_IMPORT_READER_PROCESS`` is on (default), ``fork`` exists, more than one CPU
is available, the engine is not inside an outer transaction (the child could not see its
uncommitted rows) and the file is big enough to pay for a fork (``MIN_BYTES``).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import signal
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connections

if TYPE_CHECKING:
    from .engine import Engine, Row

log = logging.getLogger("huoban.transfer")

MIN_BYTES = 256 * 1024
POLL_SECONDS = 1.0
STALL_SECONDS = 600.0  # no batch for this long: the reader is stuck; the attempt fails and is retried
_SET_ASIDE: list[Any] = []  # inherited database connections the child must neither use nor close


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def reader_for(engine: Engine, path: str) -> Reader | None:
    """A reader process for this run, or None when the run should read in its own process."""
    if not getattr(settings, "IMPORT_READER_PROCESS", True):
        return None
    if "fork" not in multiprocessing.get_all_start_methods() or _cpus() < 2:
        return None
    if any(conn.in_atomic_block for conn in connections.all(initialized_only=True)):
        return None
    try:
        if os.path.getsize(path) < MIN_BYTES:
            return None
    except OSError:
        return None
    return Reader(engine)


class ReaderFailed(RuntimeError):
    """The reader process stopped without finishing the file."""


class Reader:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.process: Any = None
        self.pipe: Any = None

    def batches(self) -> Iterator[list[Row]]:
        """Prepared batches in file order; ``engine._fraction`` follows the child's reading."""
        ctx = multiprocessing.get_context("fork")
        receive, send = ctx.Pipe(duplex=False)
        self.pipe = receive
        clean = self.engine.clean_early
        self.process = ctx.Process(
            target=_child,
            args=(self.engine, send, clean),
            name=f"huoban-import-{self.engine.run.pk}-reader",
            daemon=not multiprocessing.current_process().daemon,
        )
        self.process.start()
        send.close()  # the parent's copy: EOF on ``receive`` once the child is gone
        while True:
            waited = 0.0
            while not receive.poll(POLL_SECONDS):  # a reader that hangs must not hang the run
                waited += POLL_SECONDS
                if not self.process.is_alive() and not receive.poll(0):
                    break  # gone without a word: EOFError below
                if waited >= STALL_SECONDS:
                    raise ReaderFailed(
                        f"import {self.engine.run.pk}: the reader process sent nothing for {STALL_SECONDS:.0f} s"
                    )
            try:
                kind, payload, fraction = receive.recv()
            except EOFError:
                self.process.join(5)
                raise ReaderFailed(
                    f"import {self.engine.run.pk}: the reader process stopped (exit code {self.process.exitcode})"
                ) from None
            if kind == "batch":
                self.engine._fraction = fraction
                yield payload
            elif kind == "done":
                for stage, seconds in payload.items():
                    key = f"reader_{stage}"
                    self.engine.timings[key] = self.engine.timings.get(key, 0.0) + seconds
                self.engine._fraction = fraction
                return
            else:
                raise payload

    def stop(self) -> None:
        if self.pipe is not None:
            self.pipe.close()
        if self.process is not None:
            self.process.join(2)
            if self.process.is_alive():
                self.process.terminate()
                self.process.join(5)


def _set_aside_connections() -> None:
    for conn in connections.all(initialized_only=True):
        if conn.connection is None:
            continue
        if conn.vendor == "sqlite" and conn.is_in_memory_db():  # type: ignore[attr-defined]
            continue  # the child's private copy of the database
        _SET_ASIDE.append(conn.connection)
        conn.connection = None  # the next query opens the child's own connection


def _child(engine: Engine, send: Any, clean: bool) -> None:
    # The worker's signal handlers (e.g. the task consumer's graceful stop) are not the child's:
    # the run's process ends it by closing the pipe, or terminates it.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _set_aside_connections()
    engine.timings = {}
    try:
        for batch in engine.batches():
            engine.prepare(batch, clean=clean)
            send.send(("batch", batch, engine.source.fraction() if engine.source is not None else 0.0))
        send.send(("done", engine.timings, 1.0))
    except BrokenPipeError:
        pass  # the parent stopped reading (it failed or was cancelled)
    except BaseException as exc:  # the parent raises it as if it had read the file itself
        try:
            pickle.loads(pickle.dumps(exc))
            failure: BaseException = exc
        except Exception:
            failure = ReaderFailed(f"{type(exc).__name__}: {exc}")
        log.warning("import %s: the reader process failed: %r", engine.run.pk, exc)
        try:
            send.send(("error", failure, 0.0))
        except (BrokenPipeError, OSError):
            pass
    finally:
        send.close()
