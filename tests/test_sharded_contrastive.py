"""Global-batch contrastive losses under ``jax.shard_map`` on the 8 CPU devices.

On the same global batch, the sharded loss (each device's anchors against every
device's examples, ``axis_name="d"``) equals the unsharded loss, in value and in the
gradients with respect to the embeddings and to the temperature / scale / bias,
for every reduction, with weights and with padding rows excluded by ``where``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType
from jax.sharding import PartitionSpec as P

import jaxloss
from jaxloss import reference

N, D = 16, 5


@pytest.fixture(scope="module")
def mesh():
    assert jax.device_count() >= 8
    return jax.make_mesh((8,), ("d",), axis_types=(AxisType.Auto,))


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, D))
    return {
        "x": jnp.asarray(x),
        "y": jnp.asarray(x + rng.normal(size=(N, D))),
        "labels": jnp.asarray(rng.integers(0, 5, N), jnp.int32),
        "weights": jnp.asarray(rng.uniform(0.5, 2.0, N)),
        "where": jnp.asarray(rng.uniform(size=N) < 0.75),
        "tau": jnp.asarray(0.4),
        "t": jnp.asarray(3.0),
        "b": jnp.asarray(-1.5),
    }


# name -> (call(fn, inputs, diff, **kw), the differentiable input names, batch inputs)
def _info_nce(fn, a, diff, **kw):
    return fn(diff["x"], diff["y"], diff["tau"], **kw)


def _pairs(name):
    def call(fn, a, diff, **kw):
        return fn(diff["x"], a["labels"], diff["tau"], **kw)

    return call


def _sigmoid(fn, a, diff, **kw):
    return fn(diff["x"], diff["y"], diff["t"], diff["b"], **kw)


CASES = {
    "info_nce": (_info_nce, ("x", "y", "tau"), {}),
    "info_nce_one_way": (_info_nce, ("x", "y", "tau"), {"symmetric": False}),
    "supervised_contrastive": (_pairs("supervised_contrastive"), ("x", "tau"), {}),
    "ntxent": (_pairs("ntxent"), ("x", "tau"), {}),
    "sigmoid_pairwise": (_sigmoid, ("x", "y", "t", "b"), {}),
}
_FN = {"info_nce_one_way": "info_nce"}


CONFIGS = (("mean", False, False), ("sum", True, False), ("none", False, True),
           ("mean", True, True))  # fmt: skip


def _configs_value_and_grad(case, a, loss_of):
    """Values and gradients (random cotangent) of every config in one jitted function."""
    _, names, _ = CASES[case]

    def run(diff):
        out = []
        for reduction, weights, where in CONFIGS:

            def total(diff, r=reduction, w=weights, m=where):
                value = loss_of(diff, r, w, m)
                cot = jnp.linspace(0.5, 1.5, value.size).reshape(value.shape)
                return jnp.sum(value * cot), value

            out.append(jax.value_and_grad(total, has_aux=True)(diff))
        return out

    return jax.jit(run)({n: a[n] for n in names})


def _sharded(mesh, module, case, a, configs_of=_configs_value_and_grad):
    call, names, opts = CASES[case]
    fn = getattr(module, _FN.get(case, case))
    batch = ("labels", "weights", "where")
    diff_specs = {n: P("d") if a[n].ndim else P() for n in names}

    def loss_of(diff, reduction, weights, where):
        def local(diff, b):
            return call(fn, b, diff, axis_name="d", reduction=reduction,
                        weights=b["weights"] if weights else None,
                        where=b["where"] if where else None, **opts)  # fmt: skip

        f = jax.shard_map(local, mesh=mesh, in_specs=(diff_specs, {n: P("d") for n in batch}),
                          out_specs=P("d") if reduction == "none" else P())  # fmt: skip
        return f(diff, {n: a[n] for n in batch})

    return configs_of(case, a, loss_of)


def _plain(case, a):
    call, _, opts = CASES[case]
    fn = getattr(jaxloss, _FN.get(case, case))

    def loss_of(diff, reduction, weights, where):
        return call(fn, a, diff, reduction=reduction, weights=a["weights"] if weights else None,
                    where=a["where"] if where else None, **opts)  # fmt: skip

    return _configs_value_and_grad(case, a, loss_of)


def _close(got, want, rtol=1e-12):
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=rtol,
                                   atol=rtol * (1 + float(np.max(np.abs(w)))))  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_sharded_equals_unsharded(mesh, case):
    """Each config of CONFIGS: (reduction, weights, where)."""
    a = _inputs()
    got, want = _sharded(mesh, jaxloss, case, a), _plain(case, a)
    for config, ((_, g_out), g_grads), ((_, w_out), w_grads) in zip(CONFIGS, got, want,
                                                                     strict=True):  # fmt: skip
        _close(g_out, w_out)
        _close(g_grads, w_grads)
        # Every gradient is non-trivial (the temperature's too) and finite.
        for g in jax.tree.leaves(g_grads):
            assert np.all(np.isfinite(g)) and np.any(np.asarray(g) != 0), config


def test_sharded_reference_equals_sharded_rule(mesh):
    a = _inputs(1)
    case = "supervised_contrastive"  # (the others' references: test_contract, unsharded)
    _close(_sharded(mesh, jaxloss, case, a), _sharded(mesh, reference, case, a))


def test_padding_rows_are_dropped_from_the_global_batch(mesh):
    """Rows under where=False (NaN padding) behave as if the batch did not contain them."""
    a = _inputs(2)
    keep = np.asarray(a["where"])
    padded = {**a, "x": jnp.where(a["where"][:, None], a["x"], jnp.nan),
              "y": jnp.where(a["where"][:, None], a["y"], jnp.nan)}  # fmt: skip
    (_, got), grads = _sharded(mesh, jaxloss, "info_nce", padded)[3]  # mean, weights, where
    w = a["weights"][keep]
    small = jnp.sum(w * jaxloss.info_nce(a["x"][keep], a["y"][keep], a["tau"])) / jnp.sum(w)
    np.testing.assert_allclose(float(got), float(small), rtol=1e-12)
    assert np.all(np.asarray(grads["x"])[~keep] == 0)
    assert np.all(np.isfinite(np.asarray(grads["tau"])))


def test_per_device_temperature_is_not_summed(mesh):
    """A temperature that varies over the mesh axis keeps a per-device gradient."""
    a = _inputs(3)
    taus = jnp.linspace(0.3, 0.6, 8)

    def local(x, y, tau):
        return jaxloss.info_nce(x, y, tau[0], axis_name="d", reduction="sum")[None]

    f = jax.shard_map(local, mesh=mesh, in_specs=(P("d"), P("d"), P("d")), out_specs=P("d"))
    g = jax.jit(jax.grad(lambda t: jnp.sum(f(a["x"], a["y"], t))))(taus)
    assert g.shape == (8,) and np.all(np.isfinite(g)) and len(set(np.asarray(g).tolist())) == 8
