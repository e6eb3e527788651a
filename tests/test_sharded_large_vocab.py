"""vocab_parallel_softmax_cross_entropy on the 8 CPU test devices: equal to the unsharded
loss in value and gradient (global arrays and inside a user's shard_map, padded and
whole padded shards, labels owned by other shards), the weight gradient stays sharded,
and per-device memory."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

import jaxloss
from jaxloss.testing import _DEFAULT_COMPILE as DEFAULT_COMPILE

VP = jaxloss.vocab_parallel_softmax_cross_entropy
LSCE = jaxloss.linear_softmax_cross_entropy
T, D = 10, 4

pytestmark = pytest.mark.skipif(jax.device_count() < 8, reason="needs 8 devices")


def _mesh(*shape_names):
    shape = shape_names[: len(shape_names) // 2]
    names = shape_names[len(shape_names) // 2 :]
    return jax.make_mesh(shape, names, axis_types=(AxisType.Explicit,) * len(names))


def _inputs(v, seed=0):
    rng = np.random.default_rng(seed)
    h = jnp.asarray(rng.normal(size=(T, D)))
    w = jnp.asarray(rng.normal(size=(D, v)))
    b = jnp.asarray(rng.normal(size=(v,)))
    y = jnp.asarray(rng.integers(0, v, T), jnp.int32).at[0].set(v - 1).at[1].set(0)
    cot = jnp.asarray(rng.uniform(0.5, 1.5, T) * rng.choice([-1.0, 1.0], T))
    return h, w, b, y, cot


def _close(a, b, tol=1e-10):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=tol, atol=tol)


OPTIONS = {"label_smoothing": 0.1, "z_loss": 1e-2, "logit_softcap": 3.0, "ignore_index": 5}


@pytest.mark.parametrize("v", [16, 13, 3])  # 2 columns a shard; padded; 5 padded shards
def test_global_arrays_equal_unsharded(v):
    """Values and gradients (hidden, weight, bias) with a non-unit cotangent."""
    h, w, b, y, cot = _inputs(v)

    @jax.jit
    def both(h, w, b):
        out = []
        for f in (VP, LSCE):
            loss = functools.partial(f, labels=y, block_size=2, weights=jnp.abs(cot), **OPTIONS)
            value, vjp = jax.vjp(lambda h, w, b, loss=loss: loss(h, w, bias=b), h, w, b)
            out.append((value, vjp(cot)))
        return out

    got, want = both(h, w, b)
    _close(got, want)


def test_weight_gradient_stays_sharded():
    h, w, _, y, _ = _inputs(32)
    mesh = jax.make_mesh((8,), ("vocab",), axis_types=(AxisType.Auto,))
    ws = jax.device_put(w, NamedSharding(mesh, P(None, "vocab")))
    f = jax.jit(jax.grad(lambda h, w: VP(h, w, y, mesh=mesh, reduction="mean"), (0, 1)))
    gh, gw = f(h, ws)
    assert gw.sharding.is_equivalent_to(NamedSharding(mesh, P(None, "vocab")), 2)
    assert gh.sharding.is_fully_replicated
    _close((gh, gw), jax.grad(lambda h, w: LSCE(h, w, y, reduction="mean"), (0, 1))(h, w))


@pytest.mark.parametrize("pad", [0, 3])
def test_inside_a_users_shard_map(pad):
    """The local mode: each device passes its weight shard; labels are global ids (most
    owned by another shard); a vocabulary padded to the shard multiple gives vocab_size."""
    v = 16 - pad
    h, w, b, y, cot = _inputs(v, 1)
    mesh = _mesh(8, "vocab")
    wp = jnp.pad(w, ((0, 0), (0, pad)))
    bp = jnp.pad(b, (0, pad))
    vocab_size = v if pad else None

    def local(h, w, b, y, cot):
        def loss(h, w, b):
            return VP(h, w, y, bias=b, axis_name="vocab", vocab_size=vocab_size,
                      label_smoothing=0.1, z_loss=1e-2, reduction="none")  # fmt: skip

        value, vjp = jax.vjp(loss, h, w, b)
        return value, vjp(cot)

    sharded = jax.jit(jax.shard_map(local, mesh=mesh,
        in_specs=(P(), P(None, "vocab"), P("vocab"), P(), P()),
        out_specs=(P(), (P(), P(None, "vocab"), P("vocab")))))  # fmt: skip
    with jax.set_mesh(mesh):
        specs = (P(), P(None, "vocab"), P("vocab"), P(), P())
        args = [jax.device_put(x, NamedSharding(mesh, s)) for x, s in zip(
            (h, wp, bp, y, cot), specs, strict=True)]  # fmt: skip
        value, (gh, gw, gb) = jax.device_get(sharded(*args))
    ref = jaxloss.reference.linear_softmax_cross_entropy
    f = functools.partial(ref, labels=y, label_smoothing=0.1, z_loss=1e-2)
    want, vjp = jax.vjp(lambda h, w, b: f(h, w, bias=b), h, w, b)
    _close((value, gh, gw[:, :v], gb[:v]), (want, *vjp(cot)))
    assert not np.any(gw[:, v:] != 0)


def test_two_dimensional_mesh_data_and_vocab():
    """Tokens split over a "data" axis, the vocabulary over "vocab": the loss only
    reduces over "vocab"; the mean over tokens is the user's."""
    h, w, _, y, _ = _inputs(16, 2)
    mesh = _mesh(2, 4, "data", "vocab")

    def local(h, w, y):
        loss = VP(h, w, y, axis_name="vocab", block_size=3, label_smoothing=0.1)
        return jax.lax.pmean(jnp.mean(loss), "data")

    def step(h, w, y):
        return jax.value_and_grad(
            jax.shard_map(local, mesh=mesh, in_specs=(P("data"), P(None, "vocab"), P("data")),
                          out_specs=P()), (0, 1))(h, w, y)  # fmt: skip

    with jax.set_mesh(mesh):
        specs = (P("data"), P(None, "vocab"), P("data"))
        args = [jax.device_put(x, NamedSharding(mesh, s)) for x, s in zip(
            (h, w, y), specs, strict=True)]  # fmt: skip
        got = jax.device_get(jax.jit(step)(*args))
    want = jax.value_and_grad(lambda h, w: LSCE(h, w, y, label_smoothing=0.1,
                                                reduction="mean"), (0, 1))(h, w)  # fmt: skip
    _close(got, want)


def test_per_device_logits_memory_is_a_shard():
    """Compiled per-device temporaries of the sharded loss and gradient, with one block
    spanning each device's V/8 columns: the logits part is 1/8 of one device's."""
    n, d, v = 1024, 32, 8192
    h = jax.ShapeDtypeStruct((n, d), jnp.float32)
    w = jax.ShapeDtypeStruct((d, v), jnp.float32)
    y = jax.ShapeDtypeStruct((n,), jnp.int32)

    def temp(f):
        # What a user's jax.jit compiles (conftest.py compiles the rest fast).
        compiled = jax.jit(jax.value_and_grad(f, (0, 1))).lower(h, w, y).compile(DEFAULT_COMPILE)
        return compiled.memory_analysis().temp_size_in_bytes

    one = temp(lambda h, w, y: LSCE(h, w, y, block_size=v, reduction="mean"))
    sharded = temp(lambda h, w, y: VP(h, w, y, block_size=v, reduction="mean"))
    # Measured: 64 MiB on one device (two [n, V] blocks), 12 MiB a device sharded (two
    # [n, V/8] blocks, 8 MiB, and the replicated tokens' buffers).
    assert one >= 2 * n * v * 4
    assert sharded < one / 4


def test_mesh_argument_errors():
    h, w, _, y, _ = _inputs(16)
    mesh = jax.make_mesh((8,), ("model",))
    with pytest.raises(ValueError, match=r"vocab_parallel.*axis_name 'vocab' is not an axis"):
        VP(h, w, y, mesh=mesh)
    with pytest.raises(ValueError, match="vocab_size is for the local weight shard"):
        VP(h, w, y, vocab_size=16)
    with pytest.raises(TypeError, match="axis_name must be"):
        VP(h, w, y, axis_name=0)


def test_export_with_a_symbolic_token_count_is_a_clear_error():
    """A symbolic token count inside the shard_map cannot be refined when the export is
    called: XLA:CPU (jax 0.10.2) crashed the process with a segmentation fault. The
    export refuses it, saying the dimension must be static; a concrete shape exports
    and runs on the 8 devices."""
    from jax import export

    (t,) = export.symbolic_shape("t")
    h, w, _, y, _ = _inputs(13, seed=5)
    h, w = h.astype(jnp.float32), w.astype(jnp.float32)

    def f(h, w, y):
        return VP(h, w, y, reduction="mean", z_loss=1e-2)

    def specs(tokens):
        return (jax.ShapeDtypeStruct((tokens, D), jnp.float32),
                jax.ShapeDtypeStruct((D, 13), jnp.float32),
                jax.ShapeDtypeStruct((tokens,), jnp.int32))  # fmt: skip

    # An export for 8 devices runs on 8 devices: the call is jitted over the whole mesh.
    replicated = NamedSharding(jax.make_mesh((8,), ("vocab",)), P())
    for g in (f, jax.grad(f, (0, 1))):
        jitted = jax.jit(g, in_shardings=(replicated,) * 3)
        with pytest.raises(
            ValueError,
            match=r"vocab_parallel_softmax_cross_entropy: the "
            r"token count must be static .* symbolic dimension t in hidden",
        ):
            export.export(jitted)(*specs(t))
        exported = export.export(jitted)(*specs(T))
        call = jax.jit(exported.call, in_shardings=(replicated,) * 3)
        _close(call(h, w, y), g(h, w, y), tol=1e-5)


def test_zero_tokens_give_empty_none_and_zero_sum_and_mean():
    h, w, _, _, _ = _inputs(13)
    h0, y0 = h[:0], jnp.zeros((0,), jnp.int32)
    assert VP(h0, w, y0).shape == (0,)
    for reduction in ("sum", "mean"):
        value, (gh, gw) = jax.value_and_grad(
            lambda h, w, r=reduction: VP(h, w, y0, reduction=r), (0, 1)
        )(h0, w)
        assert value == 0.0 and gh.shape == (0, D) and bool(jnp.all(gw == 0))


def test_infinite_weight_entry_and_excluded_tokens_with_nan_logits():
    """W[0, 0] = -inf masks class 0 for the tokens with h[:, 0] > 0 (their hidden
    gradient must not be p_0 · -inf = NaN) and makes the others' loss NaN; those are
    excluded, and their zeroed hidden state times -inf is a NaN logit that must add
    nothing to the shard's weight gradient. Equal to the one-device loss on the kept
    tokens, with a finite Hessian-vector product."""
    h, w, _, y, _ = _inputs(13, seed=3)
    h = h.at[:, 0].set(jnp.where(jnp.arange(T) % 3 == 0, -1.0, 1.0) * (jnp.abs(h[:, 0]) + 0.1))
    keep = h[:, 0] > 0
    kept = np.flatnonzero(np.asarray(keep))
    y = jnp.where(y == 0, 1, y)
    w = w.at[0, 0].set(-jnp.inf)
    opts = {"block_size": 2, "label_smoothing": 0.1, "z_loss": 1e-2, "reduction": "mean"}

    def ours(h, w):
        return VP(h, w, jnp.where(keep, y, -100), ignore_index=-100, **opts)

    @jax.jit
    def run(h, w):
        vg = jax.value_and_grad(ours, (0, 1))
        (value, grads), (_, hvp) = jax.jvp(vg, (h, w), (jnp.ones_like(h), jnp.ones_like(w)))
        want = jax.value_and_grad(lambda h, w: LSCE(h[kept], w, y[kept], **opts), (0, 1))(h, w)
        return (value, grads), want, hvp

    got, want, hvp = run(h, w)
    _close(got, want)
    assert bool(jnp.all(got[1][0][~keep] == 0))
    assert all(bool(jnp.all(jnp.isfinite(x))) for x in hvp)


def test_zero_tokens_with_a_batch_of_weights():
    """hidden [3, 0, D] against weights [3, D, V]: no reshape(-1, 0) (a modulo by zero)."""
    _, w, _, _, _ = _inputs(13)
    h0, ws, y0 = jnp.zeros((3, 0, D)), jnp.stack([w, w, w]), jnp.zeros((3, 0), jnp.int32)
    assert VP(h0, ws, y0).shape == (3, 0)
    for reduction in ("sum", "mean"):
        value, (gh, gw) = jax.value_and_grad(
            lambda h, w, r=reduction: VP(h, w, y0, reduction=r, ignore_index=2), (0, 1)
        )(h0, ws)
        assert value == 0.0 and gh.shape == h0.shape and bool(jnp.all(gw == 0))
