"""A model's log-density as a tape of scalar instructions, so that no machine code is
compiled per model.

PyTensor's numba backend (what nutpie compiles) turns every model into machine code of its
own: 30-40 s of LLVM for a new model, whose likelihood is one call of a kernel compiled once
per machine (:mod:`~connective.bayes.sem_normal_op`). What is left around that call is
small: the priors, their transforms and the map from the sampled values to lavaan's
parameter vector, a few hundred scalar operations. This module translates PyMC's graph of
them into a flat program, one instruction per scalar operation on numbered registers
(single assignment), with each structural step (a gather, a scatter, a reshape) done once,
here, on the registers' numbers. One interpreter compiled once per machine
(:mod:`~connective.bayes.tape_kernel`) then runs every model's program forwards, and
backwards for the gradient (reverse mode: each register's adjoint).

Nodes whose inputs are all known (constants, the data containers, shapes) are evaluated
here by their Op's own ``perform``; a model whose graph holds an Op without a translation
raises :class:`Untranslatable`, and :func:`connective.bayes.sample.compile_model` then
compiles it with PyTensor's numba backend as before.

Example
-------
>>> import numpy as np, pytensor.tensor as pt
>>> x = pt.tensor("x", shape=(2,), dtype="float64")
>>> program = translate([x], [pt.sum(pt.exp(x) * 2.0)])
>>> round(run_program(program, np.array([0.0, 1.0]))[0], 6)  # 2 + 2e
7.436564
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


class Untranslatable(Exception):
    """The graph holds an operation the tape has no instruction for (compile it instead)."""


# -- the instruction set (the interpreter in tape_kernel.py matches these numbers) ----------
OPCODES = {name: code for code, name in enumerate((
    "copy", "add", "sub", "mul", "div", "neg", "exp", "log", "log1p", "sqrt", "sqr", "pow",
    "abs", "sign", "switch", "gt", "ge", "lt", "le", "eq", "neq", "and", "or", "not",
    "maximum", "minimum", "erfc", "erf", "log1mexp", "softplus", "sigmoid", "gammaln",
    "expm1", "reciprocal", "isnan", "tanh", "isinf", "call"))}
#: instructions whose output has no derivative (their adjoints are never propagated)
FLAT = {"sign", "gt", "ge", "lt", "le", "eq", "neq", "and", "or", "not", "isnan", "isinf"}
#: PyTensor's scalar Ops by class name -> the instruction (n-ary add and mul are chained)
SCALAR_OPS = {
    "Add": "add", "Sub": "sub", "Mul": "mul", "TrueDiv": "div", "Neg": "neg", "Exp": "exp",
    "Log": "log", "Log1p": "log1p", "Sqrt": "sqrt", "Sqr": "sqr", "Pow": "pow", "Abs": "abs",
    "Sign": "sign", "Switch": "switch", "GT": "gt", "GE": "ge", "LT": "lt", "LE": "le",
    "EQ": "eq", "NEQ": "neq", "AND": "and", "OR": "or", "Invert": "not",
    "Maximum": "maximum", "Minimum": "minimum", "Erfc": "erfc", "Erf": "erf",
    "Log1mexp": "log1mexp", "Softplus": "softplus", "Sigmoid": "sigmoid",
    "GammaLn": "gammaln", "Expm1": "expm1", "Reciprocal": "reciprocal", "IsNan": "isnan",
    "Tanh": "tanh", "IsInf": "isinf"}
#: a reduction's scalar Op -> (instruction, value of an empty reduction)
REDUCTIONS = {"Add": ("add", 0.0), "Mul": ("mul", 1.0), "AND": ("and", 1.0),
              "OR": ("or", 0.0), "Maximum": ("maximum", -np.inf),
              "Minimum": ("minimum", np.inf)}
#: Ops that only move or view their first input's cells: run on the registers' numbers
MOVES = {"DimShuffle", "Subtensor", "AdvancedSubtensor1", "AdvancedSubtensor", "Reshape",
         "SpecifyShape", "ViewOp", "DeepCopyOp", "OutputGuard", "ScalarFromTensor",
         "TensorFromScalar", "Split", "ExpandDims", "Squeeze", "Transpose"}
#: the longest program run by the interpreter (about 6 ns an instruction, forwards and
#: backwards): beyond it, a model's own machine code pays for its compilation
MAX_INSTRUCTIONS = 50_000
#: a call of an external kernel: the fields of its record in the program (see tape_kernel)
CALL_FIELDS = 27


@dataclass
class Call:
    """A call of the SEM likelihood kernel: its parameter registers (contiguous), where it
    writes its log-likelihood and gradient, and its other inputs (known arrays)."""

    theta: int  # first register of the G x K parameters
    groups: int
    params: int
    grad: int  # first register of the G x K gradient it writes
    arrays: list  # the kernel's array inputs after theta, in sem_normal_op's order


@dataclass
class Program:
    """A translated graph: ``instructions`` rows (opcode, output, a, b, c) over
    ``len(initial)`` registers that start at ``initial`` (constants), the ``inputs``'
    registers, the ``outputs``' registers, and the kernel ``calls``."""

    instructions: np.ndarray
    initial: np.ndarray
    inputs: np.ndarray
    outputs: np.ndarray
    output_shapes: list = field(default_factory=list)  # each output's shape (raveled above)
    calls: list = field(default_factory=list)

    @property
    def n_registers(self) -> int:
        return len(self.initial)


class _Known:
    """A value known at translation time (a constant, data, a shape, an index)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


class _Tape:
    def __init__(self):
        self.initial: list[float] = []
        self.rows: list[tuple[int, int, int, int, int]] = []
        self.constants: dict[bytes, int] = {}
        self.constant_value: dict[int, float] = {}  # register -> its constant value
        self.calls: list[Call] = []

    def register(self, value: float = 0.0) -> int:
        self.initial.append(value)
        return len(self.initial) - 1

    def constant(self, value) -> int:
        value = float(value)
        key = np.float64(value).tobytes()  # -0.0, nan and inf each once
        if key not in self.constants:
            self.constants[key] = self.register(value)
            self.constant_value[self.constants[key]] = value
        return self.constants[key]

    def emit(self, name: str, a: int, b: int = -1, c: int = -1) -> int:
        out = self.register()
        self.rows.append((OPCODES[name], out, a, b, c))
        return out

    def chain(self, name: str, regs) -> int:
        out = regs[0]
        for r in regs[1:]:
            out = self.emit(name, out, r)
        return out


def _registers(tape: _Tape, entry) -> np.ndarray:
    """The registers of an entry (known values become constant registers)."""
    if isinstance(entry, _Known):
        value = np.asarray(entry.value)
        if value.dtype.kind not in "biuf":
            raise Untranslatable(f"a value of type {value.dtype} in arithmetic")
        out = np.empty(value.shape, dtype=np.int64)
        for idx in np.ndindex(value.shape):
            out[idx] = tape.constant(value[idx])
        return out
    return entry


def _scalar(tape: _Tape, op, regs: list[int]) -> int:
    """One scalar operation (a Composite's inner graph, recursively)."""
    kind = type(op).__name__
    if kind == "Composite":
        env = dict(zip(op.fgraph.inputs, regs))
        for node in op.fgraph.toposort():
            ins = []
            for v in node.inputs:
                if v in env:
                    ins.append(env[v])
                elif hasattr(v, "data"):
                    ins.append(tape.constant(v.data))
                else:  # pragma: no cover -- a Composite's inputs are its graph's
                    raise Untranslatable("a Composite input without a value")
            env[node.outputs[0]] = _scalar(tape, node.op, ins)
        return env[op.fgraph.outputs[0]]
    if kind in ("Identity", "Cast"):
        if kind == "Cast" and op.o_type.dtype.startswith(("int", "uint")):
            raise Untranslatable("a cast to integers of a sampled value")
        if kind == "Cast" and op.o_type.dtype == "bool":  # nonzero is true
            return tape.emit("neq", regs[0], tape.constant(0.0))
        return regs[0]
    if kind == "Second":  # fill: the second input, broadcast to the first's shape
        return regs[1]
    if kind in ("Add", "Mul", "AND", "OR", "Maximum", "Minimum") and len(regs) != 2:
        return tape.chain(SCALAR_OPS[kind], list(regs))
    if kind not in SCALAR_OPS:
        raise Untranslatable(f"the scalar operation {kind}")
    if kind == "Pow" and regs[1] in tape.constant_value:
        return _power(tape, regs[0], tape.constant_value[regs[1]])
    return tape.emit(SCALAR_OPS[kind], *regs)


def _power(tape: _Tape, base: int, exponent: float) -> int:
    """``base ** exponent`` for a constant exponent: the usual ones without a call of pow
    (the priors' squared standardised values: a third of the flagship model's time in the
    tape went to pow and its derivative's pow)."""
    if exponent == 2.0:
        return tape.emit("sqr", base)
    if exponent == 1.0:
        return base
    if exponent == 0.5:
        return tape.emit("sqrt", base)
    if exponent == -1.0:
        return tape.emit("reciprocal", base)
    return tape.emit("pow", base, tape.constant(exponent))


#: scalar operations that are logical on booleans but bitwise on integers
LOGICAL = ("AND", "OR", "Invert")


def _logical_on_booleans(node) -> None:
    """Refuse and/or/not of integers (bitwise there; the tape's are logical)."""
    inner = node.op.scalar_op
    nodes = inner.fgraph.toposort() if type(inner).__name__ == "Composite" else [node]
    for n in nodes:
        name = type(getattr(n.op, "scalar_op", n.op)).__name__
        if name in LOGICAL and any(o.dtype != "bool" for o in n.outputs):
            raise Untranslatable(f"the bitwise {name} of integers")


def _elemwise(tape: _Tape, op, entries) -> np.ndarray:
    regs = np.broadcast_arrays(*[_registers(tape, e) for e in entries])
    out = np.empty(regs[0].shape, dtype=np.int64)
    for idx in np.ndindex(out.shape):
        out[idx] = _scalar(tape, op.scalar_op, [int(r[idx]) for r in regs])
    return out


def _reduce(tape: _Tape, op, regs: np.ndarray) -> np.ndarray:
    kind = type(op.scalar_op).__name__
    if kind not in REDUCTIONS:
        raise Untranslatable(f"a reduction by {kind}")
    name, empty = REDUCTIONS[kind]
    axes = tuple(range(regs.ndim)) if op.axis is None else tuple(op.axis)
    kept = [a for a in range(regs.ndim) if a not in axes]
    moved = np.transpose(regs, kept + list(axes))
    moved = moved.reshape(moved.shape[:len(kept)] + (-1,))
    out = np.empty(moved.shape[:-1], dtype=np.int64)
    for idx in np.ndindex(out.shape):
        cells = [int(r) for r in moved[idx]]
        out[idx] = tape.chain(name, cells) if cells else tape.constant(empty)
    return out


def _increment(tape: _Tape, op, x: np.ndarray, y: np.ndarray, indices) -> np.ndarray:
    """``x`` with ``y`` added at (or set into) the cells ``indices`` select."""
    from pytensor.tensor.subtensor import indices_from_subtensor

    cells = np.arange(x.size).reshape(x.shape)
    kind = type(op).__name__
    if kind == "IncSubtensor":
        chosen = cells[tuple(indices_from_subtensor(indices, op.idx_list))]
    elif kind == "AdvancedIncSubtensor1":
        chosen = cells[indices[0]]
    else:
        chosen = cells[tuple(indices)]
    out = x.ravel().copy()
    y = np.broadcast_to(y, np.shape(chosen))
    for cell, reg in zip(np.ravel(chosen), np.ravel(y)):
        out[cell] = reg if op.set_instead_of_inc else tape.emit("add", int(out[cell]), int(reg))
    return out.reshape(x.shape)


def _perform(node, values):
    """The node's outputs from its Op's own implementation."""
    storage = [[None] for _ in node.outputs]
    try:
        node.op.perform(node, list(values), storage)
    except NotImplementedError:
        raise Untranslatable(f"{type(node.op).__name__} has no Python implementation") from None
    return [s[0] for s in storage]


def _entry(env, v):
    """A variable's registers or known value: translated, a constant or a data container."""
    if v in env:
        return env[v]
    if hasattr(v, "data"):
        return _Known(v.data)
    if hasattr(v, "get_value"):
        return _Known(v.get_value(borrow=True))
    raise Untranslatable(f"the input {v} has no value")


def _translate_node(tape: _Tape, node, env) -> list:
    op = node.op
    kind = type(op).__name__
    entries = [_entry(env, v) for v in node.inputs]
    if kind != "SemNormalLogp" and all(isinstance(e, _Known) for e in entries):
        return [_Known(v) for v in _perform(node, [e.value for e in entries])]
    rest = [e.value if isinstance(e, _Known) else None for e in entries[1:]]
    if kind == "Elemwise":
        _logical_on_booleans(node)
        return [_elemwise(tape, op, entries)]
    if kind in ("Sum", "Prod", "All", "Any", "Max", "Min", "CAReduce"):
        return [_reduce(tape, op, _registers(tape, entries[0]))]
    if kind == "CheckParameterValue":  # PyMC: -inf where a parameter is out of its range
        value = _registers(tape, entries[0])
        conds = [_registers(tape, e).ravel() for e in entries[1:]]
        ok = tape.chain("and", [int(r) for c in conds for r in c]) if any(
            len(c) for c in conds) else tape.constant(1.0)
        minus_inf = tape.constant(-np.inf)
        out = np.empty(value.shape, dtype=np.int64)
        for idx in np.ndindex(value.shape):
            out[idx] = tape.emit("switch", ok, int(value[idx]), minus_inf)
        return [out]
    if kind in ("Assert", "CheckAndRaise"):
        if any(v is None for v in rest) or not all(np.all(v) for v in rest):
            raise Untranslatable("an assertion on sampled values")
        return [entries[0]]
    if kind in ("Shape", "Shape_i"):
        shape = np.shape(_registers(tape, entries[0]))
        return [_Known(np.array(shape if kind == "Shape" else shape[op.i], dtype=np.int64))]
    if kind in MOVES:
        if any(v is None for v in rest):
            raise Untranslatable(f"{kind} with sampled indices or shapes")
        outs = _perform(node, [_registers(tape, entries[0])] + rest)
        for o in outs:
            if np.asarray(o).dtype.kind not in "iu":
                raise Untranslatable(f"{kind} changed the registers' numbers")
        return [np.asarray(o, dtype=np.int64) for o in outs]
    if kind in ("IncSubtensor", "AdvancedIncSubtensor1", "AdvancedIncSubtensor"):
        if any(v is None for v in rest[1:]):
            raise Untranslatable(f"{kind} with sampled indices")
        if getattr(op, "ignore_duplicates", False) and not op.set_instead_of_inc:
            raise Untranslatable(f"{kind} that keeps one of duplicate increments")
        return [_increment(tape, op, _registers(tape, entries[0]),
                           _registers(tape, entries[1]), rest[1:])]
    if kind == "Alloc":
        if any(v is None for v in rest):
            raise Untranslatable("Alloc of a sampled shape")
        shape = tuple(int(s) for s in rest)
        return [np.broadcast_to(_registers(tape, entries[0]), shape).copy()]
    if kind == "MakeVector":
        return [np.array([int(_registers(tape, e)) for e in entries], dtype=np.int64)]
    if kind == "Join":
        axis = int(entries[0].value) if isinstance(entries[0], _Known) else None
        if axis is None:
            raise Untranslatable("Join along a sampled axis")
        return [np.concatenate([_registers(tape, e) for e in entries[1:]], axis=axis)]
    if kind == "SemNormalLogp":
        return _call_sem(tape, node, entries)
    raise Untranslatable(f"the operation {kind}")


def _call_sem(tape: _Tape, node, entries) -> list:
    """The SEM likelihood kernel's call: its parameters copied into contiguous registers,
    its log-likelihood and G x K gradient into registers of their own."""
    theta = _registers(tape, entries[0])
    if theta.ndim == 1:
        theta = theta[None, :]
    if any(not isinstance(e, _Known) for e in entries[1:]):
        raise Untranslatable("the SEM likelihood with sampled structure or data")
    start = len(tape.initial)
    for r in theta.ravel():
        tape.emit("copy", int(r))
    grad = len(tape.initial)
    for _ in range(theta.size):
        tape.register()
    index = len(tape.calls)
    tape.calls.append(Call(theta=start, groups=theta.shape[0], params=theta.shape[1],
                           grad=grad, arrays=[np.asarray(e.value) for e in entries[1:]]))
    logp = tape.emit("call", index)
    # the gradient output has no further derivative: a graph that reads it is not
    # translated (translate() checks; the log-density graph only reads the value)
    return [np.array(logp, dtype=np.int64),
            np.arange(grad, grad + theta.size, dtype=np.int64).reshape(theta.shape)]


def _walk(tape: _Tape, inputs, outputs, shapes=None) -> list:
    """Translate the graph from ``inputs`` (of ``shapes``, else their static shapes) to
    ``outputs`` onto ``tape``: each output's entry (its registers, or its value where it is
    known), and the inputs' registers."""
    from pytensor.graph.traversal import io_toposort

    env = {}
    for k, var in enumerate(inputs):
        shape = tuple(shapes[k]) if shapes is not None else tuple(var.type.shape)
        if any(s is None for s in shape):
            raise Untranslatable(f"the input {var} has no static shape")
        env[var] = np.array([tape.register() for _ in range(int(np.prod(shape, dtype=int)))],
                            dtype=np.int64).reshape(shape)
    for node in io_toposort(list(inputs), list(outputs)):
        for var, out in zip(node.outputs, _translate_node(tape, node, env)):
            env[var] = out
    return [_entry(env, var) for var in outputs], [env[v].ravel() for v in inputs]


def translate(inputs, outputs, shapes=None) -> Program:
    """The program of ``outputs`` (PyTensor variables) given ``inputs`` (their registers in
    order, each raveled, are the program's inputs; ``shapes`` where their types do not fix
    them); every other leaf must have a value.

    Example
    -------
    >>> import pytensor.tensor as pt
    >>> a, b = pt.dscalar("a"), pt.tensor("b", shape=(2,), dtype="float64")
    >>> program = translate([a, b], [a * b[1] + pt.log(b).sum()])
    >>> value, = run_program(program, np.array([2.0, 1.0, 3.0]))[:1]
    >>> round(float(value), 6) == round(6 + float(np.log(3)), 6)
    True
    """
    tape = _Tape()
    entries, input_regs = _walk(tape, inputs, outputs, shapes)
    if len(tape.rows) > MAX_INSTRUCTIONS:
        raise Untranslatable(f"{len(tape.rows):,} instructions: machine code of its own "
                             "samples faster")
    out_regs, out_shapes = [], []
    for entry in entries:
        regs = _registers(tape, entry)
        out_regs.append(regs.ravel())
        out_shapes.append(tuple(int(s) for s in regs.shape))
    # the kernel's gradient is kept for the backward pass only: nothing may read it
    used = {int(r) for row in tape.rows if row[0] != OPCODES["call"] for r in row[2:]}
    used |= {int(r) for regs in out_regs for r in regs}
    if any(c.grad + k in used for c in tape.calls for k in range(c.groups * c.params)):
        raise Untranslatable("a graph that reads the SEM kernel's gradient")
    return Program(
        instructions=np.array(tape.rows, dtype=np.int64).reshape(-1, 5),
        initial=np.array(tape.initial, dtype=float),
        inputs=np.concatenate(input_regs) if input_regs else np.zeros(0, dtype=np.int64),
        outputs=np.concatenate(out_regs) if out_regs else np.zeros(0, dtype=np.int64),
        output_shapes=out_shapes, calls=tape.calls)


def evaluate(outputs) -> list[np.ndarray]:
    """The values of graphs without sampled inputs (every leaf a constant or data), by the
    Ops' own implementations: no compilation.

    Example
    -------
    >>> import pytensor.tensor as pt
    >>> evaluate([pt.log(pt.as_tensor(np.array([1.0, np.e])))])[0].tolist()
    [0.0, 1.0]
    """
    entries, _ = _walk(_Tape(), [], outputs)
    if not all(isinstance(e, _Known) for e in entries):
        raise Untranslatable("a graph that needs the likelihood kernel")
    return [np.asarray(e.value) for e in entries]


def run_program(program: Program, x: np.ndarray, gradient: bool = True):
    """``(value of the first output, all outputs' values, gradient of the first output
    wrt the inputs)`` by the numba interpreter (see :mod:`~connective.bayes.tape_kernel`).

    Example
    -------
    >>> import pytensor.tensor as pt
    >>> x = pt.tensor("x", shape=(2,), dtype="float64")
    >>> value, _, grad = run_program(translate([x], [(x ** 2).sum()]), np.array([1.0, 2.0]))
    >>> float(value), grad.tolist()
    (5.0, [2.0, 4.0])
    """
    from connective.bayes.sem_normal_op import ensure_kernel
    from connective.bayes.tape_kernel import pack, run

    ensure_kernel()  # the interpreter links to the likelihood kernel's symbol
    ints, floats = pack(program)
    x = np.ascontiguousarray(x, dtype=float)
    grad = np.zeros(len(x))
    out = np.zeros(len(program.outputs))
    value = run(ints, floats, x, grad, out, gradient)
    return value, out, grad
