"""Pictures of Gaussian mixtures: EM fits and posteriors drawn the same way.

Every function takes a fitted :class:`~bayesmix.GaussianMixtureEM`,
:class:`~bayesmix.bayes.GaussianMixtureBayes` or the :class:`arviz.InferenceData` either
produces (the layout of :mod:`bayesmix.results`), draws with matplotlib and returns the
:class:`~matplotlib.axes.Axes` it drew on (a :class:`~matplotlib.figure.Figure` when it
draws several panels). None calls ``plt.show()``. Axis labels use the data's column
names.

- :func:`plot_components`: data coloured by cluster with 1, 2, 3 sigma ellipses (2-D),
  pairwise panels (more features) or histogram and densities (1-D);
- :func:`plot_posterior_components`: a cloud of posterior ellipses under the EM ellipses;
- :func:`plot_uncertainty`: classification uncertainty ``1 - max responsibility``,
  optionally side by side with a second fit;
- :func:`plot_selection`: BIC or ICL against the number of components;
- :func:`plot_covariance_models`: the geometry of mclust's covariance models, one small
  picture per model;
- :func:`plot_weights` and :func:`plot_trace`: the posterior of the weights, and ArviZ
  trace plots of the relabelled draws;
- :func:`plot_n_components`: the posterior of the number of occupied components;
- :func:`plot_em_history`: the EM convergence history.

The functions live in one module per kind of picture (:mod:`~bayesmix.plotting.components`,
:mod:`~bayesmix.plotting.selection`, :mod:`~bayesmix.plotting.posterior`,
:mod:`~bayesmix.plotting.diagnostics`), built from the colour, ellipse and panel helpers
of :mod:`bayesmix.plotting.parts`; import them from here.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from bayesmix import GaussianMixtureEM, load_old_faithful
>>> from bayesmix.plotting import plot_components
>>> X = load_old_faithful()
>>> ax = plot_components(GaussianMixtureEM(2, random_state=0).fit(X), X)
>>> ax.get_xlabel(), ax.get_ylabel()
('eruptions', 'waiting')
"""

from __future__ import annotations

from bayesmix.plotting.components import (
    plot_components,
    plot_posterior_components,
    plot_uncertainty,
)
from bayesmix.plotting.diagnostics import plot_em_history, plot_trace
from bayesmix.plotting.posterior import plot_n_components, plot_weights
from bayesmix.plotting.selection import (
    RELATIVE_LINEAR_RANGE,
    SELECTION_LINESTYLES,
    SELECTION_MARKERS,
    example_covariances,
    plot_covariance_models,
    plot_selection,
)

__all__ = [
    "RELATIVE_LINEAR_RANGE",
    "SELECTION_LINESTYLES",
    "SELECTION_MARKERS",
    "example_covariances",
    "plot_components",
    "plot_covariance_models",
    "plot_em_history",
    "plot_n_components",
    "plot_posterior_components",
    "plot_selection",
    "plot_trace",
    "plot_uncertainty",
    "plot_weights",
]

