"""What every inference method shares: the interface its consumers use.

:class:`InferenceMethod` describes how an InferenceData was produced, as far as comparison
and plotting need to know (a label, and which convergence columns it fills);
:class:`InferenceBackend` adds what fitting and model selection need: the options it
takes, the function that runs it, its diagnostics and how they read in a selection table.
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from bayesmix.covariance import get_structure

if TYPE_CHECKING:
    import arviz as az
    import pandas as pd
    import pymc as pm

__all__ = [
    "BackendRun",
    "FitData",
    "InferenceBackend",
    "InferenceMethod",
    "SelectionDiagnostics",
    "resolve_progressbar",
]


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    ipython = shell.get_ipython() if shell is not None else None
    return type(ipython).__name__ == "ZMQInteractiveShell"


def resolve_progressbar(progressbar: bool | None) -> bool:
    """``progressbar``, or when ``None``: on in a Jupyter notebook, off elsewhere.

    Examples
    --------
    >>> from bayesmix.bayes.backends.base import resolve_progressbar
    >>> resolve_progressbar(None), resolve_progressbar(True)
    (False, True)
    """
    return _in_notebook() if progressbar is None else bool(progressbar)


class InferenceMethod:
    """How an InferenceData was produced: its name, label and convergence columns.

    This base describes draws that no bayesmix back end produced (sequential Monte
    Carlo, say, or an InferenceData without ``inference_method``): they are labelled by
    their name and their ``converged`` attribute, when they have one, is their
    convergence flag.

    Parameters
    ----------
    name : str
        The ``inference_method`` attribute of the InferenceData.
    label : str, optional
        A human label; ``name`` when omitted.

    Attributes
    ----------
    fittable : bool
        Whether :meth:`GaussianMixtureBayes.fit <bayesmix.bayes.GaussianMixtureBayes.fit>`
        takes it as ``method`` (see :class:`InferenceBackend`).
    is_sampler : bool
        Whether it draws from the posterior with chains (R-hat, ESS and divergences
        apply) rather than approximating it or giving a point estimate.

    Examples
    --------
    >>> from bayesmix.bayes.backends.base import InferenceMethod
    >>> smc = InferenceMethod("smc")
    >>> smc.plot_label(), smc.fittable
    ('posterior (smc)', False)
    """

    fittable = False
    is_sampler = False

    def __init__(self, name: str, label: str | None = None) -> None:
        self.name = name
        self.label = label if label is not None else name

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, label={self.label!r})"

    def plot_label(self, posterior: str = "posterior") -> str:
        """The fit's name in a plot title: ``"posterior (nuts)"``, say.

        Parameters
        ----------
        posterior : str, default="posterior"
            What is drawn, e.g. ``"posterior mean"``.

        Examples
        --------
        >>> from bayesmix.bayes.backends import get_backend
        >>> get_backend("advi").plot_label("posterior mean")
        'posterior mean (advi)'
        """
        return f"{posterior} ({self.name})"

    def compare_columns(self, idata: az.InferenceData,
                        diagnostics: Mapping[str, Any] | None = None) -> dict[str, float]:
        """The convergence columns of :func:`bayesmix.compare` this method fills.

        Parameters
        ----------
        idata : arviz.InferenceData
            The fit, in the layout of :mod:`bayesmix.results`.
        diagnostics : mapping, optional
            The estimator's ``diagnostics_``, when the model compared has them.

        Returns
        -------
        dict
            Some of ``converged``, ``divergences``, ``max_rhat``, ``min_ess_bulk``; here
            ``converged`` (1.0 or 0.0) when ``idata`` records it, else nothing.

        Examples
        --------
        >>> import arviz as az
        >>> import numpy as np
        >>> from bayesmix.bayes.backends.base import InferenceMethod
        >>> idata = az.from_dict(posterior={"weights": np.ones((1, 5, 1))})
        >>> idata.posterior.attrs["converged"] = 1
        >>> InferenceMethod("smc").compare_columns(idata)
        {'converged': 1.0}
        """
        attrs = idata.posterior.attrs
        return {"converged": float(attrs["converged"])} if "converged" in attrs else {}


@dataclass
class BackendRun:
    """What a back end's run gives the estimator, before relabelling.

    Attributes
    ----------
    raw : arviz.InferenceData
        PyMC's own InferenceData (``posterior``, and ``log_likelihood`` when the back
        end computed it).
    sample_stats : dict
        ``name -> (values, dims)`` for the ``sample_stats`` group.
    extra_coords : dict
        Coordinates of dims used by ``sample_stats`` (e.g. ``iteration``).
    attrs : dict
        Attributes of every group (e.g. ``nuts_sampler``, ``converged``).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes.backends.base import BackendRun
    >>> run = BackendRun(raw=None, sample_stats={"loss": (np.ones(3), ("iteration",))},
    ...                  extra_coords={"iteration": np.arange(1, 4)}, attrs={"converged": 1})
    >>> run.attrs
    {'converged': 1}
    """

    raw: Any
    sample_stats: dict[str, tuple[np.ndarray, tuple[str, ...]]]
    extra_coords: dict[str, np.ndarray]
    attrs: dict[str, Any]


@dataclass
class FitData:
    """What ``fit`` knows besides the PyMC model, for back ends that sample without it.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
        The validated data.
    n_components : int
    covariance_type : str
    priors : MixturePriors
        The resolved priors.
    initial : tuple of ndarray or None
        The EM fit's weights, means and full covariances to start from (``init="em"``),
        or ``None`` (``init="prior"``).
    family : str, default="gaussian"
        The components' family (``"gaussian"`` or ``"student_t"``).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes.backends.base import FitData
    >>> FitData(X=np.zeros((2, 1)), n_components=1, covariance_type="full", priors=None,
    ...         initial=None).covariance_type
    'full'
    """

    X: np.ndarray
    n_components: int
    covariance_type: str
    priors: Any
    initial: tuple[np.ndarray, np.ndarray, np.ndarray] | None
    family: str = "gaussian"


@dataclass
class SelectionDiagnostics:
    """A fit's diagnostics as they read in the table of :func:`bayesmix.select_bayes`.

    Attributes
    ----------
    divergences : float
        Divergent transitions (NaN where the method has none).
    converged : bool or pandas.NA
        The convergence flag (NA where it is undefined).
    notes : list of str
        Short notes on what went wrong, for the table's ``note`` column.

    Examples
    --------
    >>> from bayesmix.bayes.backends.base import SelectionDiagnostics
    >>> SelectionDiagnostics(divergences=0.0, converged=True, notes=[]).converged
    True
    """

    divergences: float
    converged: Any
    notes: list[str]


class InferenceBackend(InferenceMethod, ABC):
    """A method :meth:`GaussianMixtureBayes.fit <bayesmix.bayes.GaussianMixtureBayes.fit>`
    runs: one per value of its ``method`` argument.

    Subclasses set :attr:`is_sampler`, :attr:`fit_options` and :attr:`options` and write
    the five abstract methods below; :func:`bayesmix.bayes.backends.get_backend` finds them by
    name.

    Attributes
    ----------
    fit_options : tuple of str
        The options of ``fit`` (and ``select_bayes``' ``fit_kwargs``) that matter to it.
    options : tuple of str
        The keyword arguments ``fit`` passes on to :meth:`run` through ``**kwargs``.
    covariance_types : tuple of str or None
        The covariance structures it fits; ``None`` for every one the posterior
        supports (:mod:`bayesmix.bayes.scales`).
    compiles : bool
        Whether a fit first compiles a program (the model's log density and its
        gradient), which a progress message may announce.

    Examples
    --------
    >>> from bayesmix.bayes.backends import BACKENDS
    >>> [(name, backend.is_sampler) for name, backend in BACKENDS.items()]
    [('nuts', True), ('advi', False), ('fullrank_advi', False), ('gibbs', True)]
    """

    fittable = True
    fit_options: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    #: The covariance structures it fits; ``None``: every one the posterior supports.
    covariance_types: tuple[str, ...] | None = None
    #: Whether a fit first compiles a program.
    compiles = True

    def fits_structure(self, covariance_type: str) -> bool:
        """Whether it fits ``covariance_type`` (by any of its names): a structure the
        posterior supports and, where it lists :attr:`covariance_types`, one of them.

        Examples
        --------
        >>> from bayesmix.bayes.backends import get_backend
        >>> [get_backend("gibbs").fits_structure(name) for name in ("full", "VVV", "tied")]
        [True, True, False]
        >>> get_backend("nuts").fits_structure("tied"), get_backend("nuts").fits_structure("VEV")
        (True, False)
        """
        structure = get_structure(covariance_type)
        return structure.supports_posterior and (
            self.covariance_types is None
            or structure.name in {get_structure(name).name for name in self.covariance_types})

    @abstractmethod
    def check_fit_options(self, options: Mapping[str, Any], *, nuts_sampler: str | None,
                          batch_size: int | None) -> None:
        """Refuse, before any work, options of ``fit`` this back end does not take.

        Parameters
        ----------
        options : mapping
            The keyword arguments ``fit`` got through ``**kwargs``.
        nuts_sampler : str or None
        batch_size : int or None
            ``fit``'s own arguments of the same names.

        Raises
        ------
        TypeError, ValueError
            Naming the option, the method and what to do instead.

        Examples
        --------
        >>> from bayesmix.bayes.backends import get_backend
        >>> get_backend("advi").check_fit_options({"target_accept": 0.9}, nuts_sampler=None,
        ...                                       batch_size=None)
        Traceback (most recent call last):
            ...
        TypeError: fit got an unexpected keyword argument 'target_accept' for method='advi', which accepts n_iter, tol, learning_rate. Remove it, or use method='nuts' for NUTS options such as target_accept.
        """

    def fit_data_options(self, data: FitData) -> dict[str, Any]:
        """Keyword arguments ``fit`` adds to :meth:`run` from ``data``; none here.

        Back ends that sample the PyMC model need nothing more; one that works on the
        data directly (the Gibbs sampler) takes ``data`` and checks that it can.

        Examples
        --------
        >>> from bayesmix.bayes.backends import get_backend
        >>> get_backend("nuts").fit_data_options(None)
        {}
        """
        return {}

    @abstractmethod
    def run(self, model: pm.Model, *, draws: int, tune: int, chains: int,
            nuts_sampler: str | None,
            start: Callable[[float], dict[str, np.ndarray]] | None,
            random_seed: int, progressbar: bool | None, batch_size: int | None,
            **options: Any) -> BackendRun:
        """Draw from (or approximate) the posterior of ``model``.

        Parameters
        ----------
        model : pymc.Model
        draws, tune, chains : int
        nuts_sampler : str or None
            As given to ``fit``; each back end uses those of these that apply to it.
        start : callable or None
            ``start(jitter)`` gives initial values (PyMC's ``initvals``) jittered by
            ``jitter`` (see :func:`bayesmix.bayes.inference.initial_values`); ``None``
            for the model's default initial point.
        random_seed : int
        progressbar : bool or None
        batch_size : int or None
            The minibatch size the model was built with.
        **options
            The back end's :attr:`options`.

        Returns
        -------
        BackendRun

        Examples
        --------
        :meth:`GaussianMixtureBayes.fit <bayesmix.GaussianMixtureBayes.fit>` calls it;
        compiling a PyMC model takes seconds, so the fit is skipped when the examples are
        tested.

        >>> from bayesmix import build_model, make_mixture
        >>> from bayesmix.bayes.backends import get_backend
        >>> X, _, _ = make_mixture(100, n_components=2, random_state=0)
        >>> result = get_backend("advi").run(  # doctest: +SKIP
        ...     build_model(X, 2), draws=100, tune=0, chains=1, nuts_sampler=None, start=None,
        ...     random_seed=0, progressbar=False, batch_size=None, n_iter=2000)
        """

    @abstractmethod
    def diagnose(self, idata: az.InferenceData) -> dict[str, Any]:
        """The fit's ``diagnostics_`` from its relabelled draws; warns about problems.

        Returns
        -------
        dict

        Examples
        --------
        A fitted posterior's ``diagnostics_`` come from here (the fit is skipped when the
        examples are tested):

        >>> from bayesmix import GaussianMixtureBayes, make_mixture
        >>> X, _, _ = make_mixture(100, n_components=2, random_state=0)
        >>> bayes = GaussianMixtureBayes(2, random_state=0)
        >>> bayes.fit(X, method="advi", n_iter=2000, draws=100)  # doctest: +SKIP
        >>> sorted(bayes.diagnostics_)  # doctest: +SKIP
        ['converged', ...]
        """

    @abstractmethod
    def selection_diagnostics(self, diagnostics: Mapping[str, Any]) -> SelectionDiagnostics:
        """How a fit's ``diagnostics_`` read in a selection table.

        Returns
        -------
        SelectionDiagnostics

        Examples
        --------
        >>> from bayesmix.bayes.backends import get_backend
        >>> get_backend("advi").selection_diagnostics({"converged": False}).notes
        ['advi did not converge (raise n_iter)']
        """

    @abstractmethod
    def choice_warnings(self, row: pd.Series, what: str) -> list[tuple[str, type[Warning]]]:
        """The warnings ``select_bayes`` passes on about the chosen fit's diagnostics.

        Parameters
        ----------
        row : pandas.Series
            The chosen fit's row of the selection table.
        what : str
            How the messages name the fit, e.g. ``"The chosen fit (2 components, 'full')"``.

        Returns
        -------
        list of (message, warning class)

        Examples
        --------
        >>> import pandas as pd
        >>> from bayesmix.bayes.backends import get_backend
        >>> row = pd.Series({"divergences": 2, "note": "", "converged": True})
        >>> [(message[:45], kind.__name__)
        ...  for message, kind in get_backend("nuts").choice_warnings(row, "The chosen fit")]
        [('The chosen fit has 2 divergent transition(s);', 'DivergenceWarning')]
        """
