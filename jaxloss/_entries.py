"""The catalogue's record types, shared by the per-family catalogue modules."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["EdgeCase", "Entry", "Kink", "Peers", "Sampler", "f32"]

Sampler = Callable[[jax.Array, tuple[int, ...], Any, Mapping[str, Any]], tuple[jax.Array, ...]]


@dataclass(frozen=True)
class Peers:
    """What other libraries call the loss (``None`` where they have no equivalent)."""

    torch: str | None = None  # torch.nn.functional
    optax: str | None = None  # optax.losses
    keras: str | None = None  # keras.losses
    other: str | None = None


@dataclass(frozen=True)
class Kink:
    """A point where the loss is not differentiable, and the gradient the rule returns there.

    ``grads`` holds the gradient of ``sum(fn(*args, **options))`` with respect to
    each differentiable argument, asserted exactly.
    """

    description: str
    args: tuple[Any, ...]
    grads: tuple[Any, ...]
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EdgeCase:
    """An extreme input whose value and gradients must be finite (and equal ``value`` if given)."""

    description: str
    args: tuple[Any, ...]
    options: Mapping[str, Any] = field(default_factory=dict)
    value: Any = None


@dataclass(frozen=True)
class Entry:
    """One loss of the catalogue."""

    name: str
    fn: Callable[..., jax.Array]
    reference: Callable[..., jax.Array]
    family: str
    summary: str
    sample: Sampler
    argnums: tuple[int, ...] = (0, 1)
    options: tuple[Mapping[str, Any], ...] = ({},)
    kinks: tuple[Kink, ...] = ()
    edge_cases: tuple[EdgeCase, ...] = ()
    peers: Peers = Peers()

    def inputs(
        self, seed: int = 0, shape: tuple[int, ...] = (6, 5), dtype: Any = jnp.float32, **options
    ) -> tuple[jax.Array, ...]:
        """Seeded valid inputs of ``shape`` for the given options."""
        return self.sample(jax.random.key(seed), shape, jnp.dtype(dtype), options)


def f32(*xs):
    """Each argument as a float32 numpy array (for kink and edge-case inputs)."""
    return tuple(np.asarray(x, np.float32) for x in xs)
