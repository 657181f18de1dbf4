"""bayes/llvm_passes.py: which of numba's libraries LLVM optimises, and at what level."""

from __future__ import annotations

import re

import numba
from numba.core.codegen import CPUCodeLibrary

from connective.bayes.llvm_passes import optimised_at


@numba.njit(no_cpython_wrapper=True, no_cfunc_wrapper=True)
def node_square(x):
    return x * x + 1.0


def _calls(name: str) -> int:
    """How many calls of ``node_square`` are left in the optimised code of a function named
    ``name`` that calls it twice (LLVM's module passes at level 3 inline them all)."""
    namespace = {"node_square": node_square}
    exec(f"def {name}(x):\n    return node_square(x) + node_square(x + 1.0)\n", namespace)
    function = numba.njit(namespace[name], no_cpython_wrapper=True, no_cfunc_wrapper=True)
    function.compile("float64(float64)")
    ir = function.overloads[function.signatures[0]].library.get_llvm_str()
    return len(re.findall(r"call [^\n]*node_square", ir))


def test_only_the_named_libraries_are_left_unoptimised():
    with optimised_at(0, only={"connective_glue"}):
        assert (_calls("connective_glue"), _calls("some_node")) == (2, 0)


def test_every_library_but_the_named_ones_is_left_unoptimised():
    with optimised_at(0, but={"the_kernel"}):
        assert (_calls("a_helper"), _calls("the_kernel")) == (2, 0)


def test_numbas_own_passes_are_back_afterwards_even_after_an_error():
    numbas = CPUCodeLibrary._optimize_final_module
    try:
        with optimised_at(0, only={"after_glue"}):
            raise KeyError("a failed compilation")
    except KeyError:
        pass
    assert CPUCodeLibrary._optimize_final_module is numbas
    assert _calls("after_glue") == 0
    with optimised_at(None, only={"no_level_glue"}):
        assert _calls("no_level_glue") == 0
