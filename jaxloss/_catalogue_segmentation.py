"""Catalogue entries of the segmentation family: soft overlap losses and the Lovász hinge.

The catalogue's ``shape`` is read as (images, pixels): the overlap samplers add a
class axis of 3 (one-hot targets over the pixels; logits, or probabilities with
``apply_softmax=False``), the Lovász sampler a second pixel axis of 4 (binary
masks, one image with no foreground).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from . import _reference_segmentation as ref
from . import _segmentation
from ._entries import EdgeCase, Entry, Kink, Peers
from ._entries import f32 as _f

_FAMILY = "segmentation"
_CLASSES = 3
_WIDTH = 4  # the Lovász sampler's second pixel axis


def _overlap_inputs(key, shape, dtype, options):
    """``(predictions [B, N, 3], one-hot targets [B, N, 3])``."""
    b, n = shape[0], shape[-1]
    kz, ky = jax.random.split(key)
    labels = jax.random.randint(ky, (b, n), 0, _CLASSES)
    targets = jax.nn.one_hot(labels, _CLASSES, dtype=dtype)
    if options.get("apply_softmax", True):
        return 1.5 * jax.random.normal(kz, (b, n, _CLASSES), dtype), targets
    # Multi-label probabilities (they need not sum to 1), away from 0 and 1.
    return jax.random.uniform(kz, (b, n, _CLASSES), dtype, 0.05, 0.95), targets


def _lovasz_inputs(key, shape, dtype, options):
    """``(logits [B, N, 4], labels [B, N, 4])``: about 40 % foreground, image 1 has
    none, and 20 % of the pixels are ``ignore_index`` when one is given.

    The hinge errors ``1 − z σ`` are a shuffled grid over [−3, 3] with no point at 0,
    so that no two are within finite-difference reach of a tie (the loss's order
    changes there) or of the hinge, even with the whole batch sorted together.
    """
    b, n = shape[0], shape[-1]
    kz, ky, ki = jax.random.split(key, 3)
    size = b * n * _WIDTH
    grid = (jnp.arange(size, dtype=dtype) + 0.5) * (6 / size) - 3
    errors = jnp.reshape(jax.random.permutation(kz, grid), (b, n, _WIDTH))
    labels = jax.random.bernoulli(ky, 0.4, (b, n, _WIDTH)).astype(jnp.int32)
    if b > 1:
        labels = labels.at[1].set(0)
    logits = (1 - errors) * (2 * labels - 1).astype(dtype)
    ignore = options.get("ignore_index")
    if ignore is not None:
        labels = jnp.where(jax.random.bernoulli(ki, 0.2, labels.shape), ignore, labels)
    return logits, labels


def _onehot(rows):
    return np.eye(_CLASSES, dtype=np.float32)[np.asarray(rows)]


_T = _onehot([[0, 1, 2, 1]])  # one image of 4 pixels
_PEAKS = np.where(_T > 0, 1e4, -1e4).astype(np.float32)
_MASKED = np.where(np.arange(_CLASSES) == 2, -np.inf, 0.0).astype(np.float32) + 0 * _T
_T_NO_2 = _onehot([[0, 1, 0, 1]])  # class 2 absent: its -inf logits are right
_EMPTY = np.zeros((1, 4, _CLASSES), np.float32)


def _overlap_edges(extra=()):
    return (
        EdgeCase("logits ±1e4 matching the targets", (_PEAKS, _T), value=_f([0.0])[0]),
        EdgeCase("logits ±1e4 against the targets", (-_PEAKS, _T)),
        EdgeCase("-inf logits for an absent class", (_MASKED, _T_NO_2)),
        EdgeCase("-inf logits for a present class", (_MASKED, _T)),
        EdgeCase(
            "empty masks: probabilities and targets 0",
            (_EMPTY, _EMPTY),
            {"apply_softmax": False},
            value=_f([0.0])[0],
        ),
        EdgeCase(
            "empty masks without smoothing",
            (_EMPTY, _EMPTY),
            {"apply_softmax": False, "smooth": 0.0},
            value=_f([0.0])[0],
        ),
        EdgeCase("probabilities 0 and 1", (_T[:, ::-1], _T), {"apply_softmax": False}),
        *extra,
    )


_EMPTY_KINK = Kink(
    "smooth = 0, empty mask: loss 0, gradient 0",
    (_EMPTY, _EMPTY),
    (_EMPTY, _EMPTY),
    {"apply_softmax": False, "smooth": 0.0},
)

_SOFTMAX = {}
_PROBABILITIES = {"apply_softmax": False, "smooth": 0.0}


def _overlap_entry(name, summary, options, peers, kinks=(_EMPTY_KINK,), extra_edges=()):
    return Entry(
        name,
        getattr(_segmentation, name),
        getattr(ref, name),
        _FAMILY,
        summary,
        _overlap_inputs,
        options=options,
        kinks=kinks,
        edge_cases=_overlap_edges(extra_edges),
        peers=peers,
    )


_INF = math.inf

ENTRIES: tuple[Entry, ...] = (
    _overlap_entry(
        "dice",
        "1 − (I + s)/(½(P + T) + s) per class, class mean (optax's smooth)",
        (
            _SOFTMAX,
            _PROBABILITIES,
            {"class_weights": np.array([0.5, 1.0, 2.0]), "ignore_background": True, "smooth": 0.3},
        ),
        Peers(optax="dice_loss", keras="Dice", other="MONAI DiceLoss"),
    ),
    _overlap_entry(
        "generalized_dice",
        "dice with class weights 1/(F_c² + 1e-7) over the batch, optax's normalisation",
        (_SOFTMAX, {"apply_softmax": False, "ignore_background": True}),
        Peers(optax="multiclass_generalized_dice_loss", other="MONAI GeneralizedDiceLoss"),
    ),
    _overlap_entry(
        "tversky",
        "1 − (I + s)/(I + α FP + β FN + s) per class, class mean",
        (
            {"alpha": 0.3, "beta": 0.7},
            {"alpha": 0.7, "beta": 0.2, "apply_softmax": False, "smooth": 0.0},
        ),
        Peers(optax="dice_loss(alpha=, beta=)", keras="Tversky (alpha and beta swapped)"),
    ),
    _overlap_entry(
        "focal_tversky",
        "tversky per class raised to γ, class mean",
        (
            {"alpha": 0.3, "beta": 0.7, "gamma": 0.75},
            {"gamma": 2.0, "apply_softmax": False, "smooth": 0.0},
        ),
        Peers(other="Abraham & Khan 2019 (exponent 1/γ)"),
        kinks=(
            _EMPTY_KINK,
            Kink(
                "perfect overlap (R = 0), γ < 1: gradient 0",
                (_T, _T),
                (np.zeros_like(_T), np.zeros_like(_T)),
                {"apply_softmax": False, "gamma": 0.5},
            ),
        ),
    ),
    _overlap_entry(
        "jaccard",
        "1 − (I + s)/(P + T − I + s) per class, class mean (soft IoU)",
        (_SOFTMAX, _PROBABILITIES),
        Peers(other="soft IoU; segmentation_models_pytorch JaccardLoss"),
    ),
    Entry(
        "lovasz_hinge",
        _segmentation.lovasz_hinge,
        ref.lovasz_hinge,
        _FAMILY,
        "Lovász extension of the Jaccard loss at the hinge errors (binary)",
        _lovasz_inputs,
        argnums=(0,),
        options=({}, {"per_image": False}, {"ignore_index": 255}),
        kinks=(
            Kink(
                "margin exactly 1 (e = 0): subgradient 0",
                (_f([[1.0, -1.0, 0.5]])[0], np.array([[1, 0, 1]], np.int32)),
                (_f([[0.0, 0.0, -0.5]])[0],),
            ),
            Kink(
                "tied errors: ranked by position",
                (_f([[0.0, 0.0, 0.0]])[0], np.array([[1, 0, 1]], np.int32)),
                (_f([[-0.5, 1 / 6, -1 / 3]])[0],),
            ),
        ),
        edge_cases=(
            EdgeCase(
                "logits ±1e4",
                (_f([[1e4, -1e4, 1e4, -1e4]])[0], np.array([[1, 0, 0, 1]], np.int32)),
            ),
            EdgeCase(
                "±inf logits on the right side",
                (_f([[_INF, -_INF, 3.0]])[0], np.array([[1, 0, 1]], np.int32)),
                value=_f([0.0])[0],
            ),
            EdgeCase(
                "no foreground: max(1 + max z, 0)",
                (_f([[0.5, -3.0, 2.0]])[0], np.zeros((1, 3), np.int32)),
                value=_f([3.0])[0],
            ),
            EdgeCase(
                "every pixel ignored",
                (_f([[0.5, -3.0]])[0], np.full((1, 2), 255, np.int32)),
                {"ignore_index": 255},
                value=_f([0.0])[0],
            ),
        ),
        peers=Peers(other="Berman et al. lovasz_hinge (bermanmaxim/LovaszSoftmax)"),
    ),
)
