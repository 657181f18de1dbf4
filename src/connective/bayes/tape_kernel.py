"""The interpreter of :mod:`~connective.bayes.tape` programs, and nutpie's two callbacks
around it: compiled once per machine (numba ``cache=True``) for every model.

A program is two flat arrays (:func:`pack`): integers (a header, the instructions, the
input and output registers, which registers carry a derivative, the kernel calls' records
and their integer arrays) and floats (the registers' starting values, the calls' float
arrays). nutpie's ``user_data`` pointer points at the addresses of the log-density's and the
expand function's arrays (:func:`compile_tape`), so a model is data, not machine code:
a new model is translated in well under a second and samples at once.

Example
-------
>>> compiled = compile_tape(bm.model, initial_points=bm.initvals)  # doctest: +SKIP
>>> import nutpie; idata = nutpie.sample(compiled, seed=1)  # doctest: +SKIP
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba.core import cgutils, types
from numba.extending import intrinsic

from connective.bayes import sem_normal_op
from connective.bayes.nutpie_cache import EXPAND_SIGNATURE, LOGP_SIGNATURE
from connective.bayes.tape import (CALL_FIELDS, FLAT, OPCODES, Program, Untranslatable,
                                   evaluate, translate)

#: the likelihood kernel's symbol the interpreter calls. numba's cache of this file knows
#: nothing of sem_normal_op.py, so an interpreter cached against an older kernel would be
#: loaded and fail to link: a new kernel symbol must be written here too, which changes
#: this file and so compiles the interpreter anew
KERNEL_SYMBOL = "connective_sem_normal_logp_grad_7"
if sem_normal_op._SYMBOL != KERNEL_SYMBOL:  # pragma: no cover -- a developer's reminder
    raise ImportError(f"tape_kernel.KERNEL_SYMBOL is {KERNEL_SYMBOL}, the kernel's symbol "
                      f"{sem_normal_op._SYMBOL}: set it, so that the interpreter recompiles")
#: the header's fields (integers at the start of a packed program)
HEADER = ("registers", "instructions", "instructions_at", "inputs", "inputs_at", "outputs",
          "outputs_at", "calls", "calls_at", "initial_at", "carries_at")
HEADER_SIZE = 16
# the header fields' positions, as constants numba folds into the interpreter
_N_REGISTERS, _N_INSTRUCTIONS, _INSTRUCTIONS_AT = (HEADER.index(k) for k in (
    "registers", "instructions", "instructions_at"))
_N_INPUTS, _INPUTS_AT, _N_OUTPUTS, _OUTPUTS_AT = (HEADER.index(k) for k in (
    "inputs", "inputs_at", "outputs", "outputs_at"))
_CALLS_AT, _INITIAL_AT, _CARRIES_AT = (HEADER.index(k) for k in (
    "calls_at", "initial_at", "carries_at"))
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_LOG_HALF = math.log(0.5)

# the opcodes as constants numba folds into the interpreter's branches, by name
(_COPY, _ADD, _SUB, _MUL, _DIV, _NEG, _EXP, _LOG, _LOG1P, _SQRT, _SQR, _POW, _ABS, _SIGN,
 _SWITCH, _GT, _GE, _LT, _LE, _EQ, _NEQ, _AND, _OR, _NOT, _MAXIMUM, _MINIMUM, _ERFC, _ERF,
 _LOG1MEXP, _SOFTPLUS, _SIGMOID, _GAMMALN, _EXPM1, _RECIPROCAL, _ISNAN, _TANH, _ISINF,
 _CALL) = (OPCODES[name] for name in (
    "copy", "add", "sub", "mul", "div", "neg", "exp", "log", "log1p", "sqrt", "sqr", "pow",
    "abs", "sign", "switch", "gt", "ge", "lt", "le", "eq", "neq", "and", "or", "not",
    "maximum", "minimum", "erfc", "erf", "log1mexp", "softplus", "sigmoid", "gammaln",
    "expm1", "reciprocal", "isnan", "tanh", "isinf", "call"))


def pack(program: Program) -> tuple[np.ndarray, np.ndarray]:
    """``(integers, floats)``: the program as the interpreter reads it.

    Example
    -------
    >>> import pytensor.tensor as pt
    >>> from connective.bayes.tape import translate
    >>> x = pt.tensor("x", shape=(2,), dtype="float64")
    >>> ints, floats = pack(translate([x], [pt.exp(x).sum()]))
    >>> int(ints[0]), floats.dtype.name  # registers: 2 inputs, 2 exp, their sum
    (5, 'float64')
    """
    n = program.n_registers
    carries = np.zeros(n, dtype=np.int64)  # does the register depend on an input?
    carries[program.inputs] = 1
    flat = {OPCODES[name] for name in FLAT}
    for op, out, a, b, c in program.instructions:
        if op in flat:
            continue
        if op == OPCODES["call"]:
            call = program.calls[a]
            size = call.groups * call.params
            carries[out] = carries[call.theta:call.theta + size].any()
        elif op == OPCODES["switch"]:
            carries[out] = carries[b] or carries[c]
        else:
            carries[out] = any(carries[r] for r in (a, b, c) if r >= 0)
        if carries[out] and op == OPCODES["gammaln"]:
            raise Untranslatable("gammaln of a sampled value (its derivative, digamma)")
    ints: list[np.ndarray] = [np.zeros(HEADER_SIZE, dtype=np.int64)]
    floats: list[np.ndarray] = [program.initial.astype(float)]
    sizes = {"i": HEADER_SIZE, "f": n}

    def put(kind: str, values) -> int:
        values = np.ascontiguousarray(values, dtype=np.int64 if kind == "i" else float).ravel()
        at = sizes[kind]
        (ints if kind == "i" else floats).append(values)
        sizes[kind] += values.size
        return at

    header = dict(registers=n, instructions=len(program.instructions),
                  instructions_at=put("i", program.instructions), inputs=len(program.inputs),
                  inputs_at=put("i", program.inputs), outputs=len(program.outputs),
                  outputs_at=put("i", program.outputs), calls=len(program.calls),
                  initial_at=0, carries_at=put("i", carries))
    records = []
    for call in program.calls:
        (constants, g_lambda, g_beta, g_psi, g_theta, g_nu, g_alpha, group, n_rows, mean,
         factor, rank, observed) = call.arrays
        records.append([
            call.theta, call.groups, call.params, call.grad,
            put("f", constants), constants.size,
            put("i", g_lambda), g_lambda.size, put("i", g_beta), g_beta.size,
            put("i", g_psi), g_psi.size, put("i", g_theta), g_theta.size,
            put("i", g_nu), g_nu.size, put("i", g_alpha), g_alpha.size,
            put("i", group), group.size, put("f", n_rows), put("f", mean), mean.shape[1],
            put("f", factor), factor.shape[2], put("i", rank), put("f", observed)])
    header["calls_at"] = put("i", np.array(records, dtype=np.int64).reshape(-1, CALL_FIELDS))
    ints[0][:len(HEADER)] = [header[k] for k in HEADER]
    return np.concatenate(ints), np.concatenate(floats)


@numba.njit(cache=True, error_model="numpy")
def _call_sem(R, ints, floats, rec):
    """One call of the SEM likelihood kernel (by its C symbol): its log-likelihood; its
    gradient into the registers the record names."""
    theta, G, K, grad = ints[rec], ints[rec + 1], ints[rec + 2], ints[rec + 3]
    size = G * K
    return sem_normal_op._SEM_C(
        R[theta:theta + size].ctypes, G, K, floats[ints[rec + 4]:].ctypes, ints[rec + 5],
        ints[ints[rec + 6]:].ctypes, ints[rec + 7], ints[ints[rec + 8]:].ctypes, ints[rec + 9],
        ints[ints[rec + 10]:].ctypes, ints[rec + 11], ints[ints[rec + 12]:].ctypes,
        ints[rec + 13], ints[ints[rec + 14]:].ctypes, ints[rec + 15],
        ints[ints[rec + 16]:].ctypes, ints[rec + 17], ints[ints[rec + 18]:].ctypes,
        ints[rec + 19], floats[ints[rec + 20]:].ctypes, floats[ints[rec + 21]:].ctypes,
        ints[rec + 22], floats[ints[rec + 23]:].ctypes, ints[rec + 24],
        ints[ints[rec + 25]:].ctypes, floats[ints[rec + 26]:].ctypes,
        R[grad:grad + size].ctypes)


@numba.njit(cache=True, error_model="numpy")
def _softplus(x):  # as PyTensor's scalar softplus
    if x < -37.0:
        return math.exp(x)
    if x < 18.0:
        return math.log1p(math.exp(x))
    if x < 33.3:
        return x + math.exp(-x)
    return x


# error_model="numpy": a division by zero gives inf or nan, as in PyTensor's code, where
# numba's default raises an exception that a C callback can only swallow (nutpie would then
# read stale values as a success)
@numba.njit(cache=True, error_model="numpy")
def _forward(ints, floats, R):
    n, at = ints[_N_INSTRUCTIONS], ints[_INSTRUCTIONS_AT]
    calls_at = ints[_CALLS_AT]
    for i in range(n):
        row = at + 5 * i
        op, o, a, b = ints[row], ints[row + 1], ints[row + 2], ints[row + 3]
        if op == _COPY:
            R[o] = R[a]
        elif op == _ADD:
            R[o] = R[a] + R[b]
        elif op == _SUB:
            R[o] = R[a] - R[b]
        elif op == _MUL:
            R[o] = R[a] * R[b]
        elif op == _DIV:
            R[o] = R[a] / R[b]
        elif op == _NEG:
            R[o] = -R[a]
        elif op == _EXP:
            R[o] = math.exp(R[a])
        elif op == _LOG:
            x = R[a]
            R[o] = math.log(x) if x > 0.0 else (-math.inf if x == 0.0 else math.nan)
        elif op == _LOG1P:
            x = R[a]
            R[o] = math.log1p(x) if x > -1.0 else (-math.inf if x == -1.0 else math.nan)
        elif op == _SQRT:
            x = R[a]
            R[o] = math.sqrt(x) if x >= 0.0 else math.nan
        elif op == _SQR:
            R[o] = R[a] * R[a]
        elif op == _POW:
            R[o] = R[a] ** R[b]
        elif op == _ABS:
            R[o] = abs(R[a])
        elif op == _SIGN:
            x = R[a]
            R[o] = 1.0 if x > 0.0 else (-1.0 if x < 0.0 else x)
        elif op == _SWITCH:
            R[o] = R[b] if R[a] != 0.0 else R[ints[row + 4]]
        elif op == _GT:
            R[o] = 1.0 if R[a] > R[b] else 0.0
        elif op == _GE:
            R[o] = 1.0 if R[a] >= R[b] else 0.0
        elif op == _LT:
            R[o] = 1.0 if R[a] < R[b] else 0.0
        elif op == _LE:
            R[o] = 1.0 if R[a] <= R[b] else 0.0
        elif op == _EQ:
            R[o] = 1.0 if R[a] == R[b] else 0.0
        elif op == _NEQ:
            R[o] = 1.0 if R[a] != R[b] else 0.0
        elif op == _AND:
            R[o] = 1.0 if (R[a] != 0.0 and R[b] != 0.0) else 0.0
        elif op == _OR:
            R[o] = 1.0 if (R[a] != 0.0 or R[b] != 0.0) else 0.0
        elif op == _NOT:
            R[o] = 1.0 if R[a] == 0.0 else 0.0
        elif op == _MAXIMUM:  # NaN from either input, as numpy's
            x, y = R[a], R[b]
            R[o] = x if (x >= y or math.isnan(x)) else y
        elif op == _MINIMUM:
            x, y = R[a], R[b]
            R[o] = x if (x <= y or math.isnan(x)) else y
        elif op == _ERFC:
            R[o] = math.erfc(R[a])
        elif op == _ERF:
            R[o] = math.erf(R[a])
        elif op == _LOG1MEXP:
            x = R[a]
            R[o] = math.log1p(-math.exp(x)) if x < _LOG_HALF else math.log(-math.expm1(x))
        elif op == _SOFTPLUS:
            R[o] = _softplus(R[a])
        elif op == _SIGMOID:
            R[o] = 1.0 / (1.0 + math.exp(-R[a]))
        elif op == _GAMMALN:
            R[o] = math.lgamma(R[a])
        elif op == _EXPM1:
            R[o] = math.expm1(R[a])
        elif op == _RECIPROCAL:
            R[o] = 1.0 / R[a]
        elif op == _ISNAN:
            R[o] = 1.0 if math.isnan(R[a]) else 0.0
        elif op == _TANH:
            R[o] = math.tanh(R[a])
        elif op == _ISINF:
            R[o] = 1.0 if math.isinf(R[a]) else 0.0
        elif op == _CALL:
            R[o] = _call_sem(R, ints, floats, calls_at + a * CALL_FIELDS)


@numba.njit(cache=True, error_model="numpy")
def _backward(ints, R, A):
    n, at = ints[_N_INSTRUCTIONS], ints[_INSTRUCTIONS_AT]
    calls_at, carries = ints[_CALLS_AT], ints[_CARRIES_AT]
    for i in range(n - 1, -1, -1):
        row = at + 5 * i
        op, o, a, b = ints[row], ints[row + 1], ints[row + 2], ints[row + 3]
        g = A[o]
        if g == 0.0 or ints[carries + o] == 0:
            continue
        da = ints[carries + a] != 0 if a >= 0 else False
        db = ints[carries + b] != 0 if b >= 0 else False
        if op == _COPY:
            A[a] += g
        elif op == _ADD:
            if da:
                A[a] += g
            if db:
                A[b] += g
        elif op == _SUB:
            if da:
                A[a] += g
            if db:
                A[b] -= g
        elif op == _MUL:
            if da:
                A[a] += g * R[b]
            if db:
                A[b] += g * R[a]
        elif op == _DIV:
            if da:
                A[a] += g / R[b]
            if db:
                A[b] -= g * R[o] / R[b]
        elif op == _NEG:
            A[a] -= g
        elif op == _EXP:
            A[a] += g * R[o]
        elif op == _LOG:
            A[a] += g / R[a]
        elif op == _LOG1P:
            A[a] += g / (1.0 + R[a])
        elif op == _SQRT:
            A[a] += g * 0.5 / R[o]
        elif op == _SQR:
            A[a] += g * 2.0 * R[a]
        elif op == _POW:
            x, y = R[a], R[b]
            if da:
                A[a] += g * y * x ** (y - 1.0)
            if db and x > 0.0:
                A[b] += g * R[o] * math.log(x)
        elif op == _ABS:
            x = R[a]
            A[a] += g * (1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0))
        elif op == _SWITCH:
            c = ints[row + 4]
            if R[a] != 0.0:
                if db:
                    A[b] += g
            elif ints[carries + c] != 0:
                A[c] += g
        elif op == _MAXIMUM or op == _MINIMUM:  # as PyTensor: a tie goes to the first input
            if R[o] == R[a]:
                if da:
                    A[a] += g
            elif db:
                A[b] += g
        elif op == _ERFC:
            A[a] -= g * _TWO_OVER_SQRT_PI * math.exp(-R[a] * R[a])
        elif op == _ERF:
            A[a] += g * _TWO_OVER_SQRT_PI * math.exp(-R[a] * R[a])
        elif op == _LOG1MEXP:
            A[a] -= g / math.expm1(-R[a])
        elif op == _SOFTPLUS:
            A[a] += g / (1.0 + math.exp(-R[a]))
        elif op == _SIGMOID:
            A[a] += g * R[o] * (1.0 - R[o])
        elif op == _EXPM1:
            A[a] += g * (R[o] + 1.0)
        elif op == _RECIPROCAL:
            A[a] -= g * R[o] * R[o]
        elif op == _TANH:
            A[a] += g * (1.0 - R[o] * R[o])
        elif op == _CALL:
            rec = calls_at + a * CALL_FIELDS
            theta, size, grad = ints[rec], ints[rec + 1] * ints[rec + 2], ints[rec + 3]
            for k in range(size):
                A[theta + k] += g * R[grad + k]


@numba.njit(cache=True, error_model="numpy")
def run(ints, floats, x, grad, out, gradient):
    """Run the packed program on the inputs ``x``: its outputs into ``out``, the gradient
    of its first output into ``grad`` (when ``gradient``); returns the first output."""
    n, n_inputs, n_outputs = ints[_N_REGISTERS], ints[_N_INPUTS], ints[_N_OUTPUTS]
    R = floats[ints[_INITIAL_AT]:ints[_INITIAL_AT] + n].copy()
    inputs, outputs = ints[_INPUTS_AT], ints[_OUTPUTS_AT]
    for k in range(n_inputs):
        R[ints[inputs + k]] = x[k]
    _forward(ints, floats, R)
    for j in range(n_outputs):
        out[j] = R[ints[outputs + j]]
    if gradient:
        A = np.zeros(n)
        A[ints[outputs]] = 1.0
        _backward(ints, R, A)
        for k in range(n_inputs):
            grad[k] = A[ints[inputs + k]]
    return R[ints[outputs]] if n_outputs > 0 else 0.0


@intrinsic
def _pointer(typingctx, address):
    """An integer address as a pointer (nutpie's user_data holds the programs' addresses)."""
    sig = types.voidptr(address)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return sig, codegen


@numba.njit(cache=True)
def _program(header, which):
    ints = numba.carray(_pointer(header[4 * which]), (header[4 * which + 1],), np.int64)
    floats = numba.carray(_pointer(header[4 * which + 2]), (header[4 * which + 3],),
                          np.float64)
    return ints, floats


def _nutpie_logp(dim, x_, out_, logp_, user_data_):
    header = numba.carray(user_data_, (8,), np.int64)
    ints, floats = _program(header, 0)
    if dim != ints[_N_INPUTS]:
        return -1
    x = numba.carray(x_, (dim,))
    out = numba.carray(out_, (dim,))
    logp = numba.carray(logp_, ())
    value = np.empty(1)
    try:
        logp_val = run(ints, floats, x, out, value, True)
    except Exception:  # nutpie's own callbacks' code for a failed evaluation
        return 1
    logp[()] = logp_val
    for k in range(dim):  # nutpie's own return codes (a rejected point, not an error)
        if not math.isfinite(out[k]):
            return 3
    if not math.isfinite(logp_val):
        return 4
    return 0


def _nutpie_expand(dim, expanded, x_, out_, user_data_):
    header = numba.carray(user_data_, (8,), np.int64)
    ints, floats = _program(header, 1)
    if dim != ints[_N_INPUTS] or expanded != ints[_N_OUTPUTS]:
        return -1
    x = numba.carray(x_, (dim,))
    out = numba.carray(out_, (expanded,))
    try:
        run(ints, floats, x, x, out, False)
    except Exception:
        return -2
    return 0


_CALLBACKS: list = []


def callbacks():
    """nutpie's two C callbacks (compiled once per machine, then loaded from numba's cache)."""
    sem_normal_op.ensure_kernel()  # the interpreter calls the SEM kernel by its symbol
    return compile_callbacks()


def compile_callbacks():
    """The callbacks, compiled or loaded (the kernel's symbol must be registered first)."""
    if not _CALLBACKS:
        _CALLBACKS.append(numba.cfunc(LOGP_SIGNATURE, cache=True)(_nutpie_logp))
        _CALLBACKS.append(numba.cfunc(EXPAND_SIGNATURE, cache=True)(_nutpie_expand))
    return _CALLBACKS


def compile_tape(model, *, initial_points: dict):
    """nutpie's compiled model of ``model`` (what ``nutpie.compile_pymc_model`` returns)
    with its log-density and expanded variables as tape programs: no per-model machine
    code. Raises :class:`~connective.bayes.tape.Untranslatable` for a graph the tape cannot
    hold; every free variable must have a starting value in ``initial_points``.

    Example
    -------
    >>> compiled = compile_tape(bm.model, initial_points=bm.initvals)  # doctest: +SKIP
    """
    import nutpie.compile_pymc as npc
    import pytensor
    import pytensor.tensor as pt

    free = list(model.free_RVs)
    values = [model.rvs_to_values[rv] for rv in free]
    names = [v.name for v in values]
    # the log-density as nutpie builds it (the same rewrites), its inputs the value variables
    logp = pytensor.graph.rewrite_graph(model.logp(), include=["canonicalize", "stabilize"])
    # each free variable's shape (a value variable has its random variable's)
    shapes = [_shape(rv) for rv in free]
    logp_program = translate(values, [logp], shapes)
    remaining = [v for v in model.unobserved_value_vars if v.name not in names]
    expand_program = translate(values, [*values, *[pt.as_tensor(v) for v in remaining]],
                               shapes)
    # nutpie's layout of the draws: the free (unconstrained) values, then the others
    shapes += expand_program.output_shapes[len(values):]
    all_names = names + [v.name for v in remaining]
    slices, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape, dtype=int))
        slices.append(slice(start, start + size))
        start += size
    shape_info = (all_names, slices, shapes)
    n_dim = len(logp_program.inputs)
    start_point = _initial_point(model, free, initial_points)
    if start_point.size != n_dim:  # pragma: no cover -- a bug, not input
        raise Untranslatable("the starting point does not match the parameters")

    def initial_point(seed=None):  # no jitter: every chain starts at the same values
        return start_point.copy()

    programs = [pack(logp_program), pack(expand_program)]
    # only now: a model the tape cannot hold never waits for the interpreter's compilation
    logp_c, expand_c = callbacks()
    arrays = {f"{kind}_{i}": a for i, pair in enumerate(programs)
              for kind, a in zip(("ints", "floats"), pair)}
    header = np.array([x for pair in programs for a in pair
                       for x in (a.ctypes.data, a.size)], dtype=np.int64)
    dims, coords = npc._prepare_dims_and_coords(model, shape_info)
    return npc.CompiledPyMCModel(
        _n_dim=n_dim, dims=dims, _coords=coords, _shapes=dict(zip(all_names, shapes)),
        compiled_logp_func=logp_c, compiled_expand_func=expand_c,
        initial_point_func=initial_point, shared_data=arrays, user_data=header,
        n_expanded=len(expand_program.outputs), shape_info=shape_info, logp_func=None,
        expand_func=None)


def _shape(rv) -> tuple[int, ...]:
    """A random variable's shape: its static one, else its inferred shape's graph (of its
    parameters and size, not of a draw) evaluated."""
    import pytensor

    if all(s is not None for s in rv.type.shape):
        return tuple(int(s) for s in rv.type.shape)
    graph = pytensor.graph.rewrite_graph(rv.shape, include=("canonicalize",))
    return tuple(int(s) for s in evaluate([graph])[0])


def _initial_point(model, free, initial_points: dict) -> np.ndarray:
    """The free variables' starting values on the sampler's (transformed) scale."""
    import pytensor.tensor as pt

    from pymc.distributions.distribution import support_point
    from pytensor.graph.traversal import ancestors
    from pytensor.tensor.random.op import RandomVariable

    graphs = []
    for rv in free:
        given = initial_points.get(rv.name, model.rvs_to_initial_values.get(rv))
        if given is None or (isinstance(given, str) and given == "support_point"):
            value = support_point(rv)  # PyMC's default start (a normal's mean)
        elif isinstance(given, str):
            raise Untranslatable(f"a starting value by {given!r} for {rv.name}")
        else:
            value = pt.as_tensor(np.asarray(given, dtype=float))
        transform = model.rvs_to_transforms.get(rv)
        if transform is not None:
            value = transform.forward(value, *rv.owner.inputs)
        graphs.append(pt.as_tensor(value).ravel())
    if any(isinstance(v.owner.op, RandomVariable) for v in ancestors(graphs)
           if v.owner is not None):
        # a start that depends on another variable's (PyMC evaluates them in order): left
        # to PyMC's own initial point, with the numba compiler
        raise Untranslatable("a starting value that depends on another random variable")
    return np.concatenate([np.asarray(v, dtype=float).ravel() for v in evaluate(graphs)])
