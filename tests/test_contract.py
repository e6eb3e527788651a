"""Contract tests: every catalogue entry through every check of the verification harness."""

import functools

import pytest

from jaxloss import catalogue, testing


@functools.cache
def _report(name: str) -> testing.Report:
    """All checks of one loss, run once (as `jaxloss verify NAME` runs them); conftest.py
    keeps a loss's tests on one xdist worker."""
    return testing.check_entry(catalogue.get(name))


@pytest.mark.parametrize("check", testing.CHECKS)
@pytest.mark.parametrize("name", catalogue.names())
def test_contract(name, check):
    result = _report(name)[check]
    assert result.passed, f"{name} · {check}: {result.detail}"


@pytest.mark.parametrize("entry", catalogue.ENTRIES, ids=lambda e: e.name)
def test_entry_is_complete(entry):
    import jaxloss
    from jaxloss import reference

    assert getattr(jaxloss, entry.name) is entry.fn
    assert getattr(reference, entry.name) is entry.reference
    assert entry.name in jaxloss.__all__ and entry.name in reference.__all__
    doc = entry.fn.__doc__ or ""
    for section in ("Args:", "Returns:", "Raises:", "Example:", r"\partial"):
        assert section in doc, f"{entry.name}'s docstring lacks {section}"
    assert entry.options and all(isinstance(o, dict) for o in entry.options)


def test_catalogue_covers_every_public_loss():
    import jaxloss

    helpers = {"apply_conventions"}
    public = {n for n in jaxloss.__all__ if callable(getattr(jaxloss, n))} - helpers
    assert public == set(catalogue.names())


def test_get_unknown_name_lists_known_ones():
    with pytest.raises(KeyError, match="huber"):
        catalogue.get("hubert")
