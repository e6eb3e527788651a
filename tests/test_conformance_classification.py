"""Conformance of the classification losses with live PyTorch and optax.

Every test draws seeded random inputs, evaluates the peer (``torch.nn.functional``
or ``optax``) and jaxloss on the same numbers, and compares the values and the
gradients with respect to the logits (and to probability labels, which both peers
differentiate). Gradients come from torch autograd (``backward`` with a random
upstream cotangent for ``reduction="none"``, plain ``backward()`` for
``"mean"``/``"sum"``) and from ``jax.vjp`` on the public jaxloss function with the
same cotangent. Comparisons run in float64 with tight tolerances, and once more in
float32 with float32 tolerances.

Documented differences that the tests account for:

* PyTorch ignores label ``-100`` by default; jaxloss ignores nothing unless
  ``ignore_index`` is given, so every torch call here passes ``ignore_index``
  explicitly and every jaxloss call passes the same value.
* A batch whose every label is ignored has a NaN ``"mean"`` in PyTorch and 0 in
  jaxloss (tested in ``test_classification.py``); the inputs here always keep some
  labels.
* optax reduces nothing: its per-example losses are reduced here with ``jnp.mean``
  / ``jnp.sum``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
import torch.nn.functional as F

import jaxloss

REDUCTIONS = ("none", "mean", "sum")
DTYPES = ("float64", "float32")
TOLERANCES = {
    "float64": {"rtol": 1e-10, "atol": 1e-12},
    "float32": {"rtol": 1e-5, "atol": 1e-6},
}

# (logits shape, our class axis): torch's [N, C], K-dimensional [N, C, H, W] and
# unbatched [C] layouts. The class axis is torch's dimension 1 (0 when unbatched).
LAYOUTS = {
    "NC": ((7, 5), -1),
    "NCHW": ((3, 5, 4, 2), 1),
    "C": ((5,), 0),
}
CLASSES = 5


# --- harness


def _torch_run(fn, arrays, cotangent):
    """Per reduction: value and gradients of ``fn`` w.r.t. every array, by torch autograd."""
    out = {}
    for reduction in REDUCTIONS:
        tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
        value = fn(*tensors, reduction=reduction)
        value.backward(torch.tensor(cotangent) if reduction == "none" else None)
        out[reduction] = value.detach().numpy(), [t.grad.numpy() for t in tensors]
    return out


def _jax_run(fn, arrays, cotangent):
    """Per reduction: value and gradients of ``fn`` w.r.t. every array, by ``jax.vjp``.

    All reductions run in one ``jax.jit`` program: one compilation per test instead
    of one per primitive and reduction in eager mode (5x less CPU time in total).
    """

    def run(ct, *xs):
        out = {}
        for reduction in REDUCTIONS:
            value, vjp = jax.vjp(lambda *a, r=reduction: fn(*a, reduction=r), *xs)
            out[reduction] = value, vjp(ct if reduction == "none" else jnp.ones((), value.dtype))
        return out

    xs = [jnp.asarray(a) for a in arrays]
    out = jax.jit(run)(jnp.asarray(cotangent), *xs)
    for _, grads in out.values():
        for x, g in zip(xs, grads, strict=True):
            assert g.dtype == x.dtype, (g.dtype, x.dtype)
            assert g.shape == x.shape, (g.shape, x.shape)
    return {r: (np.asarray(v), [np.asarray(g) for g in gs]) for r, (v, gs) in out.items()}


def _assert_close(got, want, dtype, what):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert got.dtype == np.dtype(dtype), f"{what}: dtype {got.dtype} != {dtype}"
    np.testing.assert_allclose(got, want, err_msg=what, **TOLERANCES[dtype])


def _compare(ours, theirs, arrays, names, dtype, out_shape, seed, run=_torch_run):
    """Runs both sides for every reduction, with one upstream cotangent for ``"none"``,
    and compares values and gradients. ``ours`` and ``theirs`` take the arrays and
    ``reduction=``; ``run`` evaluates the peer (torch autograd, or ``jax.vjp``)."""
    cotangent = np.random.default_rng(seed).normal(size=out_shape).astype(dtype)
    got = _jax_run(ours, arrays, cotangent)
    want = run(theirs, arrays, cotangent)
    for reduction in REDUCTIONS:
        (value, grads), (ref_value, ref_grads) = got[reduction], want[reduction]
        _assert_close(value, ref_value, dtype, f"value, reduction={reduction!r}")
        for name, g, ref in zip(names, grads, ref_grads, strict=True):
            _assert_close(g, ref, dtype, f"gradient w.r.t. {name}, reduction={reduction!r}")


def _with_dtypes(cases, float32):
    """Every case in float64, and ``float32`` (a subset of them) in float32 as well.

    Each new combination of options, shapes and dtype costs XLA compilations (about
    1 s of CPU): the float32 subset runs each code path once in float32, the float64
    cases cover the options.
    """
    assert set(float32) <= set(cases), set(float32) - set(cases)
    return [(*c, "float64") for c in cases] + [(*c, "float32") for c in float32]


def _loss_shape(shape, axis):
    return tuple(n for i, n in enumerate(shape) if i != axis % len(shape))


def _logits(seed, shape, dtype):
    return (2 * np.random.default_rng(seed).normal(size=shape)).astype(dtype)


def _labels(seed, loss_shape, ignore_index=None, fraction=0.3):
    """Class indices in [0, C); with ``ignore_index``, about ``fraction`` of them
    set to it (never all of them, never none of them in a batch)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLASSES, size=loss_shape)
    if ignore_index is not None:
        labels = np.where(labels == ignore_index, (ignore_index + 1) % CLASSES, labels)
        if labels.ndim:
            ignored = rng.uniform(size=loss_shape) < fraction
            ignored.flat[0], ignored.flat[-1] = True, False
            labels = np.where(ignored, ignore_index, labels)
    return np.asarray(labels, np.int32)


def _probabilities(seed, shape, axis, dtype):
    """Softmax of random scores along ``axis``, with a few exact zeros (not renormalised)."""
    rng = np.random.default_rng(seed)
    t = np.exp(2 * rng.normal(size=shape))
    t = t / t.sum(axis=axis, keepdims=True)
    t = np.where(rng.uniform(size=shape) < 0.2, 0.0, t)
    return t.astype(dtype)


def _long(labels):
    """torch's class-index targets are int64; ours are int32 here (the common case)."""
    return torch.tensor(labels, dtype=torch.int64)


def _class_weights(dtype):
    return np.asarray([0.5, 1.0, 2.0, 1.5, 0.25], dtype)


# --- F.cross_entropy with class-index targets

# id -> (class weights?, ignore_index or None, label_smoothing)
CE_INT_OPTIONS = {
    "plain": (False, None, 0.0),
    "weight": (True, None, 0.0),
    "ignore-100": (False, -100, 0.0),
    "ignore-class2": (False, 2, 0.0),
    "smoothing": (False, None, 0.1),
    "weight-ignore-100": (True, -100, 0.0),
    "weight-ignore-smoothing": (True, 2, 0.2),
    "weight-ignore-100-smoothing": (True, -100, 0.3),
}
# The options in torch's [N, C] layout, the interesting ones in the others (the class
# axis is handled by the same code for every option). Smoothing 1 is in the optax
# comparisons below.
CE_INT_CASES = _with_dtypes(
    [*[(option, "NC") for option in ("plain", "weight", "ignore-100", "ignore-class2",
                                     "smoothing", "weight-ignore-smoothing",
                                     "weight-ignore-100-smoothing")],
     *[(option, "NCHW") for option in ("plain", "weight-ignore-100", "smoothing",
                                       "weight-ignore-smoothing")],
     *[(option, "C") for option in ("plain", "weight-ignore-100-smoothing")]],
    [("plain", "NC"), ("weight-ignore-100-smoothing", "NC"), ("weight-ignore-smoothing", "NCHW"),
     ("plain", "C")],
)  # fmt: skip


def _ce_int_pair(labels, weight, ignore_index, smoothing, axis, z_loss=0.0):
    """jaxloss and torch's F.cross_entropy on the same options, as functions of the logits."""

    def ours(x, *, reduction):
        return jaxloss.softmax_cross_entropy_with_integer_labels(
            x, jnp.asarray(labels), axis=axis, class_weights=weight, ignore_index=ignore_index,
            label_smoothing=smoothing, z_loss=z_loss, reduction=reduction,
        )  # fmt: skip

    def theirs(x, *, reduction):
        return F.cross_entropy(
            x, _long(labels), weight=None if weight is None else torch.tensor(weight),
            ignore_index=-100 if ignore_index is None else ignore_index,
            label_smoothing=smoothing, reduction=reduction,
        )  # fmt: skip

    return ours, theirs


@pytest.mark.parametrize(("option", "layout", "dtype"), CE_INT_CASES)
def test_cross_entropy_integer_labels_matches_torch(option, layout, dtype):
    use_weight, ignore_index, smoothing = CE_INT_OPTIONS[option]
    shape, axis = LAYOUTS[layout]
    loss_shape = _loss_shape(shape, axis)
    logits = _logits(0, shape, dtype)
    labels = _labels(1, loss_shape, ignore_index)
    weight = _class_weights(dtype) if use_weight else None
    ours, theirs = _ce_int_pair(labels, weight, ignore_index, smoothing, axis)
    _compare(ours, theirs, [logits], ["logits"], dtype, loss_shape, seed=2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_class_weights_of_zero_and_large_logits_match_torch(dtype):
    """A zero class weight with labels on it, smoothing, and logits of ±30 (softmax
    near 0 and 1)."""
    shape = (7, CLASSES)
    logits = _logits(3, shape, dtype)
    logits[:3] = 30 * np.sign(logits[:3])
    labels = _labels(4, (7,))
    labels[:4] = 3
    weight = np.asarray([0.5, 1.0, 2.0, 0.0, 0.25], dtype)
    ours, theirs = _ce_int_pair(labels, weight, None, 0.15, -1)
    _compare(ours, theirs, [logits], ["logits"], dtype, (7,), seed=5)


# --- F.cross_entropy with probability targets


@pytest.mark.parametrize(
    ("smoothing", "layout", "dtype"),
    _with_dtypes(
        [(0.0, "NC"), (0.1, "NC"), (1.0, "NC"), (0.0, "NCHW"), (0.1, "NCHW"), (0.1, "C")],
        [(0.1, "NC"), (0.1, "NCHW")],
    ),
)
def test_cross_entropy_probability_targets_matches_torch(smoothing, layout, dtype):
    """Gradients w.r.t. the logits and the probability labels (torch differentiates both)."""
    shape, axis = LAYOUTS[layout]
    loss_shape = _loss_shape(shape, axis)
    logits = _logits(6, shape, dtype)
    targets = _probabilities(7, shape, axis, dtype)

    def ours(x, t, *, reduction):
        return jaxloss.softmax_cross_entropy(
            x, t, axis=axis, label_smoothing=smoothing, reduction=reduction
        )

    def theirs(x, t, *, reduction):
        return F.cross_entropy(x, t, label_smoothing=smoothing, reduction=reduction)

    _compare(ours, theirs, [logits, targets], ["logits", "labels"], dtype, loss_shape, seed=8)


# --- F.nll_loss

NLL_OPTIONS = {
    "plain": (False, None),
    "weight": (True, None),
    "ignore-100": (False, -100),
    "weight-ignore-class1": (True, 1),
}


@pytest.mark.parametrize(
    ("option", "layout", "dtype"),
    _with_dtypes(
        [*[(option, "NC") for option in NLL_OPTIONS], ("plain", "NCHW"),
         ("weight-ignore-class1", "NCHW"), ("weight", "C")],
        [("weight-ignore-class1", "NC"), ("weight-ignore-class1", "NCHW")],
    ),
)  # fmt: skip
def test_nll_loss_matches_torch(option, layout, dtype):
    use_weight, ignore_index = NLL_OPTIONS[option]
    shape, axis = LAYOUTS[layout]
    loss_shape = _loss_shape(shape, axis)
    logits = _logits(9, shape, "float64")
    log_probs = (logits - np.log(np.exp(logits).sum(axis=axis, keepdims=True))).astype(dtype)
    labels = _labels(10, loss_shape, ignore_index)
    weight = _class_weights(dtype) if use_weight else None

    def ours(lp, *, reduction):
        return jaxloss.negative_log_likelihood(
            lp, jnp.asarray(labels), axis=axis, class_weights=weight, ignore_index=ignore_index,
            reduction=reduction,
        )  # fmt: skip

    def theirs(lp, *, reduction):
        return F.nll_loss(
            lp, _long(labels), weight=None if weight is None else torch.tensor(weight),
            ignore_index=-100 if ignore_index is None else ignore_index, reduction=reduction,
        )  # fmt: skip

    _compare(ours, theirs, [log_probs], ["log_probs"], dtype, loss_shape, seed=11)


# --- z-loss: cross-entropy + z · logsumexp(x)², computed by torch


@pytest.mark.parametrize(
    ("z", "option", "layout", "dtype"),
    _with_dtypes(
        [(1e-4, "plain", "NC"), (0.5, "smoothing", "NC"), (0.5, "weight-ignore-smoothing", "NC"),
         (0.5, "weight-ignore-smoothing", "NCHW")],
        [(0.5, "weight-ignore-smoothing", "NCHW")],
    ),
)  # fmt: skip
def test_z_loss_matches_torch_formula(z, option, layout, dtype):
    """Per example ``cross_entropy + z · logsumexp(x)²`` (ignored examples add 0);
    ``"mean"`` divides the total, z-term included, by torch's normaliser (the summed
    class weights of the kept labels, or their number)."""
    use_weight, ignore_index, smoothing = CE_INT_OPTIONS[option]
    shape, axis = LAYOUTS[layout]
    loss_shape = _loss_shape(shape, axis)
    logits = _logits(12, shape, dtype) + 3  # lse well away from 0
    labels = _labels(13, loss_shape, ignore_index)
    weight = _class_weights(dtype) if use_weight else None
    ignore = -100 if ignore_index is None else ignore_index
    keep = torch.tensor(labels != ignore)
    ours, torch_ce = _ce_int_pair(labels, weight, ignore_index, smoothing, axis, z_loss=z)

    def theirs(x, *, reduction):
        per = torch_ce(x, reduction="none") + z * torch.logsumexp(x, dim=1) ** 2 * keep
        if reduction == "none":
            return per
        if reduction == "sum":
            return per.sum()
        y = _long(labels)
        norm = keep.sum() if weight is None else torch.tensor(weight)[y[keep]].sum()
        return per.sum() / norm

    _compare(ours, theirs, [logits], ["logits"], dtype, loss_shape, seed=14)


# --- optax (per-example losses, reduced here with jnp.mean / jnp.sum)


def _optax(per_example):
    """A function of the arrays and ``reduction=`` from optax's per-example loss."""

    def fn(*arrays, reduction):
        out = per_example(*arrays)
        return {"none": out, "mean": jnp.mean(out), "sum": jnp.sum(out)}[reduction]

    return fn


OPTAX_AXES = _with_dtypes(
    [((7, 5), -1), ((7, 5), 0), ((3, 5, 4, 2), 1), ((3, 5, 4, 2), 3)],
    [((3, 5, 4, 2), 1)],
)


@pytest.mark.parametrize(("shape", "axis", "dtype"), OPTAX_AXES, ids=str)
def test_integer_labels_matches_optax(shape, axis, dtype):
    classes = shape[axis]
    loss_shape = _loss_shape(shape, axis)
    logits = _logits(15, shape, dtype)
    labels = jnp.asarray(np.random.default_rng(16).integers(0, classes, loss_shape, np.int32))
    _compare(
        lambda x, *, reduction: jaxloss.softmax_cross_entropy_with_integer_labels(
            x, labels, axis=axis, reduction=reduction
        ),
        _optax(lambda x: optax.losses.softmax_cross_entropy_with_integer_labels(x, labels, axis)),
        [logits], ["logits"], dtype, loss_shape, seed=17, run=_jax_run,
    )  # fmt: skip


@pytest.mark.parametrize(("shape", "axis", "dtype"), OPTAX_AXES, ids=str)
def test_probability_labels_matches_optax(shape, axis, dtype):
    loss_shape = _loss_shape(shape, axis)
    logits = _logits(18, shape, dtype)
    targets = _probabilities(19, shape, axis, dtype)
    _compare(
        lambda x, t, *, reduction: jaxloss.softmax_cross_entropy(
            x, t, axis=axis, reduction=reduction
        ),
        _optax(lambda x, t: optax.losses.softmax_cross_entropy(x, t, axis=axis)),
        [logits, targets], ["logits", "labels"], dtype, loss_shape, seed=20, run=_jax_run,
    )  # fmt: skip


SMOOTHING_CASES = _with_dtypes([((7, 5), -1, 0.1), ((3, 5, 4, 2), 1, 1.0)], [((7, 5), -1, 0.1)])


@pytest.mark.parametrize(("shape", "axis", "smoothing", "dtype"), SMOOTHING_CASES, ids=str)
def test_integer_label_smoothing_matches_optax_smooth_labels(shape, axis, smoothing, dtype):
    """Integer labels with smoothing = optax.smooth_labels(one_hot) + softmax_cross_entropy."""
    classes = shape[axis]
    loss_shape = _loss_shape(shape, axis)
    logits = _logits(21, shape, dtype)
    labels = jnp.asarray(np.random.default_rng(22).integers(0, classes, loss_shape, np.int32))

    def theirs(x):
        onehot = jax.nn.one_hot(labels, classes, dtype=x.dtype, axis=axis)
        smoothed = optax.smooth_labels(onehot, smoothing, axis=axis)
        return optax.softmax_cross_entropy(x, smoothed, axis=axis)

    _compare(
        lambda x, *, reduction: jaxloss.softmax_cross_entropy_with_integer_labels(
            x, labels, axis=axis, label_smoothing=smoothing, reduction=reduction
        ),
        _optax(theirs), [logits], ["logits"], dtype, loss_shape, seed=23, run=_jax_run,
    )  # fmt: skip


@pytest.mark.parametrize(("shape", "axis", "smoothing", "dtype"), SMOOTHING_CASES, ids=str)
def test_probability_label_smoothing_matches_optax_smooth_labels(shape, axis, smoothing, dtype):
    loss_shape = _loss_shape(shape, axis)
    logits = _logits(24, shape, dtype)
    targets = _probabilities(25, shape, axis, dtype)

    def theirs(x, t):
        return optax.softmax_cross_entropy(x, optax.smooth_labels(t, smoothing, axis=axis), axis)

    _compare(
        lambda x, t, *, reduction: jaxloss.softmax_cross_entropy(
            x, t, axis=axis, label_smoothing=smoothing, reduction=reduction
        ),
        _optax(theirs), [logits, targets], ["logits", "labels"], dtype, loss_shape, seed=26,
        run=_jax_run,
    )  # fmt: skip


@pytest.mark.parametrize("dtype", DTYPES)
def test_where_matches_optax_per_example_where(dtype):
    """optax's per-example ``where`` zeroes excluded examples; ours also drops them
    from the mean's count, so the mean is compared with optax's sum over the kept."""
    shape = (7, CLASSES)
    logits = _logits(27, shape, dtype)
    labels = jnp.asarray(_labels(28, (7,)))
    where = np.random.default_rng(29).uniform(size=7) < 0.6
    where[0], where[1] = True, False
    kept = float(where.sum())
    where = jnp.asarray(where)

    def theirs(x, *, reduction):
        per = optax.softmax_cross_entropy_with_integer_labels(x, labels, where=where)
        return {"none": per, "sum": jnp.sum(per), "mean": jnp.sum(per) / kept}[reduction]

    _compare(
        lambda x, *, reduction: jaxloss.softmax_cross_entropy_with_integer_labels(
            x, labels, where=where, reduction=reduction
        ),
        theirs, [logits], ["logits"], dtype, (7,), seed=30, run=_jax_run,
    )  # fmt: skip


# --- class weights with probability targets (torch), tuple class axes (optax)


@pytest.mark.parametrize(
    ("smoothing", "layout", "dtype"),
    _with_dtypes([(0.0, "NC"), (0.2, "NC"), (0.1, "NCHW"), (0.1, "C")], [(0.2, "NC")]),
)
def test_probability_targets_with_class_weights_match_torch(smoothing, layout, dtype):
    """torch weighs each class's term and divides the mean by N (not by summed weights)."""
    shape, axis = LAYOUTS[layout]
    loss_shape = _loss_shape(shape, axis)
    logits = _logits(21, shape, dtype)
    targets = _probabilities(22, shape, axis, dtype)
    weight = _class_weights(dtype)

    def ours(x, t, *, reduction):
        return jaxloss.softmax_cross_entropy(
            x, t, axis=axis, class_weights=weight, label_smoothing=smoothing, reduction=reduction
        )

    def theirs(x, t, *, reduction):
        return F.cross_entropy(x, t, weight=torch.tensor(weight), label_smoothing=smoothing,
                               reduction=reduction)  # fmt: skip

    _compare(ours, theirs, [logits, targets], ["logits", "labels"], dtype, loss_shape, seed=23)


# (shape, optax's axis): tuples name the class axes in the order they are flattened.
TUPLE_AXES = _with_dtypes(
    [((2, 3, 4, 5), (2, 3)), ((2, 3, 4, 5), (3, 1)), ((2, 3, 4, 5), (-1, 0, 2)), ((6, 5), (1,))],
    [((2, 3, 4, 5), (3, 1))],
)


def _batch_shape(shape, axes):
    named = {a % len(shape) for a in axes}
    return tuple(n for i, n in enumerate(shape) if i not in named)


@pytest.mark.parametrize(("shape", "axis", "dtype"), TUPLE_AXES, ids=str)
def test_tuple_axis_integer_labels_matches_optax(shape, axis, dtype):
    loss_shape = _batch_shape(shape, axis)
    classes = int(np.prod([shape[a] for a in axis]))
    logits = _logits(24, shape, dtype)
    labels = jnp.asarray(np.random.default_rng(25).integers(0, classes, loss_shape, np.int32))
    _compare(
        lambda x, *, reduction: jaxloss.softmax_cross_entropy_with_integer_labels(
            x, labels, axis=axis, reduction=reduction
        ),
        _optax(lambda x: optax.losses.softmax_cross_entropy_with_integer_labels(x, labels, axis)),
        [logits], ["logits"], dtype, loss_shape, seed=26, run=_jax_run,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("shape", "axis", "dtype"), [*TUPLE_AXES, ((2, 3, 4), None, "float64")], ids=str
)
def test_tuple_axis_probability_labels_matches_optax(shape, axis, dtype):
    loss_shape = () if axis is None else _batch_shape(shape, axis)
    logits = _logits(27, shape, dtype)
    targets = _probabilities(28, shape, None if axis is None else tuple(axis), dtype)
    _compare(
        lambda x, t, *, reduction: jaxloss.softmax_cross_entropy(
            x, t, axis=axis, reduction=reduction
        ),
        _optax(lambda x, t: optax.losses.softmax_cross_entropy(x, t, axis=axis)),
        [logits, targets], ["logits", "labels"], dtype, loss_shape, seed=29, run=_jax_run,
    )  # fmt: skip
