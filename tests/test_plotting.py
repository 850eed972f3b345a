"""Tests of bayesmix.plotting: what each picture draws, checked on its artists."""

import matplotlib

matplotlib.use("Agg")

import warnings  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import Ellipse  # noqa: E402

from bayesmix import GaussianMixtureEM, make_mixture, select_em  # noqa: E402
from bayesmix.covariance import MCLUST_MODELS, get_structure, to_full  # noqa: E402
from bayesmix.exceptions import ConvergenceWarning  # noqa: E402
from bayesmix.plotting import (  # noqa: E402
    example_covariances,
    plot_covariance_models,
    plot_components,
    plot_em_history,
    plot_posterior_components,
    plot_selection,
    plot_trace,
    plot_uncertainty,
    plot_weights,
)
from bayesmix.results import build_inference_data  # noqa: E402

FAITHFUL_NAMES = ["eruptions", "waiting"]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def em2(old_faithful):
    return GaussianMixtureEM(2, random_state=0).fit(old_faithful)


@pytest.fixture(scope="module")
def posterior(em2, old_faithful):
    """A hand-made posterior around ``em2``: 2 chains x 15 draws, jittered parameters."""
    rng = np.random.default_rng(0)
    shape = (2, 15)
    weights = rng.dirichlet(200 * em2.weights_, size=shape)
    means = em2.means_ + rng.normal(0, 0.05, shape + em2.means_.shape) * [0.3, 3.0]
    scale = rng.uniform(0.8, 1.25, shape + (2, 1, 1))
    covariances = em2.covariances_ * scale
    return build_inference_data(X=old_faithful.to_numpy(), weights=weights, means=means,
                                covariances=covariances, covariance_type="full",
                                inference_method="nuts", feature_names=FAITHFUL_NAMES)


@pytest.fixture(scope="module")
def data3():
    X, _, _ = make_mixture(200, n_components=2, n_features=3, covariance_type="full",
                           random_state=0)
    return pd.DataFrame(X, columns=["u", "v", "w"])


@pytest.fixture(scope="module")
def em3d(data3):
    return GaussianMixtureEM(2, random_state=0).fit(data3)


@pytest.fixture(scope="module")
def bayes(old_faithful):
    """The one real posterior of this module: a short ADVI fit (about 10 s)."""
    from bayesmix.bayes import GaussianMixtureBayes

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return GaussianMixtureBayes(2, random_state=0).fit(old_faithful, method="advi",
                                                          draws=60, n_iter=300)


@pytest.fixture(scope="module")
def selection():
    """A grid with degenerate fits: 30 rows share one value of the second feature."""
    X, _, _ = make_mixture(300, n_components=2, covariance_type="diag", random_state=0)
    X = X.copy()
    X[:30, 1] = X[0, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return select_em(X, n_components=[1, 2, 3, 4], covariance_types=["diag", "tied"],
                         random_state=0)


def _ellipses(ax):
    return [patch for patch in ax.patches if isinstance(patch, Ellipse)]


def _vertices(ellipse):
    """Points on the ellipse outline (ends and midpoints of its Bezier arcs), in data
    coordinates; a Bezier circle is exact to 3e-4 of the radius."""
    points = [curve(t) for curve, _ in ellipse.get_path().iter_bezier() for t in (0.0, 0.5)]
    return ellipse.get_patch_transform().transform(np.array(points))


def _squared_mahalanobis(points, mean, covariance):
    diff = points - mean
    return np.einsum("ni,ij,nj->n", diff, np.linalg.inv(covariance), diff)


def _labelled(ax, prefix):
    return [artist for artist in ax.get_children()
            if str(artist.get_label()).startswith(prefix)]


# ---------------------------------------------------------------- plot_components
def test_components_2d_one_ellipse_per_component_and_level(em2, old_faithful):
    ax = plot_components(em2, old_faithful)
    assert len(_ellipses(ax)) == 2 * 3
    assert (ax.get_xlabel(), ax.get_ylabel()) == tuple(FAITHFUL_NAMES)
    assert len(_ellipses(plot_components(em2, old_faithful, n_std=2))) == 2
    # Points coloured by predicted cluster: one colour per label.
    colours = ax.collections[0].get_facecolors()[:, :3]
    labels = em2.predict(old_faithful)
    for k in range(2):
        assert len(np.unique(colours[labels == k], axis=0)) == 1
    assert not np.allclose(colours[labels == 0][0], colours[labels == 1][0])


def test_ellipse_geometry_matches_the_covariance():
    covariance = np.array([[3.0, 1.2], [1.2, 1.0]])
    mean = np.array([1.0, -2.0])
    X = np.random.default_rng(0).multivariate_normal(mean, covariance, size=50)
    idata = build_inference_data(X=X, weights=np.ones((1, 1, 1)), means=mean[None, None, None],
                                 covariances=covariance[None, None, None],
                                 covariance_type="full", inference_method="em")
    levels = (1.0, 2.0, 3.0)
    ax = plot_components(idata, X, n_std=levels)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    expected_angle = np.degrees(np.arctan2(eigenvectors[1, 1], eigenvectors[0, 1])) % 180
    for ellipse, level in zip(_ellipses(ax), levels):
        assert np.allclose(ellipse.center, mean)
        assert ellipse.width == pytest.approx(2 * level * np.sqrt(eigenvalues[1]))
        assert ellipse.height == pytest.approx(2 * level * np.sqrt(eigenvalues[0]))
        assert ellipse.angle % 180 == pytest.approx(expected_angle)
        # Independent of conventions: the outline is the level-sigma contour.
        distances = _squared_mahalanobis(_vertices(ellipse), mean, covariance)
        assert np.allclose(distances, level**2, rtol=1e-3)


@pytest.mark.parametrize("covariance_type", ["tied", "diag", "spherical"])
def test_components_every_structure_is_drawn_as_full_matrices(old_faithful, covariance_type):
    em = GaussianMixtureEM(2, covariance_type=covariance_type, random_state=0).fit(old_faithful)
    full = to_full(em.covariances_, covariance_type, 2, 2)
    ellipse = _ellipses(plot_components(em, old_faithful, n_std=[1]))[1]
    distances = _squared_mahalanobis(_vertices(ellipse), em.means_[1], full[1])
    assert np.allclose(distances, 1.0, rtol=1e-3)


def test_components_posterior_is_drawn_at_the_posterior_mean(posterior, old_faithful):
    ax = plot_components(posterior, old_faithful, n_std=[1])
    means = posterior.posterior["means"].mean(("chain", "draw")).values
    assert np.allclose([e.center for e in _ellipses(ax)], means)
    assert ax.get_title().startswith("posterior mean (nuts): 2 components")


def test_components_pairwise_panels_for_three_features(em3d, data3):
    fig = plot_components(em3d, data3)
    assert len(fig.axes) == 9
    panels = np.array(fig.axes).reshape(3, 3)
    # Panel (row 2, column 0) shows feature w against feature u.
    ellipse = _ellipses(panels[2, 0])[0]
    pair = [0, 2]
    covariance = em3d.covariances_[0][np.ix_(pair, pair)]
    assert np.allclose(ellipse.center, em3d.means_[0, pair])
    assert np.allclose(_squared_mahalanobis(_vertices(ellipse), em3d.means_[0, pair],
                                            covariance), 1.0, rtol=1e-3)
    assert all(len(_ellipses(panels[i, j])) == 2 * 3
               for i in range(3) for j in range(3) if i != j)
    assert all(len(_ellipses(panels[i, i])) == 0 for i in range(3))
    assert [panels[2, j].get_xlabel() for j in range(3)] == ["u", "v", "w"]
    assert [panels[i, 0].get_ylabel() for i in range(3)] == ["u", "v", "w"]
    assert panels[1, 1].get_title() == "v: density"


def test_components_1d_density_integrates_to_one(old_faithful):
    X = old_faithful[["eruptions"]]
    em = GaussianMixtureEM(2, random_state=0).fit(X)
    ax = plot_components(em, X)
    mixture = _labelled(ax, "mixture")[0]
    grid, density = mixture.get_xdata(), mixture.get_ydata()
    assert np.trapezoid(density, grid) == pytest.approx(1.0, abs=1e-3)
    components = _labelled(ax, "component")
    assert len(components) == 2
    assert np.allclose(sum(line.get_ydata() for line in components), density)
    assert ax.get_xlabel() == "eruptions"


def test_components_accepts_an_axes_and_the_fitted_data(em2):
    fig, ax = plt.subplots()
    assert plot_components(em2, ax=ax) is ax
    assert len(ax.collections[0].get_offsets()) == 272


# ---------------------------------------------------------------- plot_posterior_components
def test_posterior_cloud_counts_and_seed(posterior, em2, old_faithful):
    ax = plot_posterior_components(posterior, old_faithful, n_draws=7, em=em2, random_state=1)
    ellipses = _ellipses(ax)
    assert len(ellipses) == 7 * 2 + 2
    # The EM ellipses are drawn last, over the cloud, at 2 sigma.
    for ellipse, mean, covariance in zip(ellipses[-2:], em2.means_, em2.covariances_):
        distances = _squared_mahalanobis(_vertices(ellipse), mean, covariance)
        assert np.allclose(distances, 4.0, rtol=1e-3)
    again = plot_posterior_components(posterior, old_faithful, n_draws=7, em=em2,
                                      random_state=1)
    assert [e.center for e in _ellipses(again)] == [e.center for e in ellipses]
    # More draws asked for than there are: all 30, without EM.
    assert len(_ellipses(plot_posterior_components(posterior, n_draws=500))) == 30 * 2


def test_posterior_cloud_on_a_real_fit_uses_its_em(bayes, old_faithful):
    ax = plot_posterior_components(bayes, old_faithful, n_draws=10, random_state=0)
    ellipses = _ellipses(ax)
    assert len(ellipses) == 10 * 2 + 2
    assert np.allclose([e.center for e in ellipses[-2:]], bayes.em_.means_)
    assert "over the EM fit" in ax.get_title()


# ---------------------------------------------------------------- plot_uncertainty
def test_uncertainty_colours_are_one_minus_max_responsibility(em2, old_faithful):
    ax = plot_uncertainty(em2, old_faithful)
    expected = 1 - em2.predict_proba(old_faithful).max(axis=1)
    assert np.allclose(ax.collections[0].get_array(), expected)
    assert ax.collections[0].get_clim() == (0.0, 0.5)


def test_uncertainty_side_by_side_shares_the_colour_scale(em2, bayes, old_faithful):
    fig = plot_uncertainty(em2, old_faithful, compare_to=bayes)
    left, right = fig.axes[:2]
    assert left.get_title() == "EM: classification uncertainty"
    assert right.get_title() == "posterior (advi): classification uncertainty"
    assert left.collections[0].get_clim() == right.collections[0].get_clim()
    expected = 1 - bayes.predict_proba(old_faithful).max(axis=1)
    assert np.allclose(right.collections[0].get_array(), expected)


def test_uncertainty_picks_features_of_three(em3d, data3):
    ax = plot_uncertainty(em3d, data3, features=["w", "u"])
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("w", "u")
    assert np.allclose(ax.collections[0].get_offsets(), data3[["w", "u"]].to_numpy())


# ---------------------------------------------------------------- plot_selection
def test_selection_lines_and_chosen_point(selection):
    ax = plot_selection(selection)
    table = selection.table_
    assert [line.get_label() for line in ax.get_lines()] == ["diag", "tied"]
    for line in ax.get_lines():
        rows = table[table["covariance_type"] == line.get_label()]
        assert np.allclose(line.get_ydata(), rows.sort_values("n_components")["bic"])
    chosen = _labelled(ax, "chosen by BIC")[0]
    best = table.loc[selection.best_index_]
    assert np.allclose(chosen.get_offsets(), [[best["n_components"], best["bic"]]])
    assert ax.get_ylabel() == "BIC (lower is better)"


def test_selection_marks_degenerate_fits(selection):
    table = selection.table_
    assert table["degenerate"].any()
    ax = plot_selection(selection, criterion="icl")
    marked = _labelled(ax, "degenerate fit")[0]
    rows = table[table["degenerate"]]
    assert np.allclose(marked.get_offsets(), rows[["n_components", "icl"]].to_numpy())
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert "degenerate fit (never chosen)" in legend


# ---------------------------------------------------------------- plot_weights, plot_trace
def test_weights_one_violin_per_component_and_em_markers(posterior, em2):
    ax = plot_weights(posterior, em=em2)
    bodies = _labelled(ax, "component")
    assert [body.get_label() for body in bodies] == ["component 0", "component 1"]
    markers = _labelled(ax, "EM weight")[0]
    assert np.allclose(markers.get_offsets(), np.c_[[0, 1], em2.weights_])


def test_weights_and_trace_on_a_real_fit(bayes):
    ax = plot_weights(bayes)
    assert len(_labelled(ax, "component")) == 2
    assert np.allclose(_labelled(ax, "EM weight")[0].get_offsets()[:, 1], bayes.em_.weights_)
    axes = plot_trace(bayes)
    assert [ax.get_title() for ax in axes[:, 0]] == [
        "weights", "means[eruptions]", "means[waiting]"]
    # The density of component 1's weight is drawn from its draws.
    weights = bayes.idata_.posterior["weights"].sel(component=1).values.ravel()
    trace_lines = axes[0, 1].get_lines()
    assert any(np.allclose(line.get_ydata(), weights) for line in trace_lines)
    axes = plot_trace(bayes, var_names=["covariances"])
    assert [ax.get_title() for ax in axes[:, 0]] == [
        "covariances[eruptions, eruptions]", "covariances[eruptions, waiting]",
        "covariances[waiting, waiting]"]


def test_weights_of_a_single_component_is_a_line():
    rng = np.random.default_rng(0)
    idata = build_inference_data(X=rng.normal(size=(10, 1)), weights=np.ones((1, 5, 1)),
                                 means=rng.normal(size=(1, 5, 1, 1)),
                                 covariances=np.ones((1, 5, 1, 1, 1)),
                                 covariance_type="full", inference_method="nuts")
    assert len(_labelled(plot_weights(idata), "component")) == 1


# ---------------------------------------------------------------- plot_em_history
def test_em_history_is_the_lower_bound_history(em2):
    ax = plot_em_history(em2)
    line = ax.get_lines()[0]
    assert np.allclose(line.get_ydata(), em2.lower_bound_history_)
    assert np.array_equal(line.get_xdata(), np.arange(1, em2.n_iter_ + 1))
    assert ax.get_title() == f"EM converged after {em2.n_iter_} iterations"
    assert plot_em_history(em2.to_inference_data()).get_title() == ax.get_title()


def test_em_history_says_when_em_did_not_converge(old_faithful):
    with pytest.warns(ConvergenceWarning):
        em = GaussianMixtureEM(3, max_iter=2, random_state=0).fit(old_faithful)
    assert plot_em_history(em).get_title() == "EM did NOT converge after 2 iterations"


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, match", [
    (lambda m: plot_components(m["em2"], np.zeros((5, 3))),
     r"X has 3 features, but the model \(features \['eruptions', 'waiting'\]\)"),
    (lambda m: plot_components(m["em2"], m["data"].rename(columns={"waiting": "wait"})),
     r"X has columns \['eruptions', 'wait'\], but the model was fitted on"),
    (lambda m: plot_components(GaussianMixtureEM(2)),
     "model: model must be a fitted .* got GaussianMixtureEM. Fit the estimator first"),
    (lambda m: plot_components(m["em2"], n_std=0), r"n_std must be .* got 0; e.g."),
    (lambda m: plot_components(m["em3d"], ax=plt.gca()), "ax: plot_components draws several"),
    (lambda m: plot_posterior_components(m["posterior"], n_draws=0),
     "n_draws must be >= 1, got 0"),
    (lambda m: plot_posterior_components(m["em2"]),
     "plot_posterior_components needs posterior draws, but bayes_model is a point-mass"),
    (lambda m: plot_posterior_components(m["posterior"], em=m["em3d"]),
     "em has 2 components and 3 features, but bayes_model has 2 and 2"),
    (lambda m: plot_posterior_components(m["posterior"], features=["eruptions", "x"]),
     r"features: 'x' is not a feature of the model"),
    (lambda m: plot_weights(m["em2"]), "plot_weights needs posterior draws"),
    (lambda m: plot_weights("weights"),
     "bayes_model: model must be a fitted .* got str"),
    (lambda m: plot_trace(m["em2"]), "plot_trace needs posterior draws"),
    (lambda m: plot_trace(m["posterior"], var_names=["weights", "nope"]),
     r"var_names: \['nope'\] not in the posterior"),
    (lambda m: plot_selection(m["em2"]), "select_result must be the EMSelection"),
    (lambda m: plot_selection(m["selection"], criterion="aic"),
     "criterion must be one of 'bic', 'icl', got 'aic'"),
    (lambda m: plot_em_history(m["posterior"]),
     "em has no EM convergence history .* pass its em_"),
    (lambda m: plot_uncertainty(m["em2"], compare_to=m["em3d"]),
     "compare_to was fitted on features"),
])
def test_bad_input_raises_a_clear_error(call, match, em2, em3d, posterior, selection,
                                        old_faithful):
    models = {"em2": em2, "em3d": em3d, "posterior": posterior, "selection": selection,
              "data": old_faithful}
    with pytest.raises(ValueError, match=match):
        call(models)


def test_relative_selection_plot_keeps_small_differences_readable():
    """Raw columns on very different scales: one curve thousands of units away.

    With ``relative=True`` the chosen fit sits at 0 on a symmetric-log axis, so a
    difference of a few units is as visible as one of thousands.
    """
    from bayesmix.plotting import RELATIVE_LINEAR_RANGE, plot_selection

    X, _, _ = make_mixture(150, n_components=2, random_state=0)
    X = X * np.array([1.0, 1e4])
    selection = select_em(X, [1, 2, 3], ["full", "spherical"], random_state=0)
    ax = plot_selection(selection, relative=True)
    assert ax.get_yscale() == "symlog"
    best = selection.table_.loc[selection.best_index_, "bic"]
    drawn = np.concatenate([line.get_ydata() for line in ax.get_lines()])
    expected = np.concatenate([
        (selection.table_[selection.table_["covariance_type"] == structure]
         .sort_values("n_components")["bic"] - best).to_numpy()
        for structure in ("full", "spherical")])
    np.testing.assert_allclose(drawn, expected)
    assert drawn.min() >= 0.0 and drawn.max() > 100 * RELATIVE_LINEAR_RANGE
    plt.close("all")


@pytest.mark.parametrize("covariance_type", MCLUST_MODELS)
def test_example_covariances_have_the_models_geometry(covariance_type):
    """The pictures are honest: each model's M step keeps its example covariances."""
    structure = get_structure(covariance_type)
    covariances = example_covariances(covariance_type)
    stored = structure.from_full(covariances)
    kept = structure.to_full(structure.project(stored, np.ones(3), 2), 3, 2)
    np.testing.assert_allclose(kept, covariances, rtol=1e-9, atol=1e-12)
    # Variable letters vary between components.
    volumes, shapes, orientations = structure.decompose(stored, 3, 2)
    assert (np.ptp(volumes) > 0.1) == (covariance_type[0] == "V")
    assert (np.ptp(shapes[:, 0]) > 0.1) == (covariance_type[1] == "V")


def test_plot_covariance_models_draws_a_panel_per_model():
    figure = plot_covariance_models(["EII", "full", "VEV"], n_columns=2)
    visible = [ax for ax in figure.axes if ax.get_visible()]
    assert [ax.get_title().splitlines()[0] for ax in visible] == ["EII", "VVV", "VEV"]
    assert all(len(ax.patches) == 6 for ax in visible)  # 3 components x 2 levels
    with pytest.raises(ValueError, match="covariance_types must be one of"):
        plot_covariance_models(["banded"])
    plt.close("all")
