"""Which family a fit's InferenceData describes, read from its attributes.

An EM fit of t components records ``attrs["family"] = "student_t"`` (and a ``dof``
variable); a fit with a noise component records ``attrs["noise_hypervolume"]`` (and a
``noise_weight`` variable). Readers of the InferenceData (:mod:`bayesmix.comparison`,
:mod:`bayesmix.plotting`) ask :func:`fit_family` instead of reading the attributes.
"""

from __future__ import annotations

from typing import Any

__all__ = ["fit_family"]


def fit_family(idata: Any) -> tuple[str, bool]:
    """The component family of a bayesmix InferenceData and whether it has noise.

    Parameters
    ----------
    idata : arviz.InferenceData
        Made by bayesmix (its posterior's attributes are read).

    Returns
    -------
    (str, bool)
        ``"gaussian"`` or ``"student_t"``, and whether a noise component is part of the
        mixture.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix import StudentMixtureEM
    >>> from bayesmix.families.inference_data import fit_family
    >>> X = np.array([[0.0], [0.2], [0.1], [0.3], [5.0], [5.2], [5.1], [5.3]])
    >>> fit_family(StudentMixtureEM(2, dof=4.0, random_state=0).fit(X).to_inference_data())
    ('student_t', False)
    """
    attrs = idata.posterior.attrs
    return str(attrs.get("family", "gaussian")), "noise_hypervolume" in attrs
