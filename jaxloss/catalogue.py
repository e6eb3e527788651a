"""The catalogue: one entry per loss, the spine of tests, ``jaxloss verify`` and the docs.

Each :class:`Entry` names the loss and its plain reference, its family, a seeded
sampler of valid inputs, the hyperparameter settings worth checking, the points
where the loss is not differentiable with the gradient the rule takes there, edge
inputs that must stay finite, and the names its peers give it.

Example:
  >>> from jaxloss import catalogue
  >>> entry = catalogue.get("huber")
  >>> entry.family, entry.peers.torch
  ('regression', 'huber_loss')
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from . import (
    _catalogue_binary,
    _catalogue_classification,
    _catalogue_contrastive,
    _catalogue_detection,
    _catalogue_divergence,
    _catalogue_embedding,
    _catalogue_large_vocab,
    _catalogue_margin,
    _catalogue_ranking,
    _catalogue_reweighted,
    _catalogue_segmentation,
    _catalogue_sequence,
    _likelihood,
    _regression,
    _robust,
)
from . import reference as ref
from ._entries import EdgeCase, Entry, Kink, Peers, Sampler
from ._entries import f32 as _f

__all__ = ["EdgeCase", "Entry", "Kink", "Peers", "Sampler", "families", "get", "names"]

# --- samplers


def _normal_pair(key, shape, dtype, options):
    kp, kt = jax.random.split(key)
    return (
        2 * jax.random.normal(kp, shape, dtype),
        2 * jax.random.normal(kt, shape, dtype),
    )


def _log1p_domain(key, shape, dtype, options):
    kp, kt = jax.random.split(key)
    return (
        jax.random.uniform(kp, shape, dtype, -0.5, 4.0),
        jax.random.uniform(kt, shape, dtype, -0.5, 4.0),
    )


def _nonzero_targets(key, shape, dtype, options):
    kp, kt, ks = jax.random.split(key, 3)
    sign = jnp.where(jax.random.bernoulli(ks, 0.5, shape), 1, -1).astype(dtype)
    t = sign * jax.random.uniform(kt, shape, dtype, 0.5, 3.0)
    return t + jax.random.normal(kp, shape, dtype), t


def _counts(key, shape, dtype, options):
    kp, kt, kz = jax.random.split(key, 3)
    # Zeros and values well above 1: the Stirling term jumps at t = 1.
    t = jnp.where(
        jax.random.bernoulli(kz, 0.25, shape), 0, jax.random.uniform(kt, shape, dtype, 1.5, 6.0)
    ).astype(dtype)
    if options.get("log_input", True):
        return jax.random.normal(kp, shape, dtype), t
    return jax.random.uniform(kp, shape, dtype, 0.2, 4.0), t


def _gaussian(key, shape, dtype, options):
    kp, kv = jax.random.split(key)
    p, t = _normal_pair(kp, shape, dtype, options)
    return p, t, jax.random.uniform(kv, shape, dtype, 0.1, 2.0)


def _tweedie(key, shape, dtype, options):
    kp, kt = jax.random.split(key)
    return (
        0.5 * jax.random.normal(kp, shape, dtype),
        jax.random.uniform(kt, shape, dtype, 0.2, 3.0),
    )


# --- the regression family

_REGRESSION = "regression"

_REGRESSION_ENTRIES: tuple[Entry, ...] = (
    Entry(
        "squared_error",
        _regression.squared_error,
        ref.squared_error,
        _REGRESSION,
        "(p - t)²",
        _normal_pair,
        edge_cases=(EdgeCase("error 1e15", _f([1e15, -1e15], [0, 0]), value=_f([1e30, 1e30])[0]),),
        peers=Peers(torch="mse_loss", optax="squared_error", keras="MeanSquaredError"),
    ),
    Entry(
        "absolute_error",
        _regression.absolute_error,
        ref.absolute_error,
        _REGRESSION,
        "|p - t|",
        _normal_pair,
        kinks=(Kink("d = 0: subgradient 0", _f([1.5, 0.0], [1.5, 0.0]), _f([0, 0], [0, 0])),),
        edge_cases=(EdgeCase("error 1e30", _f([1e30], [-1e30]), value=_f([2e30])[0]),),
        peers=Peers(torch="l1_loss", keras="MeanAbsoluteError"),
    ),
    Entry(
        "huber",
        _robust.huber,
        ref.huber,
        _REGRESSION,
        "½d² for |d| ≤ δ, δ(|d| − ½δ) beyond",
        _normal_pair,
        options=({"delta": 1.0}, {"delta": 0.3}),
        kinks=(
            Kink(
                "|d| = δ: gradient ±δ",
                _f([2.0, -2.0], [0.0, 0.0]),
                _f([2.0, -2.0], [-2.0, 2.0]),
                {"delta": 2.0},
            ),
        ),
        edge_cases=(EdgeCase("error ±1e30", _f([1e30, -1e30], [0, 0]), {"delta": 1.0}),),
        peers=Peers(torch="huber_loss", optax="huber_loss", keras="Huber"),
    ),
    Entry(
        "smooth_l1",
        _robust.smooth_l1,
        ref.smooth_l1,
        _REGRESSION,
        "huber(δ=β) / β; β = 0 is L1",
        _normal_pair,
        options=({"beta": 1.0}, {"beta": 0.0}, {"beta": 2.5}),
        kinks=(Kink("β = 0, d = 0: subgradient 0", _f([0.7], [0.7]), _f([0], [0]), {"beta": 0.0}),),
        edge_cases=(EdgeCase("error ±1e30", _f([1e30, -1e30], [0, 0]), {"beta": 0.5}),),
        peers=Peers(torch="smooth_l1_loss"),
    ),
    Entry(
        "log_cosh",
        _robust.log_cosh,
        ref.log_cosh,
        _REGRESSION,
        "log cosh(p − t)",
        _normal_pair,
        edge_cases=(
            EdgeCase(
                "error ±1e4 (cosh overflows)",
                _f([1e4, -1e4], [0, 0]),
                value=_f([1e4 - math.log(2), 1e4 - math.log(2)])[0],
            ),
            EdgeCase("error 1e30", _f([1e30], [0])),
        ),
        peers=Peers(optax="log_cosh", keras="LogCosh"),
    ),
    Entry(
        "squared_log_error",
        _regression.squared_log_error,
        ref.squared_log_error,
        _REGRESSION,
        "(log1p(p) − log1p(t))²",
        _log1p_domain,
        edge_cases=(
            EdgeCase("zeros", _f([0.0], [0.0]), value=_f([0.0])[0]),
            EdgeCase("near −1 and large", _f([-0.999, 1e30], [1e30, -0.999])),
        ),
        peers=Peers(keras="MeanSquaredLogarithmicError"),
    ),
    Entry(
        "absolute_percentage_error",
        _regression.absolute_percentage_error,
        ref.absolute_percentage_error,
        _REGRESSION,
        "100 |p − t| / max(|t|, ε)",
        _nonzero_targets,
        kinks=(
            Kink("d = 0: subgradient 0", _f([2.0, -0.5], [2.0, -0.5]), _f([0, 0], [0, 0])),
            Kink(
                "|t| below ε: constant denominator",
                _f([1.0], [0.0]),
                _f([200.0], [-200.0]),
                {"eps": 0.5},
            ),
        ),
        edge_cases=(EdgeCase("zero targets", _f([0.0, 1.0], [0.0, 0.0])),),
        peers=Peers(keras="MeanAbsolutePercentageError"),
    ),
    Entry(
        "root_mean_squared_error",
        _regression.root_mean_squared_error,
        ref.root_mean_squared_error,
        _REGRESSION,
        "sqrt(mean((p − t)², axis)) per example",
        _normal_pair,
        options=({"axis": -1}, {"axis": None}),
        kinks=(
            Kink(
                "all errors zero: subgradient 0",
                _f([[1.0, 2.0], [0.0, 0.0]], [[1.0, 2.0], [0.0, 0.0]]),
                _f(np.zeros((2, 2)), np.zeros((2, 2))),
            ),
        ),
        edge_cases=(
            EdgeCase("all zero", _f(np.zeros((2, 3)), np.zeros((2, 3))), value=_f([0, 0])[0]),
            # Scaled by the largest error before squaring: no underflow to 0, no overflow.
            EdgeCase(
                "errors 3e-30, 4e-30 (squares underflow)",
                _f([[3e-30, -4e-30]], [[0, 0]]),
                value=_f([math.sqrt(12.5) * 1e-30])[0],
            ),
            EdgeCase(
                "errors 3e20, 4e20 (squares overflow)",
                _f([[3e20, -4e20]], [[0, 0]]),
                value=_f([math.sqrt(12.5) * 1e20])[0],
            ),
        ),
        peers=Peers(keras="metrics.RootMeanSquaredError"),
    ),
    Entry(
        "pinball",
        _regression.pinball,
        ref.pinball,
        _REGRESSION,
        "max(τ r, (τ − 1) r), r = t − p",
        _normal_pair,
        options=({"tau": 0.5}, {"tau": 0.1}, {"tau": 0.9}),
        kinks=(Kink("r = 0: subgradient 0", _f([0.3], [0.3]), _f([0], [0]), {"tau": 0.2}),),
        edge_cases=(EdgeCase("error ±1e30", _f([1e30, -1e30], [0, 0]), {"tau": 0.25}),),
        peers=Peers(other="quantile loss"),
    ),
    Entry(
        "poisson_nll",
        _likelihood.poisson_nll,
        ref.poisson_nll,
        _REGRESSION,
        "exp(η) − tη (+ Stirling), PyTorch's poisson_nll_loss",
        _counts,
        options=(
            {"log_input": True, "full": False},
            {"log_input": True, "full": True},
            {"log_input": False, "full": False},
            {"log_input": False, "full": True},
        ),
        kinks=(
            Kink(
                "full, t = 0: finite target gradient",
                _f([0.5], [0.0]),
                _f([math.exp(0.5)], [-0.5]),
                {"log_input": True, "full": True},
            ),
        ),
        edge_cases=(
            EdgeCase("zero rate", _f([0.0, 0.0], [0.0, 3.0]), {"log_input": False, "full": True}),
            EdgeCase("zero targets", _f([-30.0, 30.0], [0.0, 0.0]), {"full": True}),
        ),
        peers=Peers(torch="poisson_nll_loss", keras="Poisson"),
    ),
    Entry(
        "gaussian_nll",
        _likelihood.gaussian_nll,
        ref.gaussian_nll,
        _REGRESSION,
        "½(log v + (p − t)²/v), PyTorch's gaussian_nll_loss",
        _gaussian,
        argnums=(0, 1, 2),
        options=({"full": False}, {"full": True}),
        kinks=(
            Kink(
                "variance below eps: clamped value, straight-through gradient",
                _f([1.0], [0.0], [0.0]),
                _f([1 / 0.5], [-1 / 0.5], [0.5 * (1 / 0.5 - 1 / 0.25)]),
                {"eps": 0.5},
            ),
        ),
        edge_cases=(
            EdgeCase("zero and negative variance", _f([1.0, 0.0], [0.0, 0.0], [0.0, -1.0])),
        ),
        peers=Peers(torch="gaussian_nll_loss"),
    ),
    Entry(
        "charbonnier",
        _robust.charbonnier,
        ref.charbonnier,
        _REGRESSION,
        "sqrt(d² + ε²) − ε",
        _normal_pair,
        options=({"eps": 1e-3}, {"eps": 0.5}, {"eps": 0.0}),
        kinks=(Kink("ε = 0, d = 0: subgradient 0", _f([0.4], [0.4]), _f([0], [0]), {"eps": 0.0}),),
        edge_cases=(EdgeCase("error ±1e30", _f([1e30, -1e30], [0, 0])),),
        peers=Peers(other="L1-L2 / pseudo-Huber (shifted)"),
    ),
    Entry(
        "tweedie",
        _likelihood.tweedie,
        ref.tweedie,
        _REGRESSION,
        "Tweedie deviance of μ = exp(η), power p ≥ 1",
        _tweedie,
        options=({"power": 1.5}, {"power": 1.0}, {"power": 1.2}, {"power": 2.0}, {"power": 3.0}),
        kinks=(
            Kink(
                "y = 0: target-only term's derivative taken as 0",
                _f([0.0], [0.0]),
                _f([2.0], [4.0]),
                {"power": 1.5},
            ),
        ),
        edge_cases=(
            EdgeCase("y = 0, p = 1", _f([0.0, 3.0], [0.0, 0.0]), {"power": 1.0}),
            EdgeCase("y = 0, p = 1.5, large |η|", _f([-20.0, 20.0], [0.0, 0.0]), {"power": 1.5}),
        ),
        peers=Peers(other="sklearn mean_tweedie_deviance; LightGBM/XGBoost tweedie"),
    ),
    Entry(
        "general_robust",
        _robust.general_robust,
        ref.general_robust,
        _REGRESSION,
        "Barron's ρ(d, α, c)",
        _normal_pair,
        options=(
            {"alpha": 1.0},
            {"alpha": 2.0},
            {"alpha": 0.0},
            {"alpha": -math.inf},
            {"alpha": -2.0, "scale": 0.5},
            {"alpha": 0.5, "scale": 2.0},
            {"alpha": 4.0},
        ),
        edge_cases=(
            *(
                EdgeCase(f"error ±1e10, α = {a}", _f([1e10, -1e10], [0, 0]), {"alpha": a})
                for a in (-math.inf, -2.0, 0.0, 1.0, 2.0)
            ),
            EdgeCase("error ±1e30 (x² overflows), α = 1", _f([1e30, -1e30], [0, 0])),
            *(
                EdgeCase(
                    f"error ±inf (a bounded loss), α = {a}",
                    _f([np.inf, -np.inf], [0, 0]),
                    {"alpha": a},
                    value=_f([v, v])[0],
                )
                for a, v in ((-math.inf, 1.0), (-2.0, 2.0), (-0.5, 5.0))
            ),
        ),
        peers=Peers(other="Barron's robust_loss (adaptive=False)"),
    ),
)

ENTRIES: tuple[Entry, ...] = (
    *_REGRESSION_ENTRIES,
    *_catalogue_classification.ENTRIES,
    *_catalogue_reweighted.ENTRIES,
    *_catalogue_binary.ENTRIES,
    *_catalogue_margin.ENTRIES,
    *_catalogue_divergence.ENTRIES,
    *_catalogue_sequence.ENTRIES,
    *_catalogue_ranking.ENTRIES,
    *_catalogue_detection.ENTRIES,
    *_catalogue_segmentation.ENTRIES,
    *_catalogue_contrastive.ENTRIES,
    *_catalogue_embedding.ENTRIES,
    *_catalogue_large_vocab.ENTRIES,
)


def names(family: str | None = None) -> list[str]:
    """The names in the catalogue, optionally of one family."""
    return [e.name for e in ENTRIES if family is None or e.family == family]


def get(name: str) -> Entry:
    """The entry for ``name``; ``KeyError`` with the known names otherwise."""
    for e in ENTRIES:
        if e.name == name:
            return e
    raise KeyError(f"no loss named {name!r} in the catalogue; known: {', '.join(names())}")


def families() -> list[str]:
    return sorted({e.family for e in ENTRIES})
