"""The machine's two kernels compiled in background processes while the model is built.

On a machine that has not fitted a model yet, numba compiles the SEM likelihood kernel
(:mod:`~connective.bayes.sem_normal_op`, 7.8-9.6 s; 11.7-12.5 s before its helpers were
left for it to optimise, bayes/llvm_passes.py) and the tape interpreter
(:mod:`~connective.bayes.tape_kernel`, about 6 s) once, into its disk cache. One after the
other, in the fitting process, after PyMC's import and the model's build (about 5 s),
that was 23 s before the first draw. :func:`start` compiles both at once, each in a process
of its own, from the moment a fit begins; :func:`wait` (called before a kernel is first
loaded) waits for them, and the fitting process then loads both from the cache. The
interpreter calls the likelihood kernel by its C symbol, so its process links against a
stand-in address: the cache holds the call by name, resolved when the fitting process
loads it (as every process after the first always did).

On a machine whose cache holds both (their index files exist), no process is started. A
process that fails leaves nothing behind but its exit code: the fitting process then
compiles what is missing itself, as before.

Example
-------
>>> start()  # doctest: +SKIP
>>> wait()  # doctest: +SKIP
"""

from __future__ import annotations

import subprocess
import sys

#: the kernels, each compiled in a process of its own
KERNELS = ("likelihood", "interpreter")
#: longest wait for a background compilation, in seconds (then the fit compiles itself)
TIMEOUT = 600
_RUNNING: list[subprocess.Popen] = []


def start() -> None:
    """Start compiling (or loading) the kernels in background processes, unless this process
    already holds them or is compiling them."""
    from connective.bayes import sem_normal_op

    if _RUNNING or sem_normal_op.kernel_loaded() or cached():
        return
    for kernel in KERNELS:
        try:
            _RUNNING.append(subprocess.Popen(
                [sys.executable, "-m", "connective.bayes.warm", kernel],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL))
        except OSError:  # no process to be had: the fit compiles in its own
            return


def cached() -> bool:
    """Whether numba's cache holds the kernel and the interpreter's callbacks (their index
    files; an entry that turns out stale is compiled by the fitting process itself)."""
    import os

    from numba.core.caching import FunctionCache

    from connective.bayes import sem_normal_op, tape_kernel

    functions = (sem_normal_op._sem_c, tape_kernel._nutpie_logp, tape_kernel._nutpie_expand)
    try:
        return all(os.path.exists(FunctionCache(f)._cache_file._index_path)
                   for f in functions)
    except Exception:  # numba's cache layout changed: compile in the background anyway
        return False


def wait() -> None:
    """Wait for the background compilations started by :func:`start` (if any)."""
    while _RUNNING:
        process = _RUNNING.pop()
        try:
            process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _compile(kernel: str) -> None:
    from connective.bayes import sem_normal_op, tape_kernel

    if kernel == "likelihood":
        sem_normal_op.ensure_kernel()
    else:
        sem_normal_op.stand_in_symbol()
        tape_kernel.compile_callbacks()


if __name__ == "__main__":
    _compile(sys.argv[1])
