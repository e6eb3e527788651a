"""Catalogue entries of the detection family: GIoU, DIoU and CIoU box losses.

The sampler reads the shape's leading axes as boxes (the last axis is replaced
by the 4 coordinates) and draws pairs of proper boxes, overlapping or not, each
the best of several candidates: the one farthest from the kinks (ties of the
coordinates that a ``max``/``min`` compares, and the edge of overlap), where the
finite-difference check cannot run.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from . import _detection
from . import _reference_detection as ref
from ._entries import EdgeCase, Entry, Kink, Peers

_FAMILY = "detection"
_CANDIDATES = 16


def _boxes(key, shape):
    kxy, kwh = jax.random.split(key)
    xy = jax.random.uniform(kxy, (*shape, 2), jnp.float32, 0.0, 4.0)
    wh = jax.random.uniform(kwh, (*shape, 2), jnp.float32, 0.5, 3.0)
    return jnp.concatenate([xy, xy + wh], axis=-1)


def _distance(p, t):
    """Per pair, the distance to the nearest kink of the box losses."""
    d = jnp.min(jnp.abs(p - t), axis=-1)
    iw = jnp.minimum(p[..., 2], t[..., 2]) - jnp.maximum(p[..., 0], t[..., 0])
    ih = jnp.minimum(p[..., 3], t[..., 3]) - jnp.maximum(p[..., 1], t[..., 1])
    return jnp.minimum(d, jnp.minimum(jnp.abs(iw), jnp.abs(ih)))


@functools.partial(jax.jit, static_argnums=(1, 2))
def _draw(key, shape, dtype):
    def one(k):
        kp, kt = jax.random.split(k)
        return _boxes(kp, shape), _boxes(kt, shape)

    p, t = jax.vmap(one)(jax.random.split(key, _CANDIDATES))
    best = jnp.argmax(jax.vmap(_distance)(p, t), axis=0)
    idx = jnp.reshape(best, (1, *best.shape, 1))
    p = jnp.take_along_axis(p, idx, axis=0)[0]
    t = jnp.take_along_axis(t, idx, axis=0)[0]
    return p.astype(dtype), t.astype(dtype)


def _sample(key, shape, dtype, options):
    return _draw(key, tuple(shape[:-1]), jnp.dtype(dtype))


def _args(p, t):
    return (np.asarray(p, np.float32), np.asarray(t, np.float32))


_SAME = _args(
    [[0.0, 0.0, 2.0, 2.0], [1.0, -1.0, 4.0, 0.5]], [[0.0, 0.0, 2.0, 2.0], [1.0, -1.0, 4.0, 0.5]]
)
_ZERO = np.zeros((2, 4), np.float32)


def _edge_cases(point_value):
    return (
        EdgeCase("coincident zero-area boxes", (_ZERO, _ZERO), value=np.ones(2, np.float32)),
        EdgeCase(
            "a point box at the centre of a proper box",
            _args([[1.0, 1.0, 1.0, 1.0]], [[0.0, 0.0, 2.0, 2.0]]),
            value=np.asarray([point_value], np.float32),
        ),
        EdgeCase(
            "zero-width and zero-height boxes",
            _args(
                [[0.0, 0.0, 0.0, 2.0], [0.0, 1.0, 3.0, 1.0]],
                [[0.0, 0.0, 1.0, 2.0], [1.0, 0.0, 2.0, 3.0]],
            ),
        ),
        EdgeCase(
            "inverted boxes (x2 < x1, y2 < y1)",
            _args(
                [[2.0, 0.0, 0.0, 2.0], [2.0, 2.0, 0.0, 0.0]],
                [[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 2.0, 2.0]],
            ),
        ),
        EdgeCase(
            "inverted box whose signed area cancels the target's (zero union), eps = 0",
            _args([[2.0, 0.0, 0.0, 2.0]], [[5.0, 5.0, 7.0, 7.0]]),
            {"eps": 0.0},
        ),
        EdgeCase(
            "coordinates ±1e4",
            _args([[-1e4, -1e4, 1e4, 1e4]], [[9e3, 9e3, 1e4, 1e4]]),
        ),
    )


_KINK_IDENTICAL = Kink(
    "identical boxes (coincident edges: ties split ½/½), eps = 0: gradient 0",
    _SAME,
    (np.zeros((2, 4), np.float32), np.zeros((2, 4), np.float32)),
    {"eps": 0.0},
)

ENTRIES: tuple[Entry, ...] = (
    Entry(
        "giou",
        _detection.giou,
        ref.giou,
        _FAMILY,
        "1 − IoU + (|C| − |U|) / |C| on [x1, y1, x2, y2] boxes",
        _sample,
        options=({}, {"eps": 0.5}),
        kinks=(_KINK_IDENTICAL,),
        edge_cases=_edge_cases(1.0),
        peers=Peers(other="torchvision generalized_box_iou_loss"),
    ),
    Entry(
        "diou",
        _detection.diou,
        ref.diou,
        _FAMILY,
        "1 − IoU + centre distance² / enclosing diagonal²",
        _sample,
        options=({}, {"eps": 0.5}),
        kinks=(_KINK_IDENTICAL,),
        edge_cases=_edge_cases(1.0),
        peers=Peers(other="torchvision distance_box_iou_loss"),
    ),
    Entry(
        "ciou",
        _detection.ciou,
        ref.ciou,
        _FAMILY,
        "DIoU + α·(4/π²)(atan(w'/h') − atan(w/h))², α constant",
        _sample,
        # The finite-difference check needs the exact gradient of the value: with α
        # constant (the default, torchvision's) the gradient lacks v ∂α by design;
        # tests/test_detection.py runs every other check on the default.
        options=({"alpha_gradient": True}, {"alpha_gradient": True, "eps": 0.5}),
        edge_cases=_edge_cases(1.05),
        peers=Peers(other="torchvision complete_box_iou_loss"),
    ),
)
