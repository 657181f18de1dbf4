"""How much LLVM optimises each of numba's libraries while one of ours is compiled.

numba compiles every function into a library of its own, optimised by LLVM's module passes
at numba's level (3); a caller links the whole code of every function it calls into its own
library and optimises all of it again, then generates machine code for all of it. So a
function's code is optimised once for each level of callers above it, and only the last
time counts where the callers are optimised too. Two of our compilations waste most of
their time that way, each in its own direction:

- nutpie's callbacks of a model compiled by numba (:mod:`~connective.bayes.nutpie_cache`):
  the glue on top (PyTensor's function of the graph, which only calls the nodes' functions
  in turn, and the callback around it) re-optimised the code of every node, which numba had
  optimised (or cached) already. The glue is left as lowered instead: a new 500 x 21
  ordinal model's callbacks compiled in 51 s against 97 s, its gradient as fast.
- the SEM likelihood kernel (:mod:`~connective.bayes.sem_normal_op`), numerical code whose
  helpers must be inlined into their callers' loops: its helpers are left as lowered, and
  the kernel on top optimises all of it once (9.0-9.6 s against 11.7-12.5 s on a new
  machine, its gradient as fast).

Without fast-math (see ``compile_pymc_cached``) LLVM may not reorder floating-point work at
any level, so the level changes no number: the draws are the same bit for bit.

Example
-------
>>> with optimised_at(0, only={"connective_logp"}):  # doctest: +SKIP
...     callback = numba.cfunc(signature)(connective_logp)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def optimised_at(level: int | None, *, only: frozenset[str] | set[str] | None = None,
                 but: frozenset[str] | set[str] = frozenset()) -> Iterator[None]:
    """While inside, numba's libraries named in ``only`` (every library when ``only`` is
    None), except those named in ``but``, have LLVM's module passes run at ``level``; every
    other library, and all of them with ``level`` None, as numba would. A library's name is
    its function's qualified name. The machine code is generated as always.

    Example
    -------
    >>> from numba.core.codegen import CPUCodeLibrary
    >>> numbas = CPUCodeLibrary._optimize_final_module
    >>> with optimised_at(0, only={"glue"}):
    ...     CPUCodeLibrary._optimize_final_module is numbas
    False
    >>> CPUCodeLibrary._optimize_final_module is numbas
    True
    """
    from numba.core.codegen import CPUCodeLibrary

    numbas = CPUCodeLibrary._optimize_final_module
    if level is None:
        yield
        return

    def optimise(library):
        if library.name in but or (only is not None and library.name not in only):
            return numbas(library)
        passes, builder = library._codegen._module_pass_manager(
            opt=level, loop_vectorize=False, slp_vectorize=False)
        passes.run(library._final_module, builder)

    CPUCodeLibrary._optimize_final_module = optimise
    try:
        yield
    finally:
        CPUCodeLibrary._optimize_final_module = numbas
