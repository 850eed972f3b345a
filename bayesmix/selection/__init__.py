"""Model selection: choose the number of components and the covariance structure.

:func:`select_em` (:mod:`bayesmix.selection.em`) fits :class:`~bayesmix.GaussianMixtureEM`
over a grid of numbers of components and covariance structures and picks the fit with
the lowest BIC (or ICL), as R's mclust does. A fit with a degenerate component (one that
collapsed onto repeated or rounded values, so that its likelihood is inflated by a
near-singular covariance) is listed in the table with its flag and never chosen, as
mclust reports such fits as missing.

:func:`select_bayes` (:mod:`bayesmix.selection.bayes`) fits
:class:`~bayesmix.GaussianMixtureBayes` for each number of components (and structure),
scores every posterior by PSIS-LOO (or WAIC), compares them with :func:`arviz.compare` and
its stacking weights, and picks the highest expected log predictive density.

Both return a :class:`SelectionResult` (:mod:`bayesmix.selection.results`): ``table_``
(one row per fit), ``best_estimator_``, ``best_params_``, ``best_index_`` and
``criterion``.
"""

from bayesmix.selection.bayes import BAYES_CRITERIA, select_bayes
from bayesmix.selection.em import CRITERIA, RELATIVE_REG_COVAR, SCREEN_TOL, select_em
from bayesmix.selection.results import (
    BAYES_COLUMNS,
    TABLE_COLUMNS,
    BayesSelection,
    EMSelection,
    SelectionResult,
)

__all__ = ["BAYES_COLUMNS", "BAYES_CRITERIA", "CRITERIA", "RELATIVE_REG_COVAR", "SCREEN_TOL",
           "TABLE_COLUMNS", "BayesSelection", "EMSelection", "SelectionResult",
           "select_bayes", "select_em"]
