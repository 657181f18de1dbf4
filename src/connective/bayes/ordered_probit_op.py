"""The ordered-probit log-likelihood as one PyTensor Op with its analytic gradient.

``ordered_probit_logp(ystar, lower, upper, slots)`` is the summed log-probability of every
answer, ``sum_a log(Phi(u_a - y*_a) - Phi(l_a - y*_a))``, where ``y*_a`` is the latent
response of answer ``a`` and ``l_a = lower[slots[a]]``, ``u_a = upper[slots[a]]`` its
category's bounds in the (flattened) cutpoint tables. It is computed in one loop that also
gives the gradient with respect to ``ystar`` and to both tables (each answer's terms added
into its slot), so the sampler's gradient is one pass over the answers instead of PyTensor's
elementwise graph with its gathers and their scatter-add gradients.

The value agrees with ``bayes/ordinal.answer_logp``'s graph to rounding: a category's
probability is the difference of two *small* tail values (reflected when the lower bound is
above 0), floored at 1e-300, each tail from Cody's rational approximations
(:func:`upper_tail`); an end category's open bound gives the tail's limit, 0 or 1. The
gradient is ``d/da log P = -phi(a) / P`` and ``d/db log P = phi(b) / P``, and 0 where the
floor holds (as through the graph's ``maximum``).

The node has four outputs (the value and the three gradients); the gradient reads the last
three of a node with the same inputs, which PyTensor merges with the forward one, so a
log-density-and-gradient function runs the kernel once (tests/bayes/test_ordered_probit_op.py
counts the nodes: a graph above it that PyTensor's rewrites cloned once made it twice, see
bayes/ordinal.ordinal_loadings). The numba
implementation is a module-level kernel compiled with ``cache=True`` and registered with
PyTensor's default Op cache key, so PyTensor's numba cache and nutpie's cached callbacks
(bayes/nutpie_cache.py) keep working. :func:`register_jax` adds the JAX implementation
the numpyro and blackjax samplers need (bayes/backends.py calls it, so jax is imported only
there).

Example
-------
>>> import numpy as np, pytensor
>>> y = pytensor.tensor.dvector("y")
>>> lp = ordered_probit_logp(y, np.array([-1e4, 0.0]), np.array([0.0, 1e4]), np.array([0, 1]))
>>> f = pytensor.function([y], [lp, pytensor.grad(lp, y)])
>>> [np.round(v, 4).tolist() for v in f(np.zeros(2))]
[-1.3863, [-0.7979, 0.7979]]
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType, grad_not_implemented
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch.basic import (numba_njit,
                                                register_funcify_default_op_cache_key)

from connective.bayes.ordinal import OPEN_BOUND

#: smallest probability of an answer (as bayes/ordinal._log_prob_between)
FLOOR = 1e-300
#: the open bound of an end category in the cutpoint tables; a bound at or beyond it is
#: taken as infinite
END = OPEN_BOUND
#: bump when the kernel changes, so PyTensor's numba cache never loads an old one
KERNEL_VERSION = 3
_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


# W. J. Cody's rational approximations of the normal tail (Math. Comp. 1969; those of R's
# pnorm): Q(y) = 1 - Phi(y) for y >= 0 is 1/2 - y A(y^2) / B(y^2) near 0, else
# exp(-y^2 / 2) times a rational function of y (or of 1 / y^2 far out). That exponential is
# also the density's, so an answer's probability and its gradient take one exp per bound,
# where math.erfc computes its own exponentials besides the density's. On the flagship's
# 4,656 answers (interleaved, medians of 7): 199 us against math.erfc's 219 with latent
# responses near their answers' intervals, 207 against 399 with spread-out ones (the tails,
# where erfc is dear); the value equal, the gradient to 5e-14.
_A = (2.2352520354606839287, 161.02823106855587881, 1067.6894854603709582,
      18154.981253343561249, 0.065682337918207449113)
_B = (47.20258190468824187, 976.09855173777669322, 10260.932208618978205,
      45507.789335026729956)
_C = (0.39894151208813466764, 8.8831497943883759412, 93.506656132177855979,
      597.27027639480026226, 2494.5375852903726711, 6848.1904505362823326,
      11602.651437647350124, 9842.7148383839780218, 1.0765576773720192317e-8)
_D = (22.266688044328115691, 235.38790178262499861, 1519.377599407554805,
      6485.558298266760755, 18615.571640885098091, 34900.952721145977266,
      38912.003286093271411, 19685.429676859990727)
_P = (0.21589853405795699, 0.1274011611602473639, 0.022235277870649807,
      0.001421619193227893466, 2.9112874951168792e-5, 0.02307344176494017303)
_Q = (1.28426009614491121, 0.468238212480865118, 0.0659881378689285515,
      0.00378239633202758244, 7.29751555083966205e-5)
_NEAR, _FAR = 0.66291, math.sqrt(32.0)


@numba.njit(cache=True, inline="always")
def upper_tail(y, e):
    """Q(y) = P(Z > y) for y >= 0, given e = exp(-y^2 / 2) (Cody's approximations: relative
    error about 2e-15 up to y = 6, at most about 6e-14 far out, from the rounding of e;
    math.erfc's is larger)."""
    if y < _NEAR:
        sq = y * y
        num, den = _A[4] * sq, sq
        for i in range(3):
            num = (num + _A[i]) * sq
            den = (den + _B[i]) * sq
        return 0.5 - y * (num + _A[3]) / (den + _B[3])
    if y <= _FAR:
        num, den = _C[8] * y, y
        for i in range(7):
            num = (num + _C[i]) * y
            den = (den + _D[i]) * y
        return e * (num + _C[7]) / (den + _D[7])
    inv = 1.0 / (y * y)
    num, den = _P[5] * inv, inv
    for i in range(4):
        num = (num + _P[i]) * inv
        den = (den + _Q[i]) * inv
    return e * (_INV_SQRT_2PI - inv * (num + _P[4]) / (den + _Q[4])) / y


@numba.njit(cache=True)
def ordered_probit_kernel(ystar, lower, upper, slots):
    """(log-likelihood, d/dystar, d/dlower, d/dupper) of the answers (see the module)."""
    g_y = np.empty_like(ystar)
    g_lo = np.zeros_like(lower)
    g_hi = np.zeros_like(upper)
    total = 0.0
    for i in range(ystar.shape[0]):
        s = slots[i]
        low, up = lower[s], upper[s]
        a = low - ystar[i]
        b = up - ystar[i]
        open_low, open_up = low <= -END, up >= END
        ea = 0.0 if open_low else math.exp(-0.5 * a * a)
        eb = 0.0 if open_up else math.exp(-0.5 * b * b)
        # the difference of two small tails: Q(a) - Q(b) above 0, Phi(b) - Phi(a) below
        if a > 0:
            p = upper_tail(a, ea) - (0.0 if open_up else upper_tail(b, eb))
        else:
            cdf_b = 1.0 if open_up else (upper_tail(-b, eb) if b <= 0 else
                                         1.0 - upper_tail(b, eb))
            p = cdf_b - (0.0 if open_low else upper_tail(-a, ea))
        if p > FLOOR:
            total += math.log(p)
            da = -_INV_SQRT_2PI * ea / p
            db = _INV_SQRT_2PI * eb / p
        else:  # floored: no gradient, as through the graph's maximum
            total += math.log(FLOOR)
            da = 0.0
            db = 0.0
        g_lo[s] += da
        g_hi[s] += db
        g_y[i] = -(da + db)
    return total, g_y, g_lo, g_hi


class OrderedProbitLogp(Op):
    """Outputs: the summed log-probability of the answers and its gradients with respect to
    ``ystar``, ``lower`` and ``upper`` (``slots`` are integer data)."""

    __props__ = ()

    def make_node(self, ystar, lower, upper, slots):
        ystar = pt.as_tensor_variable(ystar, dtype="float64")
        lower = pt.as_tensor_variable(lower, dtype="float64")
        upper = pt.as_tensor_variable(upper, dtype="float64")
        slots = pt.as_tensor_variable(slots)
        if not slots.dtype.startswith(("int", "uint")):
            raise TypeError(f"slots must be integers, got {slots.dtype}")
        slots = pt.cast(slots, "int64")
        for name, v in (("ystar", ystar), ("lower", lower), ("upper", upper),
                        ("slots", slots)):
            if v.ndim != 1:
                raise TypeError(f"{name} must be a vector, got {v.ndim} dimensions")
        return Apply(self, [ystar, lower, upper, slots],
                     [pt.dscalar(), ystar.type(), lower.type(), upper.type()])

    def perform(self, node, inputs, outputs):
        ystar, lower, upper, slots = inputs
        total, g_y, g_lo, g_hi = ordered_probit_kernel(
            np.ascontiguousarray(ystar, dtype=float), np.ascontiguousarray(lower, dtype=float),
            np.ascontiguousarray(upper, dtype=float), np.ascontiguousarray(slots, dtype=np.int64))
        outputs[0][0] = np.asarray(total)
        outputs[1][0], outputs[2][0], outputs[3][0] = g_y, g_lo, g_hi

    def infer_shape(self, fgraph, node, shapes):
        return [(), shapes[0], shapes[1], shapes[2]]

    def connection_pattern(self, node):
        return [[True] * 4, [True] * 4, [True] * 4, [False] * 4]

    def L_op(self, inputs, outputs, output_grads):
        g = output_grads[0]
        if any(not isinstance(o.type, DisconnectedType) for o in output_grads[1:]):
            # second derivatives (a Hessian) are not implemented
            return [grad_not_implemented(self, i, x) for i, x in enumerate(inputs[:3])] + [
                DisconnectedType()()]
        if isinstance(g.type, DisconnectedType):
            return [DisconnectedType()() for _ in inputs]
        # a node of its own with the same inputs, which PyTensor merges with the forward one
        _, g_y, g_lo, g_hi = self(*inputs)
        return [g * g_y, g * g_lo, g * g_hi, DisconnectedType()()]


_ordered_probit = OrderedProbitLogp()


def ordered_probit_logp(ystar, lower, upper, slots):
    """The summed ordered-probit log-likelihood of the answers (see the module docstring):
    ``ystar`` the answers' latent responses, ``lower`` / ``upper`` the flattened tables of
    every category's bounds, ``slots`` each answer's row in them."""
    return _ordered_probit(ystar, lower, upper, slots)[0]


@register_funcify_default_op_cache_key(OrderedProbitLogp)
def _numba_ordered_probit(op, node=None, **kwargs):
    @numba_njit
    def ordered_probit(ystar, lower, upper, slots):
        total, g_y, g_lo, g_hi = ordered_probit_kernel(ystar, lower, upper, slots)
        value = np.empty(())
        value[()] = total
        return value, g_y, g_lo, g_hi

    return ordered_probit, KERNEL_VERSION


_jax_registered = False


def register_jax() -> None:
    """Register the JAX implementation (for PyMC's numpyro and blackjax samplers); imports
    jax, so it is called where a JAX backend is chosen."""
    global _jax_registered
    if _jax_registered:
        return
    import jax.numpy as jnp
    from jax.scipy.special import erfc
    from pytensor.link.jax.dispatch import jax_funcify

    @jax_funcify.register(OrderedProbitLogp)
    def _jax_ordered_probit(op, **kwargs):
        def ordered_probit(ystar, lower, upper, slots):
            a = lower[slots] - ystar
            b = upper[slots] - ystar
            sign = 1.0 - 2.0 * (a > 0)
            half = 0.5 * sign * (erfc(-sign * b / _SQRT_2) - erfc(-sign * a / _SQRT_2))
            kept = half > FLOOR
            safe = jnp.where(kept, half, 1.0)
            total = jnp.sum(jnp.where(kept, jnp.log(safe), math.log(FLOOR)))
            da = jnp.where(kept, -_INV_SQRT_2PI * jnp.exp(-0.5 * a * a) / safe, 0.0)
            db = jnp.where(kept, _INV_SQRT_2PI * jnp.exp(-0.5 * b * b) / safe, 0.0)
            return (total, -(da + db), jnp.zeros_like(lower).at[slots].add(da),
                    jnp.zeros_like(upper).at[slots].add(db))

        return ordered_probit

    _jax_registered = True
