"""The EM point mass: a maximum-likelihood fit stored as one draw of one chain.

:meth:`GaussianMixtureEM.to_inference_data <bayesmix.GaussianMixtureEM.to_inference_data>`
writes ``inference_method="em"``. It is not a back end of
:class:`~bayesmix.bayes.GaussianMixtureBayes`, but comparison and plotting read it through
the same lookup (:func:`bayesmix.bayes.backends.inference_method_of`) as the posteriors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bayesmix.bayes.backends.base import InferenceMethod

if TYPE_CHECKING:
    import arviz as az

__all__ = ["EM_POINT_MASS", "EMPointMass"]


class EMPointMass(InferenceMethod):
    """The EM fit as a point-mass posterior: labelled ``"EM"``, EM's convergence flag.

    Examples
    --------
    >>> from bayesmix.bayes.backends.em import EM_POINT_MASS
    >>> EM_POINT_MASS.plot_label("posterior mean"), EM_POINT_MASS.fittable
    ('EM', False)
    """

    def __init__(self) -> None:
        super().__init__("em", "EM")

    def plot_label(self, posterior: str = "posterior") -> str:
        """``"EM"``, whatever is drawn: the fit has no draws to speak of.

        Examples
        --------
        >>> from bayesmix.bayes.backends.em import EM_POINT_MASS
        >>> EM_POINT_MASS.plot_label()
        'EM'
        """
        return self.label

    def compare_columns(self, idata: az.InferenceData,
                        diagnostics: Mapping[str, Any] | None = None) -> dict[str, float]:
        """``converged``: whether every EM restart converged (``sample_stats``).

        Examples
        --------
        >>> from bayesmix import GaussianMixtureEM, load_old_faithful
        >>> from bayesmix.bayes.backends.em import EM_POINT_MASS
        >>> em = GaussianMixtureEM(2, random_state=0).fit(load_old_faithful())
        >>> EM_POINT_MASS.compare_columns(em.to_inference_data())
        {'converged': 1.0}
        """
        return {"converged": float(bool(idata.sample_stats["converged"].values.all()))}


#: The one description of EM point masses.
EM_POINT_MASS = EMPointMass()
