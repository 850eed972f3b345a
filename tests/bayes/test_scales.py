"""The posterior's covariance parameterisations, looked up through the structure registry."""

import numpy as np
import pytest

from bayesmix.bayes import build_model
from bayesmix.bayes import scales as scales_module
from bayesmix.bayes.correlations import correlation_cholesky, cpc_from_correlation
from bayesmix.bayes.scales import SCALES, get_scale
from bayesmix.covariance import STRUCTURES, get_structure, posterior_structures


@pytest.mark.parametrize("name", list(SCALES))
def test_every_scale_belongs_to_a_registered_structure(name):
    structure = get_structure(name)
    scale = get_scale(structure.label)
    assert scale is get_scale(name) and scale.structure == structure.name
    assert scale.correlations == structure.estimates_correlations


def test_the_structures_that_declare_a_posterior_are_those_with_a_scale():
    # posterior_structures (what the command line and the messages list, without the
    # model) reads supports_posterior.
    assert {s.name for s in STRUCTURES if s.supports_posterior} == set(SCALES)
    assert {get_structure(name).name for name in posterior_structures()} == set(SCALES)


def test_mclust_names_build_the_same_model_as_scikit_learn_names():
    X = np.random.default_rng(0).normal(size=(30, 2))
    by_alias, by_code = build_model(X, 2, "full"), build_model(X, 2, "VVV")
    assert [rv.name for rv in by_alias.free_RVs] == [rv.name for rv in by_code.free_RVs]
    point = by_alias.initial_point()
    assert by_alias.compile_logp()(point) == by_code.compile_logp()(point)


def test_a_structure_without_a_posterior_is_refused_by_name(monkeypatch):
    monkeypatch.setattr(scales_module, "SCALES",
                        {name: scale for name, scale in SCALES.items() if name != "VII"})
    with pytest.raises(ValueError, match=r"covariance_type='spherical' is fitted by EM only: "
                                         r"the posterior supports 'full', 'tied', 'diag'"):
        get_scale("spherical")


def test_canonical_partial_correlations_round_trip():
    rng = np.random.default_rng(1)
    cpc = rng.uniform(-0.9, 0.9, size=(3, 6))
    chol = correlation_cholesky(cpc, 4)
    np.testing.assert_allclose(cpc_from_correlation(chol @ np.swapaxes(chol, -1, -2)), cpc,
                               atol=1e-10)
