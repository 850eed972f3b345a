"""The component family of the PyMC model: Gaussian or multivariate t.

:func:`~bayesmix.bayes.build_model` asks the family of its components (a
:class:`ModelFamily`, found by :func:`get_model_family`) for three things: the priors of
the family's own parameters (none for the Gaussian, the degrees of freedom for the t),
the component log densities from the structure's squared Mahalanobis distances
(:meth:`PosteriorScale.mahalanobis <bayesmix.bayes.scales.PosteriorScale.mahalanobis>`)
and the rows drawn from the components. The t density is
:func:`bayesmix.families.student_t.student_t_log_prob` evaluated on PyTensor variables,
the draws are :func:`bayesmix.density.draw_component_rows`': no density is written here.

The t components are the marginal multivariate t: the latent scale weights of the
Gaussian scale mixture (which EM introduces) are integrated out analytically, so the
sampler sees no per-row latent variable.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from bayesmix._validation import check_option
from bayesmix.bayes.priors import MixturePriors
from bayesmix.bayes.scales import PosteriorScale
from bayesmix.density import FAMILY_PARAMETERS, draw_component_rows
from bayesmix.families.student_t import student_t_log_prob

__all__ = ["GAUSSIAN", "MODEL_FAMILIES", "ModelFamily", "StudentTFamily", "get_model_family"]


class ModelFamily:
    """Gaussian components: no parameters of their own.

    Attributes
    ----------
    name : str
        The key of :data:`bayesmix.density.FAMILY_PARAMETERS`, recorded in the
        InferenceData attrs.
    parameters : tuple of str
        The names of the family's per-component free variables (dims ``component``).

    Examples
    --------
    >>> from bayesmix.bayes.components import get_model_family
    >>> family = get_model_family("gaussian")
    >>> family.parameters, family.signature("(k),(k,d),(k,d,d)->(d)")
    ((), '(k),(k,d),(k,d,d)->(d)')
    """

    name = "gaussian"

    @property
    def parameters(self) -> tuple[str, ...]:
        return FAMILY_PARAMETERS[self.name]

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def prior(self, priors: MixturePriors) -> list:
        """The family's free variables, created inside a ``pm.Model`` context.

        Examples
        --------
        >>> import pymc as pm
        >>> from bayesmix.bayes import MixturePriors
        >>> from bayesmix.bayes.components import get_model_family
        >>> with pm.Model(coords={"component": [0, 1]}):
        ...     get_model_family("gaussian").prior(MixturePriors())
        []
        """
        return []

    def signature(self, scale_signature: str) -> str:
        """The mixture's generalised-ufunc signature: the scale's, plus one ``(k)`` per
        family parameter.

        Examples
        --------
        >>> from bayesmix.bayes.components import get_model_family
        >>> get_model_family("student_t").signature("(k),(k,d),()->(d)")
        '(k),(k,d),(),(k)->(d)'
        """
        inputs, output = scale_signature.split("->")
        return ",".join([inputs] + ["(k)"] * len(self.parameters)) + "->" + output

    def component_log_prob(self, posterior_scale: PosteriorScale, value, means, scale,
                           parameters: Sequence, n_features: int):
        """``log f(x_n | component k)`` of shape (N, K), a PyTensor expression.

        Examples
        --------
        >>> import numpy as np
        >>> import pytensor.tensor as pt
        >>> from bayesmix.bayes.components import get_model_family
        >>> from bayesmix.bayes.scales import get_scale
        >>> get_model_family("gaussian").component_log_prob(
        ...     get_scale("spherical"), pt.as_tensor(np.zeros((1, 1))),
        ...     pt.as_tensor(np.zeros((1, 1))), pt.as_tensor(np.ones(1)), [], 1).eval()
        array([[-0.91893853]])
        """
        return posterior_scale.component_log_prob(value, means, scale, n_features)

    def draw_rows(self, rng, means: np.ndarray, cholesky: np.ndarray,
                  parameters: Sequence[np.ndarray]) -> np.ndarray:
        """One row from each component given (``means[..., d]``, ``cholesky[..., d, d]``,
        each parameter ``[...]``): :func:`bayesmix.density.draw_component_rows`.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.bayes.components import get_model_family
        >>> get_model_family("student_t").draw_rows(
        ...     np.random.default_rng(0), np.zeros((5, 2)), np.stack([np.eye(2)] * 5),
        ...     [np.full(5, 3.0)]).shape
        (5, 2)
        """
        return draw_component_rows(rng, means, cholesky, self.name,
                                   dict(zip(self.parameters, parameters)))


class StudentTFamily(ModelFamily):
    """Multivariate t components, ``dof[k] ~ Gamma(*priors.dof_prior)``.

    Examples
    --------
    >>> import numpy as np
    >>> import pytensor.tensor as pt
    >>> from scipy.stats import multivariate_t
    >>> from bayesmix.bayes.components import get_model_family
    >>> from bayesmix.bayes.scales import get_scale
    >>> family = get_model_family("student_t")
    >>> family.signature("(k),(k,d),(k)->(d)")
    '(k),(k,d),(k),(k)->(d)'
    >>> value = np.array([[1.0, 2.0]])
    >>> log_prob = family.component_log_prob(
    ...     get_scale("spherical"), pt.as_tensor(value), pt.as_tensor(np.zeros((1, 2))),
    ...     pt.as_tensor(np.array([1.5])), [pt.as_tensor(np.array([4.0]))], 2).eval()
    >>> expected = multivariate_t(np.zeros(2), 2.25 * np.eye(2), df=4).logpdf(value)
    >>> bool(np.isclose(log_prob[0, 0], expected))
    True
    """

    name = "student_t"

    def prior(self, priors: MixturePriors) -> list:
        """``dof ~ Gamma(shape, rate)`` per component, ``(shape, rate) = priors.dof_prior``.

        Examples
        --------
        >>> import pymc as pm
        >>> from bayesmix.bayes import MixturePriors
        >>> from bayesmix.bayes.components import get_model_family
        >>> with pm.Model(coords={"component": [0, 1]}) as model:
        ...     (dof,) = get_model_family("student_t").prior(MixturePriors(dof_prior=(2, 0.1)))
        >>> dof.name, model.rvs_to_transforms[dof].name
        ('dof', 'log')
        """
        shape, rate = priors.dof_prior
        return [pm.Gamma("dof", alpha=shape, beta=rate, dims="component")]

    def component_log_prob(self, posterior_scale, value, means, scale, parameters,
                           n_features):
        """``log t(x_n | mean_k, scale_k, dof_k)`` of shape (N, K): the structure's
        Mahalanobis distances in :func:`~bayesmix.families.student_t.student_t_log_prob`.

        Examples
        --------
        >>> import numpy as np
        >>> import pytensor.tensor as pt
        >>> from scipy.stats import t
        >>> from bayesmix.bayes.components import get_model_family
        >>> from bayesmix.bayes.scales import get_scale
        >>> value = get_model_family("student_t").component_log_prob(
        ...     get_scale("spherical"), pt.as_tensor(np.ones((1, 1))),
        ...     pt.as_tensor(np.zeros((1, 1))), pt.as_tensor(np.ones(1)),
        ...     [pt.as_tensor(np.array([5.0]))], 1).eval()
        >>> bool(np.isclose(value[0, 0], t(5.0).logpdf(1.0)))
        True
        """
        (dof,) = parameters
        maha, half_log_det = posterior_scale.mahalanobis(value, means, scale, n_features)
        return student_t_log_prob(maha, -half_log_det, dof, n_features, math=pt)


#: Gaussian components, the model's default.
GAUSSIAN = ModelFamily()
#: The families the PyMC model builds, by name.
MODEL_FAMILIES: dict[str, ModelFamily] = {family.name: family
                                          for family in (GAUSSIAN, StudentTFamily())}


def get_model_family(name: str) -> ModelFamily:
    """The PyMC model's component family called ``name``.

    Raises
    ------
    ValueError
        For a name that is not a family, listing those there are.

    Examples
    --------
    >>> from bayesmix.bayes.components import get_model_family
    >>> get_model_family("student_t").parameters
    ('dof',)
    >>> get_model_family("laplace")
    Traceback (most recent call last):
    ...
    ValueError: family must be one of 'gaussian', 'student_t', got 'laplace'.
    """
    return MODEL_FAMILIES[check_option(name, "family", tuple(MODEL_FAMILIES))]
