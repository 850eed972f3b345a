"""Bootstrap draws: refits of an EM fit to resampled data, stored as one chain of draws.

:func:`bayesmix.bootstrap` writes ``inference_method="bootstrap"``. It is not a back end
of :class:`~bayesmix.bayes.GaussianMixtureBayes`, but comparison and plotting read it
through the same lookup (:func:`bayesmix.bayes.backends.inference_method_of`), so that
its draws are called bootstrap draws, not posterior draws.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bayesmix.bayes.backends.base import InferenceMethod

if TYPE_CHECKING:
    import arviz as az

__all__ = ["BOOTSTRAP_DRAWS", "BootstrapDraws"]


class BootstrapDraws(InferenceMethod):
    """Bootstrap refits as draws: labelled ``"bootstrap"``; converged when every refit is.

    Examples
    --------
    >>> from bayesmix.bayes.backends.bootstrap import BOOTSTRAP_DRAWS
    >>> BOOTSTRAP_DRAWS.plot_label(), BOOTSTRAP_DRAWS.plot_label("posterior mean")
    ('bootstrap', 'bootstrap mean')
    """

    def __init__(self) -> None:
        super().__init__("bootstrap", "bootstrap")

    def plot_label(self, posterior: str = "posterior") -> str:
        """What is drawn, with "bootstrap" in place of "posterior".

        Examples
        --------
        >>> from bayesmix.bayes.backends.bootstrap import BOOTSTRAP_DRAWS
        >>> BOOTSTRAP_DRAWS.plot_label("posterior mean")
        'bootstrap mean'
        """
        return posterior.replace("posterior", self.label)

    def compare_columns(self, idata: az.InferenceData,
                        diagnostics: Mapping[str, Any] | None = None) -> dict[str, float]:
        """``converged``: whether every refit converged (``sample_stats``), when recorded.

        Examples
        --------
        >>> from bayesmix import GaussianMixtureEM, bootstrap, load_old_faithful
        >>> from bayesmix.bayes.backends.bootstrap import BOOTSTRAP_DRAWS
        >>> X = load_old_faithful()
        >>> em = GaussianMixtureEM(2, random_state=0).fit(X)
        >>> BOOTSTRAP_DRAWS.compare_columns(bootstrap(em, X, n_boot=5, random_state=0).idata_)
        {'converged': 1.0}
        """
        if "sample_stats" not in idata.groups() or "converged" not in idata.sample_stats:
            return {}
        return {"converged": float(bool(idata.sample_stats["converged"].values.all()))}


#: The one description of bootstrap draws.
BOOTSTRAP_DRAWS = BootstrapDraws()
