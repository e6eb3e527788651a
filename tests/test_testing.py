"""The verification harness passes correct rules and catches each kind of broken one."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from jaxloss import _programs, catalogue, reference, testing
from jaxloss._reduce import apply

K1, K2 = jax.random.split(jax.random.key(7))
SAMPLE = (jax.random.normal(K1, (5, 4), jnp.float32), jax.random.normal(K2, (5, 4), jnp.float32))


def make_loss(fwd, bwd, *, primal=None):
    """An absolute-error-like loss from a fwd/bwd pair, following jaxloss's convention."""

    @jax.custom_vjp
    def core(p, t):
        return primal(p, t) if primal else fwd(p, t)[0]

    core.defvjp(fwd, bwd)

    def loss(p, t, *, weights=None, where=None, reduction="none"):
        return apply("loss", core, (jnp.asarray(p), jnp.asarray(t)), weights=weights,
                     where=where, reduction=reduction)  # fmt: skip

    return loss


def good_fwd(p, t):
    return jnp.abs(p - t), (p, t)


def good_bwd(res, g):
    d = jnp.sign(res[0] - res[1]) * g
    return d, -d


KINK = catalogue.Kink("d = 0", (np.float32([1.0]), np.float32([1.0])), (np.float32([0.0]),) * 2)


def run(loss, **kwargs):
    kwargs.setdefault("argnums", (0, 1))
    return testing.check_loss(loss, reference.absolute_error, SAMPLE, kinks=[KINK], **kwargs)


def test_a_correct_rule_passes_every_check():
    report = run(make_loss(good_fwd, good_bwd))
    report.raise_for_failure()
    assert report.passed and {r.check for r in report.results} == set(testing.CHECKS)


@pytest.mark.parametrize(
    ("broken", "failing"),
    [
        # A wrong factor in the gradient.
        (make_loss(good_fwd, lambda r, g: (2 * jnp.sign(r[0] - r[1]) * g,) * 2), "gradient"),
        # A rule that ignores the incoming cotangent (right only for a unit cotangent).
        (make_loss(good_fwd, lambda r, g: (jnp.sign(r[0] - r[1]), -jnp.sign(r[0] - r[1]))),
         "gradient"),
        # A sign error on the targets' gradient, caught by finite differences too.
        (make_loss(good_fwd, lambda r, g: (jnp.sign(r[0] - r[1]) * g,) * 2),
         "finite_differences"),
        # The documented subgradient at the kink is not the one returned.
        (make_loss(good_fwd, lambda r, g: (jnp.where(r[0] >= r[1], 1.0, -1.0) * g,
                                           jnp.where(r[0] >= r[1], -1.0, 1.0) * g)), "kinks"),
    ],
)  # fmt: skip
def test_broken_rules_fail_the_right_check(broken, failing):
    report = run(broken)
    assert not report[failing].passed, str(report)
    with pytest.raises(AssertionError, match=failing):
        report.raise_for_failure()


def test_finite_differences_blame_the_inputs_when_the_reference_fails_too():
    # -log p near p = 0: the third derivative 2/p³ puts the step's truncation error far
    # above tolerance, for the correct rule and the plain reference alike.
    def ref(p, t, *, weights=None, where=None, reduction="none"):
        return apply("loss", lambda p, t: -t * jnp.log(p), (jnp.asarray(p), jnp.asarray(t)),
                     weights=weights, where=where, reduction=reduction)  # fmt: skip

    near_zero = (np.float32([2e-4, 0.5]), np.float32([1.0, 1.0]))
    far = (np.float32([0.4, 0.5]), np.float32([1.0, 1.0]))
    blamed = testing.check_loss(ref, ref, near_zero, checks=["finite_differences"])
    assert not blamed.passed
    assert "the plain reference fails this check too" in blamed.results[0].detail
    assert testing.check_loss(ref, ref, far, checks=["finite_differences"]).passed
    # A wrong rule at good inputs is not blamed on the inputs.
    wrong = make_loss(good_fwd, lambda r, g: (jnp.sign(r[0] - r[1]) * g,) * 2)
    report = run(wrong, checks=["finite_differences"])
    assert not report.passed and "reference fails" not in report.results[0].detail


def test_fwd_that_calls_the_custom_function_breaks_hessian():
    holder = {}

    def fwd(p, t):
        return holder["core"](p, t), (p, t)

    @jax.custom_vjp
    def core(p, t):
        return jnp.abs(p - t)

    core.defvjp(fwd, good_bwd)
    holder["core"] = core

    def loss(p, t, *, weights=None, where=None, reduction="none"):
        return apply("loss", core, (p, t), weights=weights, where=where, reduction=reduction)

    report = run(loss, checks=["hessian"])
    assert not report["hessian"].passed
    assert "forward-mode" in report["hessian"].detail


def test_masking_after_the_fact_leaks_nan_and_is_caught():
    def loss(p, t, *, weights=None, where=None, reduction="none"):
        # Multiplies by the mask instead of excluding entries before the math.
        w = jnp.ones_like(p) if weights is None else jnp.broadcast_to(weights, p.shape)
        m = jnp.ones_like(p) if where is None else jnp.broadcast_to(where, p.shape).astype(p.dtype)
        l = jnp.abs(p - t) * w * m
        if reduction == "none":
            return l
        return jnp.sum(l) if reduction == "sum" else jnp.sum(l) / jnp.sum(w * m)

    report = run(loss, checks=["reductions"])
    assert not report["reductions"].passed


def test_wrong_output_dtype_is_caught():
    def loss(p, t, **kw):
        return jaxloss.absolute_error(p.astype(jnp.float32), t, **kw)

    report = run(loss, checks=["dtypes"])
    assert not report["dtypes"].passed and "output" in report["dtypes"].detail


def test_non_finite_edge_case_is_caught():
    edge = catalogue.EdgeCase("huge", (np.float32([1e30]), np.float32([0.0])))
    report = testing.check_loss(jaxloss.squared_error, reference.squared_error, SAMPLE,
                                edge_cases=[edge], checks=["edge_cases"])  # fmt: skip
    assert not report["edge_cases"].passed


def test_unknown_check_is_a_value_error():
    with pytest.raises(ValueError, match="unknown check 'speed'"):
        testing.check_loss(jaxloss.huber, reference.huber, SAMPLE, checks=["speed"])


def test_report_serialises():
    report = testing.check_entry(catalogue.get("huber"), ["value", "kinks"])
    d = report.to_dict()
    assert d["name"] == "huber" and d["passed"] is True
    assert set(d["checks"]) == {"value", "kinks"}
    assert "huber: passed" in str(report)


def test_fused_reduction_catches_a_mean_that_goes_wrong_at_scale():
    def loss(p, t, *, weights=None, where=None, reduction="none"):
        out = jaxloss.absolute_error(p, t, weights=weights, where=where, reduction=reduction)
        # Wrong only on large inputs, as a miscompiled fused reduction is.
        return out * 1.01 if reduction != "none" and p.size >= 4096 else out

    report = run(loss, checks=["fused_reduction"])
    assert not report["fused_reduction"].passed
    assert "compiled mean over" in report["fused_reduction"].detail


def test_check_labels_reports_out_of_range_labels():
    from jax.experimental import checkify

    def step(labels):
        return testing.check_labels(labels, 5, ignore_index=-100)

    err, out = checkify.checkify(jax.jit(step))(jnp.array([0, 4, -100, 1]))
    assert err.get() is None and out.tolist() == [0, 4, -100, 1]
    for labels, message in (
        ([0, 5, 3], "found 5 at flat index 1"),
        ([0, 1, -1], "found -1 at flat index 2"),
        ([[0, 1], [-100, 2]], "found -100 at flat index 2"),  # not ignored here
    ):
        err, _ = checkify.checkify(jax.jit(lambda y: testing.check_labels(y, 5)))(jnp.array(labels))
        assert message in (err.get() or "")
    with pytest.raises(TypeError, match="integers"):
        testing.check_labels(jnp.array([0.5]), 3)


def test_a_vmap_that_differs_from_the_loop_is_caught():
    # A rule whose forward pass batches wrongly (doubled under vmap only): per-example
    # calls, jit and gradients are all right, so only the vmap check can see it.
    @jax.custom_batching.custom_vmap
    def scaled(p):
        return p

    @scaled.def_vmap
    def _(axis_size, in_batched, p):
        return 2.0 * p, in_batched[0]

    loss = make_loss(lambda p, t: (jnp.abs(scaled(p) - t), (p, t)), good_bwd)
    report = run(loss, checks=["vmap", "value", "jit", "gradient"])
    assert not report["vmap"].passed and "against a loop over examples" in report["vmap"].detail
    assert report["value"].passed and report["jit"].passed and report["gradient"].passed


def test_a_failure_names_the_argument_and_the_option_set_in_words():
    # Right for predictions, wrong (doubled) for targets.
    wrong_t = make_loss(good_fwd, lambda r, g: (jnp.sign(r[0] - r[1]) * g,
                                                -2 * jnp.sign(r[0] - r[1]) * g))  # fmt: skip

    def with_option(p, t, *, scale=1.0, **conventions):
        return wrong_t(p, t, **conventions)

    def reference_with_option(p, t, *, scale=1.0, **conventions):
        return reference.absolute_error(p, t, **conventions)

    report = testing.check_loss(with_option, reference_with_option, SAMPLE, argnums=(0, 1),
                                options=[{"scale": 0.5}], checks=["gradient"])  # fmt: skip
    detail = report["gradient"].detail
    assert detail.startswith("w.r.t. t (float32, scale=0.5)"), detail
    assert "w.r.t. p" not in detail


def test_checks_without_documented_points_say_none_given():
    report = testing.check_loss(
        jaxloss.huber, reference.huber, SAMPLE, checks=["kinks", "edge_cases"]
    )
    assert report.passed
    assert [r.detail for r in report.results] == ["none given", "none given"]
    assert "none given" in str(report)


def test_export_lowers_every_checked_program_for_other_platforms():
    result = testing.export_entry(catalogue.get("huber"), ["cuda", "tpu"])
    assert result.passed and result.check == "export", result.detail
    assert "cuda, tpu" in result.detail and int(result.detail.split()[0]) >= 10


def test_export_names_the_program_that_does_not_lower():
    # A host callback cannot be serialised for another platform.
    def loss(p, t, **conventions):
        p = jax.pure_callback(lambda x: x, jax.ShapeDtypeStruct(p.shape, p.dtype), p)
        return jaxloss.absolute_error(p, t, **conventions)

    base = catalogue.get("absolute_error")
    entry = catalogue.Entry("host_loss", loss, base.reference, "test", "", base.sample)
    result = testing.export_entry(entry, ["tpu"], ["value"])
    assert not result.passed and result.detail.startswith("value (default options) for tpu:")


# --- compiled programs kept between runs (``jaxloss verify --cache``)

KEPT_CHECKS = ("value", "gradient", "jit", "reductions")


def kept_files(directory):
    return sorted(p.relative_to(directory) for p in directory.rglob("*.program"))


@pytest.fixture
def keep(tmp_path):
    _programs.keep_in(tmp_path)
    yield tmp_path
    _programs.keep_in(None)


def test_a_second_run_uses_the_kept_programs_and_sample_without_compiling(keep, monkeypatch):
    entry = catalogue.get("huber")
    assert testing.check_entry(entry, KEPT_CHECKS).passed
    first = kept_files(keep)
    # One program per precision and compile mode (float32, float64, the jit check's).
    assert len(first) == 3, first

    def no_compiling(lowered, options, program):
        raise AssertionError("a kept program was compiled again")

    def no_drawing(*args, **kwargs):
        raise AssertionError("a kept sample was drawn again")

    monkeypatch.setattr(_programs, "compile_and_keep", no_compiling)
    monkeypatch.setattr(catalogue.Entry, "inputs", no_drawing)
    report = testing.check_entry(entry, KEPT_CHECKS)
    assert report.passed, report
    assert kept_files(keep) == first


def test_kept_programs_serve_only_the_source_they_were_compiled_from(keep, monkeypatch):
    entry = catalogue.get("huber")
    assert testing.check_entry(entry, ("value",)).passed
    (old,) = {f.parts[0] for f in kept_files(keep)}
    monkeypatch.setattr(_programs, "fingerprint", lambda: "an edited source")
    assert testing.check_entry(entry, ("value",)).passed
    assert {f.parts[0] for f in kept_files(keep)} == {old, "an edited source"}


def test_an_unreadable_kept_program_is_compiled_again(keep):
    entry = catalogue.get("huber")
    assert testing.check_entry(entry, ("value", "gradient")).passed
    for f in keep.rglob("*.program"):
        f.write_bytes(b"not a program")
    assert testing.check_entry(entry, ("value", "gradient")).passed
    assert all(f.read_bytes() != b"not a program" for f in keep.rglob("*.program"))


def test_user_losses_and_older_sources_are_not_kept(keep, monkeypatch):
    assert run(make_loss(good_fwd, good_bwd), checks=("value",)).passed
    # A caller's own entry, even under a catalogue name: its source is not the library's.
    base = catalogue.get("huber")
    mine = catalogue.Entry("huber", base.fn, base.reference, "test", "", base.sample)
    assert testing.check_entry(mine, ("value",)).passed
    assert kept_files(keep) == []
    for n in range(6):
        monkeypatch.setattr(_programs, "fingerprint", lambda n=n: f"source {n}")
        assert testing.check_entry(base, ("value",)).passed
    assert {f.parts[0] for f in kept_files(keep)} == {f"source {n}" for n in range(2, 6)}


def test_the_fingerprint_names_what_a_program_depends_on():
    assert re.fullmatch("[0-9a-f]{32}", _programs.fingerprint())
    # The host CPU's instruction set: a folder shared between machines must not hand a
    # program to another CPU.
    assert _programs._host_cpu()
