"""How much LLVM optimises each of numba's libraries while one of ours is compiled.

numba compiles every function into a library of its own, optimised by LLVM's module passes
at numba's level (3); a caller links the whole code of every function it calls into its own
library and optimises all of it again, then generates machine code for all of it. So a
function's code is optimised once for each level of callers above it, and only the last
time counts where the callers are optimised too. Only these module passes are chosen here;
numba's passes over each function as it is lowered run as always. Two of our compilations
wasted most of their time that way, each in its own direction:

- nutpie's callbacks of a model compiled by numba (:mod:`~connective.bayes.nutpie_cache`):
  the glue on top (PyTensor's function of the graph and its cached wrapper, which only call
  the nodes' functions in turn, and the callback around them) re-optimised the code of every
  node at each of its levels, though numba had optimised (or cached) each node already. The
  glue's module passes run at level 0 instead: a new 26-item ordinal model's two callbacks
  compiled in 51 s against 97 s, its gradient as fast (833 against 861 us).
- the SEM likelihood kernel (:mod:`~connective.bayes.sem_normal_op`), numerical code whose
  helpers must be inlined into their callers' loops: its helpers are left as lowered, and
  the kernel on top optimises all of it once (7.8-9.6 s against 11.7-12.5 s on a new
  machine, its gradient as fast). Every library first compiled in that window is left so,
  numba's own implementations too; all of them are linked into the kernel and optimised
  there, and only a direct call from Python (a test's) runs them unoptimised.

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
    from numba.core.compiler_lock import global_compiler_lock

    if level is None:
        yield
        return

    def optimise(library):
        if library.name in but or (only is not None and library.name not in only):
            return numbas(library)
        try:  # numba 0.65's new pass manager; with another API numba's own passes run
            passes, builder = library._codegen._module_pass_manager(
                opt=level, loop_vectorize=False, slp_vectorize=False)
            passes.run(library._final_module, builder)
        except (AttributeError, TypeError, ValueError):
            numbas(library)

    # numba's own lock (reentrant): no other thread compiles under this policy meanwhile
    with global_compiler_lock:
        numbas = CPUCodeLibrary._optimize_final_module
        CPUCodeLibrary._optimize_final_module = optimise
        try:
            yield
        finally:
            CPUCodeLibrary._optimize_final_module = numbas
