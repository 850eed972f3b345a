"""Choose the number of components by BIC on data whose true number is known.

Run: python examples/select_components.py
"""

from sklearn.metrics import adjusted_rand_score

from bayesmix import make_mixture, select_em

TRUE_K = 4
X, labels, _ = make_mixture(600, n_components=TRUE_K, n_features=2,
                                covariance_type="diag", separation=4.0, random_state=1)

selection = select_em(X, n_components=range(1, 8), covariance_types=("full", "diag"),
                      criterion="bic", n_init=3, random_state=0)
print(selection)

chosen = selection.best_params_["n_components"]
print(f"\nTrue number of components: {TRUE_K}; chosen by BIC: {chosen}.")
agreement = adjusted_rand_score(labels, selection.best_estimator_.predict(X))
print(f"Adjusted Rand index of the chosen fit's clusters against the truth: {agreement:.3f}")
