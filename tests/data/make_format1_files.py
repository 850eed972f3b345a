"""Write the saved-model files of tests/data/ (format_version 1) and their predictions.

Run from the repository root with the bayesmix to record (the files in this folder were
written by commit 011efde, before persistence became generic):
``python tests/data/make_format1_files.py``. Each ``NAME.nc`` gets a ``NAME.npz`` beside
it holding the rows ``X`` and the model's ``predict_proba``, ``score_samples`` and
``predict`` on them, which a reloaded model must reproduce bit for bit.
"""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from bayesmix import GaussianMixtureBayes, GaussianMixtureEM
from bayesmix.datasets import make_mixture

FOLDER = Path(__file__).parent


def main() -> None:
    X = pd.DataFrame(make_mixture(30, 2, 2, "full", random_state=3).X,
                     columns=["length", "width"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = {
            "em_format1": GaussianMixtureEM(2, covariance_type="full", n_init=2,
                                            random_state=0).fit(X),
            "advi_format1": GaussianMixtureBayes(2, covariance_type="diag",
                                                 random_state=0).fit(
                X, method="advi", draws=10, n_iter=100),
        }
    for name, model in models.items():
        model.save(FOLDER / f"{name}.nc", overwrite=True)
        np.savez(FOLDER / f"{name}.npz", X=X.to_numpy(), predict_proba=model.predict_proba(X),
                 score_samples=model.score_samples(X), predict=model.predict(X))


if __name__ == "__main__":
    main()
