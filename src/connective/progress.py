"""Progress of long work (compiling, sampling, bootstrapping, studies), for people and logs.

In a terminal a counter redraws one line; when the output is not a terminal (a demo sent to
a file, a CI log) it writes timestamped lines instead, at most one every 10 s and at the end.
A stage (``with stage("compiling the model")``) says when it starts and ends, and every 10 s
in between that it is still at it, so no wait over 10 s is silent.

Example
-------
>>> import io
>>> out = io.StringIO()
>>> tick = counter("bootstrap", 3, stream=out)
>>> for done in (1, 2, 3):
...     tick(done)
>>> out.getvalue().splitlines()[-1][11:]
'bootstrap: 3/3 (100%)'
"""

from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator, TextIO

#: seconds between lines when nothing else is said
EVERY = 10.0


def _stamp() -> str:
    return time.strftime("[%H:%M:%S]")


def _is_terminal(stream: TextIO) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


def counter(what: str, total: int, *, stream: TextIO | None = None,
            every: float = EVERY) -> Callable[[int], None]:
    """A function to call with the number done so far: a redrawn bar in a terminal,
    timestamped lines (at most one per ``every`` seconds, and the last) elsewhere."""
    stream = stream or sys.stderr
    start = time.monotonic()
    last = [float("-inf")]
    terminal = _is_terminal(stream)

    def tick(done: int) -> None:
        now = time.monotonic()
        elapsed = now - start
        left = elapsed / done * (total - done) if done else float("nan")
        if terminal:
            width = 30
            filled = int(width * done / max(total, 1))
            stream.write(f"\r{what} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
                         + (f", about {left:,.0f} s left " if done < total and done else "")
                         + ("\n" if done >= total else ""))
        elif done >= total or now - last[0] >= every:
            last[0] = now
            stream.write(f"{_stamp()} {what}: {done}/{total} ({done / max(total, 1):.0%})"
                         + (f", {elapsed:,.0f} s, about {left:,.0f} s left" if done < total
                            else "") + "\n")
        stream.flush()

    return tick


@contextmanager
def stage(what: str, *, enabled: bool = True, stream: TextIO | None = None,
          every: float = EVERY) -> Iterator[None]:
    """Say that ``what`` starts, that it is still going every ``every`` seconds, and when it
    ends (with its time). Does nothing when not ``enabled``.

    >>> import io
    >>> out = io.StringIO()
    >>> with stage("compiling the model", stream=out):
    ...     pass
    >>> [line[11:].split(" in ")[0] for line in out.getvalue().splitlines()]
    ['compiling the model ...', 'compiling the model: done']
    """
    if not enabled:
        yield
        return
    stream = stream or sys.stderr
    start = time.monotonic()
    stop = threading.Event()
    stream.write(f"{_stamp()} {what} ...\n")
    stream.flush()

    def beat() -> None:
        while not stop.wait(every):
            stream.write(f"{_stamp()} still {what} ({time.monotonic() - start:,.0f} s)\n")
            stream.flush()

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        stream.write(f"{_stamp()} {what}: done in {time.monotonic() - start:,.1f} s\n")
        stream.flush()


def sampler_stage(what: str, progress: bool, stream: TextIO | None = None):
    """The stage of a sampler that draws its own bar in a terminal: announced with
    heartbeats only when the output is not one (or when the bar is off but progress on)."""
    stream = stream or sys.stderr
    return stage(what, enabled=progress and not _is_terminal(stream), stream=stream)
