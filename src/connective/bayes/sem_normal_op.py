"""The normal log-likelihood of an SEM as one PyTensor Op, from the parameter vector to the
log-density, with its analytic gradient: one group or many (each with its own parameters),
complete data or missing answers (full information, by missingness pattern).

Written as a graph of PyTensor nodes (wave 1: gathers into the matrices, (I - B)^-1, the
implied moments, an inverse, a determinant, a trace) the log-density and its gradient take
about 170 nodes. Each is a numba function of its own, so a new model compiles for a minute
and a gradient costs about ten times the Cholesky factor and solve it needs. Here the whole
computation is one numba kernel (``cache=True``: compiled once per machine, for every model)
and the model's structure (the layout's gather indices and constants) enters as data, so two
models differ only in their inputs; callers reach it through a C symbol, so its machine
code is not linked into (and optimised again in) every model's function. B must be
strictly lower triangular (a recursive model; the parser refuses others). The JAX
implementation (for ``--sampler numpyro`` and ``blackjax``) is jax.numpy with JAX's own
gradient.

With ``G = dlogL/dSigma = -n/2 (P - P C P)`` (``P = Sigma^-1``, ``C = S + d d'``,
``d = ybar - mu``) and ``g = dlogL/dmu = n P d``, ``M = Lambda A``, ``A = (I - B)^-1``:

    dTheta = G,  dnu = g,  dPsi = M' G M,  dalpha = M' g,
    dM = G M (Psi + Psi') + g alpha',  dLambda = dM A',  dB = A' Lambda' dM A',

and each matrix's cells add into the parameters they are gathered from. A missingness
pattern contributes at its answered cells, with ``Sigma_oo^-1`` from the one factorisation
of Sigma by a Schur complement (see :func:`_patterns`). A Sigma that is not positive
definite gives a log-density of -inf and a zero gradient.

Example
-------
>>> import numpy as np
>>> from connective.spec import parse_model
>>> from connective.bayes.matrices import build_layout, implied_moments
>>> layout = build_layout(parse_model("F =~ x1 + x2 + x3"))
>>> theta = layout.values({"F=~x2": 0.8, "F=~x3": 1.2, "x1~~x1": 1, "x2~~x2": 1,
...                        "x3~~x3": 1, "F~~F": 1, "x1~1": 0, "x2~1": 0, "x3~1": 0})
>>> structure = layout_structure(layout)
>>> mean, cov = np.array([0.1, 0.0, -0.1]), np.eye(3) * 1.5
>>> factor = np.sqrt(cov)  # cov = factor factor'
>>> logp, grad = sem_logp_grad(theta, *structure, np.array([50.0]), mean[None], factor[None],
...                            np.array([3]), np.ones((1, 3)))
>>> from scipy.stats import multivariate_normal
>>> mu, sigma = implied_moments(layout, theta)
>>> # the sufficient statistics' log-likelihood of 50 rows with this mean and covariance
>>> ref = 50 * (multivariate_normal(mu, sigma).logpdf(mean)
...             - 0.5 * np.trace(np.linalg.solve(sigma, cov)))
>>> bool(np.isclose(logp, ref))
True
"""

from __future__ import annotations

import math

import numba
import numpy as np

from connective.bayes.matrices import Layout

LOG_2PI = float(np.log(2 * np.pi))
#: the order in which the structure arrays enter the Op (after theta)
STRUCTURE = ("constants", "lambda", "beta", "psi", "theta", "nu", "alpha")


def layout_structure(layout: Layout) -> tuple[np.ndarray, ...]:
    """The layout as the Op's structure inputs: its constants and each matrix's gather
    index into ``concat(theta, constants)`` (int64), in the order of ``STRUCTURE``."""
    return (np.asarray(layout.constants, dtype=float),) + tuple(
        np.ascontiguousarray(layout.gather[m], dtype=np.int64) for m in STRUCTURE[1:])


# Plain loops, no LAPACK or BLAS: numba compiles them in a few seconds (its linear algebra
# took 30 s), the matrices are small, and one thread gives the same bits on every machine.

@numba.njit(cache=True)
def _mm(A, B):
    """A @ B, skipping A's zeros (loadings and paths are sparse)."""
    out = np.zeros((A.shape[0], B.shape[1]))
    for i in range(A.shape[0]):
        for k in range(A.shape[1]):
            a = A[i, k]
            if a != 0.0:
                for j in range(B.shape[1]):
                    out[i, j] += a * B[k, j]
    return out


@numba.njit(cache=True)
def _tm(A, B):
    """A' @ B (the same sums, in the same order, on A's transposed view)."""
    return _mm(A.T, B)


@numba.njit(cache=True)
def _mt(A, B):
    """A @ B'."""
    out = np.zeros((A.shape[0], B.shape[0]))
    for i in range(A.shape[0]):
        for j in range(B.shape[0]):
            total = 0.0
            for k in range(A.shape[1]):
                total += A[i, k] * B[j, k]
            out[i, j] = total
    return out


@numba.njit(cache=True)
def _lin(a, X, b, Y):
    """a X + b Y, in loops (an array expression would compile numba's shape-error messages,
    several seconds)."""
    out = np.empty(X.shape)
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            out[i, j] = a * X[i, j] + b * Y[i, j]
    return out


@numba.njit(cache=True)
def _unit_lower_inverse(B):
    """(I - B)^-1 for a strictly lower triangular B (a recursive model's paths with the
    structural variables in topological order), by forward substitution."""
    m = B.shape[0]
    A = np.zeros((m, m))
    for i in range(m):
        A[i, i] = 1.0
        for k in range(i):
            b = B[i, k]
            if b != 0.0:
                for j in range(k + 1):
                    A[i, j] += b * A[k, j]
    return A


@numba.njit(cache=True)
def _cholesky_inverse(S):
    """``(ok, log|S|, S^-1)`` from the Cholesky factor of the symmetric ``S``."""
    p = S.shape[0]
    L = np.zeros((p, p))
    logdet = 0.0
    for j in range(p):
        s = S[j, j]
        for k in range(j):
            s -= L[j, k] * L[j, k]
        if not s > 0.0:
            return False, 0.0, L
        L[j, j] = math.sqrt(s)
        logdet += math.log(s)
        for i in range(j + 1, p):
            t = S[i, j]
            for k in range(j):
                t -= L[i, k] * L[j, k]
            L[i, j] = t / L[j, j]
    Li = np.zeros((p, p))  # L^-1, lower triangular
    for j in range(p):
        Li[j, j] = 1.0 / L[j, j]
        for i in range(j + 1, p):
            t = 0.0
            for k in range(j, i):
                t -= L[i, k] * Li[k, j]
            Li[i, j] = t / L[i, i]
    P = np.zeros((p, p))  # S^-1 = L^-T L^-1
    for i in range(p):
        for j in range(i + 1):
            t = 0.0
            for k in range(i, p):
                t += Li[k, i] * Li[k, j]
            P[i, j] = t
            P[j, i] = t
    return True, logdet, P


@numba.njit(cache=True)
def _gather(theta, constants, index, rows, cols):
    """The (rows, cols) matrix whose cell k is ``concat(theta, constants)[index[k]]``."""
    K = theta.shape[0]
    out = np.empty((rows, cols))
    for k in range(index.shape[0]):
        j = index[k]
        out[k // cols, k % cols] = theta[j] if j < K else constants[j - K]
    return out


@numba.njit(cache=True)
def _scatter(grad, index, values):
    """Add each cell of ``values`` to the gradient of the parameter it was gathered from
    (cells of constants are dropped)."""
    K = grad.shape[0]
    cols = values.shape[1]
    for k in range(index.shape[0]):
        j = index[k]
        if j < K:
            grad[j] += values[k // cols, k % cols]


@numba.njit(cache=True)
def _patterns(P, logdet, sigma, mu, n, mean, factor, rank, observed):
    """``(logL, dlogL/dSigma, dlogL/dmu)`` of one group's missingness patterns from the one
    factorisation of its Sigma (``P = Sigma^-1``, ``logdet``).

    With ``m`` a pattern's missing cells and ``Q = P_mm^-1``, the inverse of its answered
    block, set in a p x p matrix, is ``P - P_.m Q P_m. = P (Sigma - E_m Q E_m') P``, and
    ``log|Sigma_oo| = log|Sigma| + log|P_mm|`` (Schur complements). Each pattern's
    deviation ``d`` and covariance factor ``F`` (``S = F F'``, as many columns as its rank)
    then enter through ``y = x - E_m Q (P x)_m`` for each of their columns ``x``, so that

        logL = sum -n/2 [q log 2 pi + log|Sigma_oo| + sum_x (P x)' y],
        dlogL/dSigma = P H P,  H = -1/2 [N Sigma - sum n E_m Q E_m' - sum n y y'],
        dlogL/dmu = P sum n y_d:

    one p x p x columns product each way, whatever the number of patterns, and an r x r
    inverse per pattern (r missing cells). Complete data are one pattern with m empty."""
    p = P.shape[0]
    K = n.shape[0]
    T = K
    for k in range(K):
        T += rank[k]
    X = np.zeros((p, T))  # per pattern: its deviation, then its factor's columns
    c = 0
    for k in range(K):
        for i in range(p):
            X[i, c] = (mean[k, i] - mu[i, 0]) * observed[k, i]
            for j in range(rank[k]):
                X[i, c + 1 + j] = factor[k, i, j]
        c += 1 + rank[k]
    PX = _mm(P, X)
    Y = X.copy()
    D = np.zeros((p, p))
    weights = np.empty(T)
    s = np.zeros((p, 1))
    logp, N, c = 0.0, 0.0, 0
    for k in range(K):
        mis = np.flatnonzero(observed[k] <= 0.5)
        r = mis.shape[0]
        ld = logdet
        columns = 1 + rank[k]
        if r > 0:
            Pmm = np.empty((r, r))
            for a in range(r):
                for b in range(r):
                    Pmm[a, b] = P[mis[a], mis[b]]
            ok, ld_mm, Q = _cholesky_inverse(Pmm)
            if not ok:
                return -np.inf, D, s
            ld += ld_mm
            for a in range(r):
                for b in range(r):
                    D[mis[a], mis[b]] += n[k] * Q[a, b]
            for x in range(c, c + columns):
                for a in range(r):
                    t = 0.0
                    for b in range(r):
                        t += Q[a, b] * PX[mis[b], x]
                    Y[mis[a], x] -= t
        quad = 0.0
        for x in range(c, c + columns):
            weights[x] = math.sqrt(n[k])
            for i in range(p):
                quad += PX[i, x] * Y[i, x]
        for i in range(p):
            s[i, 0] += n[k] * Y[i, c]
        logp += -0.5 * n[k] * ((p - r) * LOG_2PI + ld + quad)
        N += n[k]
        c += columns
    for x in range(T):
        for i in range(p):
            Y[i, x] *= weights[x]
    H = _lin(-0.5 * N, sigma, 0.5, _lin(1.0, D, 1.0, _mt(Y, Y)))
    G = _mm(_mm(P, H), P)
    return logp, _lin(0.5, G, 0.5, G.T), _mm(P, s)


@numba.njit(cache=True)
def _complete(P, logdet, mu, n, mean, factor, rank, M):
    """``(logL, dlogL/dSigma M, dlogL/dmu, W)`` of complete data (one pattern, every cell
    answered) without dlogL/dSigma itself: with ``C = S + d d'`` and ``W = P C``,
    ``dlogL/dSigma = -n/2 (P - W P)``, so ``dlogL/dSigma M = -n/2 (P M - W (P M))`` costs
    two p x p x m products where the pattern path's ``P H P`` costs two p x p x p ones
    (and its factor columns two more); the cells of dlogL/dSigma that residual
    (co)variances need are read off ``W`` and ``P`` (:func:`_scatter_complete`)."""
    p = P.shape[0]
    d = np.empty(p)
    for i in range(p):
        d[i] = mean[i] - mu[i, 0]
    C = np.empty((p, p))
    for i in range(p):
        for k in range(i + 1):
            t = d[i] * d[k]
            for j in range(rank):
                t += factor[i, j] * factor[k, j]
            C[i, k] = t
            C[k, i] = t
    W = _mm(P, C)
    quad = 0.0  # tr(P C) = tr(P S) + d' P d
    for i in range(p):
        quad += W[i, i]
    PM = _mm(P, M)
    GM = _lin(-0.5 * n, PM, 0.5 * n, _mm(W, PM))
    g = np.zeros((p, 1))
    for i in range(p):
        t = 0.0
        for k in range(p):
            t += P[i, k] * d[k]
        g[i, 0] = n * t
    return -0.5 * n * (p * LOG_2PI + logdet + quad), GM, g, W


@numba.njit(cache=True)
def _scatter_complete(grad, index, P, W, n):
    """:func:`_scatter` of dlogL/dSigma = -n/2 (P - (W P + (W P)')/2) at the cells that
    parameters are gathered from, each cell computed alone (residual variances and the
    few residual covariances: about p of the p x p cells)."""
    K = grad.shape[0]
    p = P.shape[0]
    for k in range(index.shape[0]):
        j = index[k]
        if j < K:
            a, b = k // p, k % p
            ab, ba = 0.0, 0.0
            for q in range(p):
                ab += W[a, q] * P[q, b]
                ba += W[b, q] * P[q, a]
            grad[j] += -0.5 * n * (P[a, b] - 0.5 * (ab + ba))


@numba.njit(cache=True)
def sem_logp_grad(theta, constants, g_lambda, g_beta, g_psi, g_theta, g_nu, g_alpha, n,
                  mean, factor, rank, observed):
    """``(log-likelihood, gradient wrt theta)`` of one group's data under the SEM
    ``theta`` of the structure arrays (see :func:`layout_structure`): rows in missingness
    patterns with counts ``n`` (patterns,), means ``mean`` (patterns x p), factors of the
    (divide-by-n) covariances ``factor`` (patterns x p x columns, ``rank`` of them used;
    0 at missing cells) and ``observed`` masks (patterns x p, 1 = answered); see
    :func:`pattern_arrays`. numba, cached on disk. The model must be recursive."""
    K = theta.shape[0]
    p = mean.shape[1]
    m = 1
    while m * m < g_beta.shape[0]:
        m += 1
    lam = _gather(theta, constants, g_lambda, p, m)
    beta = _gather(theta, constants, g_beta, m, m)
    psi = _gather(theta, constants, g_psi, m, m)
    th = _gather(theta, constants, g_theta, p, p)
    nu = _gather(theta, constants, g_nu, p, 1)
    alpha = _gather(theta, constants, g_alpha, m, 1)
    grad = np.zeros(K)
    A = _unit_lower_inverse(beta)
    M = _mm(lam, A)
    sigma = _lin(1.0, _mt(_mm(M, psi), M), 1.0, th)
    sigma = _lin(0.5, sigma, 0.5, sigma.T)
    mu = _lin(1.0, nu, 1.0, _mm(M, alpha))  # (p, 1)
    ok, logdet, P = _cholesky_inverse(sigma)
    if not ok or not math.isfinite(logdet):
        return -np.inf, grad
    complete = n.shape[0] == 1
    for i in range(p):
        complete = complete and observed[0, i] > 0.5
    if complete:
        logp, GM, g, W = _complete(P, logdet, mu, n[0], mean[0], factor[0], rank[0], M)
        if not math.isfinite(logp):
            return -np.inf, grad
        _scatter_complete(grad, g_theta, P, W, n[0])
    else:
        logp, G, g = _patterns(P, logdet, sigma, mu, n, mean, factor, rank, observed)
        if not math.isfinite(logp):
            return -np.inf, grad
        GM = _mm(G, M)
        _scatter(grad, g_theta, G)
    dM = _lin(1.0, _mm(GM, _lin(1.0, psi, 1.0, psi.T)), 1.0, _mt(g, alpha))
    _scatter(grad, g_nu, g)
    _scatter(grad, g_psi, _tm(M, GM))
    _scatter(grad, g_alpha, _tm(M, g))
    _scatter(grad, g_lambda, _mt(dM, A))
    _scatter(grad, g_beta, _mt(_tm(A, _tm(lam, dM)), A))
    return logp, grad


# The kernel behind a C function pointer. Numba links (and optimises again) the machine code
# of every function a caller calls into the caller: inlined, this kernel's linear algebra
# cost each of nutpie's three layers of callers 5-15 s to compile, for every model. Called
# by symbol name, it is compiled once per machine, and a caller only holds the call.
_F8, _I8 = numba.types.CPointer(numba.types.float64), numba.types.CPointer(numba.types.int64)
_INTP = numba.types.intp
_C_SIGNATURE = numba.types.float64(
    _F8, _INTP, _INTP, _F8, _INTP, _I8, _INTP, _I8, _INTP, _I8, _INTP, _I8, _INTP, _I8, _INTP,
    _I8, _INTP, _I8, _INTP, _F8, _F8, _INTP, _F8, _INTP, _I8, _F8, _F8)
#: bump when the kernel changes: PyTensor's numba cache key of the Op and the symbol the
#: callers call (and tape_kernel.KERNEL_SYMBOL, whose cached interpreter links to it)
KERNEL_VERSION = 7
_SYMBOL = f"connective_sem_normal_logp_grad_{KERNEL_VERSION}"


def _sem_c(theta_p, G, K, constants_p, C, lam_p, n_lam, beta_p, n_beta, psi_p, n_psi, th_p,
           n_th, nu_p, n_nu, alpha_p, n_alpha, group_p, n_patterns, n_p, mean_p, p, factor_p,
           f, rank_p, observed_p, grad_p):
    """The summed log-likelihood of G groups, each with its own parameters (a row of the
    G x K theta) and its missingness patterns (``group_p``: each pattern's group, sorted);
    their gradients into the G x K ``grad_p``."""
    theta = numba.carray(theta_p, (G, K))
    constants = numba.carray(constants_p, (C,))
    g_lambda, g_beta = numba.carray(lam_p, (n_lam,)), numba.carray(beta_p, (n_beta,))
    g_psi, g_theta = numba.carray(psi_p, (n_psi,)), numba.carray(th_p, (n_th,))
    g_nu, g_alpha = numba.carray(nu_p, (n_nu,)), numba.carray(alpha_p, (n_alpha,))
    group = numba.carray(group_p, (n_patterns,))
    n, mean = numba.carray(n_p, (n_patterns,)), numba.carray(mean_p, (n_patterns, p))
    factor = numba.carray(factor_p, (n_patterns, p, f))
    rank = numba.carray(rank_p, (n_patterns,))
    observed = numba.carray(observed_p, (n_patterns, p))
    out = numba.carray(grad_p, (G, K))
    total = 0.0
    start = 0
    for g in range(G):
        stop = start
        while stop < n_patterns and group[stop] == g:
            stop += 1
        logp, grad = sem_logp_grad(theta[g], constants, g_lambda, g_beta, g_psi, g_theta,
                                   g_nu, g_alpha, n[start:stop], mean[start:stop],
                                   factor[start:stop], rank[start:stop],
                                   observed[start:stop])
        total += logp
        for k in range(K):
            out[g, k] = grad[k]
        start = stop
    return total


_KERNEL = []  # the compiled C function, kept alive once its address is registered


def ensure_kernel() -> None:
    """Compile (or load from numba's disk cache) the C kernel and register its symbol, which
    every numba caller links to: before any such caller is compiled or loaded. The JAX
    backends never need it, so it is not compiled at import. A background compilation
    (:mod:`~connective.bayes.warm`) is waited for first."""
    if not _KERNEL:
        from llvmlite import binding

        from connective.bayes import warm
        from connective.bayes.llvm_passes import optimised_at

        warm.wait()
        # the helpers left as lowered: the kernel on top optimises all of them, once
        with optimised_at(0, but={"_sem_c"}):
            kernel = numba.cfunc(_C_SIGNATURE, cache=True)(_sem_c)
        binding.add_symbol(_SYMBOL, kernel.address)
        _KERNEL.append(kernel)


def kernel_loaded() -> bool:
    """Whether this process holds the compiled kernel."""
    return bool(_KERNEL)


def stand_in_symbol() -> None:
    """Register a stand-in address under the kernel's symbol, so that a caller can be
    compiled into numba's cache in a process that never calls it (bayes/warm.py); the
    cache keeps the call by name, and a process that loads the caller resolves it to the
    kernel it loaded."""
    import ctypes

    from llvmlite import binding

    binding.add_symbol(_SYMBOL, ctypes.cast(ctypes.pythonapi.Py_IsInitialized,
                                            ctypes.c_void_p).value)


_SEM_C = numba.types.ExternalFunction(_SYMBOL, _C_SIGNATURE)


@numba.njit(cache=True)
def _sem_numba(theta, constants, g_lambda, g_beta, g_psi, g_theta, g_nu, g_alpha, group, n,
               mean, factor, rank, observed):
    """The Op's numba implementation (PyTensor's scalar outputs are 0-d arrays): ``theta``
    is groups x parameters; ``group`` each pattern's group; ``n``, ``mean``, ``factor``,
    ``rank`` and ``observed`` the patterns' data (data, so a compiled model takes another
    data set)."""
    theta = np.ascontiguousarray(theta)
    constants = np.ascontiguousarray(constants)
    g_lambda, g_beta = np.ascontiguousarray(g_lambda), np.ascontiguousarray(g_beta)
    g_psi, g_theta = np.ascontiguousarray(g_psi), np.ascontiguousarray(g_theta)
    g_nu, g_alpha = np.ascontiguousarray(g_nu), np.ascontiguousarray(g_alpha)
    # integer data may come as int32 (PyMC's data containers)
    group, n = np.ascontiguousarray(group).astype(np.int64), np.ascontiguousarray(n)
    mean, factor = np.ascontiguousarray(mean), np.ascontiguousarray(factor)
    rank = np.ascontiguousarray(rank).astype(np.int64)
    observed = np.ascontiguousarray(observed)
    grad = np.empty(theta.shape)
    logp = _SEM_C(theta.ctypes, theta.shape[0], theta.shape[1], constants.ctypes,
                  constants.shape[0], g_lambda.ctypes, g_lambda.shape[0], g_beta.ctypes,
                  g_beta.shape[0], g_psi.ctypes, g_psi.shape[0], g_theta.ctypes,
                  g_theta.shape[0], g_nu.ctypes, g_nu.shape[0], g_alpha.ctypes,
                  g_alpha.shape[0], group.ctypes, group.shape[0], n.ctypes, mean.ctypes,
                  mean.shape[1], factor.ctypes, factor.shape[2], rank.ctypes, observed.ctypes,
                  grad.ctypes)
    return np.array(logp), grad


def _jax_pattern_logp(theta, constants, g_lambda, g_beta, g_psi, g_theta, g_nu, g_alpha, n,
                      mean, factor, observed):
    """One missingness pattern's log-likelihood in jax.numpy (its gradient is JAX's): the
    missing cells of Sigma are replaced by an identity block, whose determinant is 1 and
    whose inverse leaves the answered block's alone (d and S are 0 there)."""
    import jax.numpy as jnp

    p = mean.shape[0]
    m = int(round(math.sqrt(g_beta.shape[0])))
    ext = jnp.concatenate([theta, constants])
    lam = ext[g_lambda].reshape((p, m))
    beta = ext[g_beta].reshape((m, m))
    psi = ext[g_psi].reshape((m, m))
    th = ext[g_theta].reshape((p, p))
    A = jnp.linalg.inv(jnp.eye(m) - beta)
    M = lam @ A
    sigma = M @ psi @ M.T + th
    sigma = 0.5 * (sigma + sigma.T)
    mu = ext[g_nu] + M @ ext[g_alpha]
    sigma = sigma * jnp.outer(observed, observed) + jnp.diag(1.0 - observed)
    # an inverse and a determinant (LU): XLA compiles them and their gradients faster than
    # a Cholesky factor's; the factor only checks that Sigma is positive definite
    import jax

    valid = jnp.all(jnp.isfinite(jnp.linalg.cholesky(jax.lax.stop_gradient(sigma))))
    d = (mean - mu) * observed
    P = jnp.linalg.inv(sigma)
    quad = jnp.sum(P * (factor @ factor.T + jnp.outer(d, d)))  # unused columns are 0
    logdet = jnp.log(jnp.linalg.det(sigma))
    logp = -0.5 * n * (jnp.sum(observed) * LOG_2PI + logdet + quad)
    return jnp.where(valid, logp, -jnp.inf)


def _jax_logp(theta, *rest):
    """The patterns' summed log-likelihood, each under its group's row of theta."""
    import jax

    structure, (group, n, mean, factor, _, observed) = (rest[:len(STRUCTURE)],
                                                        rest[len(STRUCTURE):])
    per_pattern = jax.vmap(_jax_pattern_logp,
                           in_axes=(0,) + (None,) * len(STRUCTURE) + (0, 0, 0, 0))
    return per_pattern(theta[group], *structure, n, mean, factor, observed).sum()


def _make_op():
    """The Op class, made on first use (PyTensor imports take a second)."""
    import pytensor.tensor as pt
    from pytensor.gradient import DisconnectedType, grad_not_implemented
    from pytensor.graph.basic import Apply
    from pytensor.graph.op import Op

    class SemNormalLogp(Op):
        """``(logp, dlogp/dtheta)`` of an SEM in G groups with missingness patterns (see
        the module docstring). Inputs: theta (G x parameters), the structure arrays of
        :func:`layout_structure`, each pattern's group (sorted), the patterns' row counts,
        means, covariance factors and their ranks, and observed masks
        (:func:`pattern_arrays`)."""

        __props__ = ()

        def make_node(self, theta, *rest):
            inputs = [pt.as_tensor_variable(theta)] + [pt.as_tensor_variable(x) for x in rest]
            return Apply(self, inputs, [pt.dscalar(), pt.dmatrix()])

        def perform(self, node, inputs, outputs):
            ensure_kernel()
            logp, grad = _sem_numba(*inputs)
            outputs[0][0] = logp
            outputs[1][0] = grad

        def connection_pattern(self, node):
            # theta reaches both outputs; the structure arrays and the patterns' groups
            # (integers, constants) none; the data reach them, but need no gradient
            fixed = [[False, False]] * (len(STRUCTURE) + 1)
            return [[True, True]] + fixed + [[True, True]] * 5

        def grad(self, inputs, output_grads):
            if not isinstance(output_grads[1].type, DisconnectedType):
                raise NotImplementedError("second derivatives of the SEM log-likelihood Op")
            _, grad = self(*inputs)
            fixed = [DisconnectedType()() for _ in range(len(STRUCTURE) + 1)]
            data = [grad_not_implemented(self, k, inputs[k])
                    for k in range(2 + len(STRUCTURE), len(inputs))]
            return [output_grads[0] * grad] + fixed + data

        def infer_shape(self, fgraph, node, shapes):
            return [(), shapes[0]]

    _register(SemNormalLogp)
    return SemNormalLogp


def _register(op_type) -> None:
    """The numba implementation of the Op (nutpie); the JAX one (numpyro, blackjax) is
    added by :func:`register_jax`, which imports jax (2 s), only where a JAX backend runs."""
    from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

    @register_funcify_default_op_cache_key(op_type)
    def _numba(op, node=None, **kwargs):
        # the kernel does not depend on the model (the structure arrays are inputs): one
        # cache entry serves every model
        ensure_kernel()
        return _sem_numba, KERNEL_VERSION


_jax_registered = False


def register_jax() -> None:
    """Register the Op's JAX implementation (for PyMC's numpyro and blackjax samplers);
    bayes/backends.py calls it before compiling with JAX."""
    global _jax_registered
    if _jax_registered:
        return
    import jax
    import jax.numpy as jnp
    from pytensor.link.jax.dispatch import jax_funcify

    @jax_funcify.register(type(_op()))
    def _jax(op, **kwargs):
        value_and_grad = jax.value_and_grad(_jax_logp)

        def sem_normal_logp(*args):
            logp, grad = value_and_grad(*args)
            ok = jnp.isfinite(logp)
            return jnp.where(ok, logp, -jnp.inf), jnp.where(ok, grad, 0.0)

        return sem_normal_logp

    _jax_registered = True


_OP = None


def _op():
    """The Op (its class made on first use)."""
    global _OP
    if _OP is None:
        _OP = _make_op()()
    return _OP


def pattern_arrays(patterns, p: int, by_group: bool = False) -> dict[str, np.ndarray]:
    """The Op's data from missingness patterns (:class:`~connective.bayes.likelihood.Pattern`,
    of one group, or with ``by_group`` ``(group, pattern)`` cells sorted by group): each
    pattern's group, row count, mean, a factor of its (divide-by-n) covariance, the factor's
    rank (its columns beyond are 0) and observed mask; p wide, 0 at missing cells.

    Example
    -------
    >>> from connective.bayes.likelihood import sufficient_statistics
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"a": [1.0, 2.0, None, 4.0], "b": [2.0, 1.0, 4.0, 3.0]})
    >>> arrays = pattern_arrays(sufficient_statistics(frame, ["a", "b"]).patterns, 2)
    >>> arrays["n"].tolist(), arrays["rank"].tolist(), arrays["observed"].tolist()
    ([3.0, 1.0], [2, 0], [[1.0, 1.0], [0.0, 1.0]])
    >>> F = arrays["factor"][0]
    >>> bool(np.allclose(F @ F.T, np.cov(frame.dropna().to_numpy().T, bias=True)))
    True
    """
    cells = list(patterns) if by_group else [(0, pat) for pat in patterns]
    groups = np.array([g for g, _ in cells], dtype=np.int64)
    if np.any(np.diff(groups) < 0):
        raise ValueError("the patterns must be sorted by group")
    factors = []
    for _, pat in cells:
        # the eigen-factor's columns that carry variance: fewer than the pattern's rows
        weight = (pat.factor ** 2).sum(axis=0)
        factors.append(pat.factor[:, weight > 1e-12 * max(weight.max(), 1e-300)])
    k, width = len(cells), max(1, max(f.shape[1] for f in factors))
    out = {"group": groups, "n": np.array([float(pat.n) for _, pat in cells]),
           "mean": np.zeros((k, p)), "factor": np.zeros((k, p, width)),
           "rank": np.array([f.shape[1] for f in factors], dtype=np.int64),
           "observed": np.zeros((k, p))}
    for i, ((_, pat), factor) in enumerate(zip(cells, factors)):
        c = pat.columns
        out["mean"][i, c] = pat.mean
        out["factor"][i, c, :factor.shape[1]] = factor
        out["observed"][i, c] = 1.0
    return out


def sem_normal_loglik(layout: Layout, theta, group, n, mean, factor, rank, observed):
    """The log-likelihood (a PyTensor scalar) of data in missingness patterns (see
    :func:`pattern_arrays`: each pattern's ``group``, row count ``n``, ``mean``, covariance
    ``factor`` and its ``rank``, and ``observed`` mask; tensors or arrays) under the
    parameter vector ``theta`` of ``layout`` (G x parameters for G groups with parameters of
    their own): one Op, -inf where a Sigma is not positive definite.

    Example
    -------
    >>> import numpy as np, pytensor.tensor as pt
    >>> from connective.spec import parse_model
    >>> from connective.bayes.matrices import build_layout
    >>> layout = build_layout(parse_model("M ~ X"))
    >>> theta = pt.as_tensor(np.array([0.5, 1.0, 1.0, 0.0, 0.0]))
    >>> ll = sem_normal_loglik(layout, theta, np.array([0]), np.array([10.0]),
    ...                        np.zeros((1, 2)), np.eye(2)[None], np.array([2]),
    ...                        np.ones((1, 2)))
    >>> round(float(ll.eval()), 4)
    -29.6288
    """
    import pytensor.tensor as pt

    theta = pt.as_tensor_variable(theta)
    if theta.ndim == 1:  # one group
        theta = theta[None, :]
    return _op()(theta, *layout_structure(layout), group, n, mean, factor, rank, observed)[0]
