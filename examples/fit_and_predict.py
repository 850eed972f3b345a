"""Fit a three-component mixture to Old Faithful by EM and classify new eruptions.

Run: python examples/fit_and_predict.py
"""

import pandas as pd

from bayesmix import GaussianMixtureEM, load_old_faithful

X = load_old_faithful()
em = GaussianMixtureEM(n_components=3, covariance_type="tied", n_init=5, tol=1e-6,
                       max_iter=1000, random_state=0).fit(X)
print(f"EM converged: {em.converged_} after {em.n_iter_} iterations; "
      f"log-likelihood {em.score(X) * len(X):.2f}, BIC {em.bic(X):.2f}")

components = pd.DataFrame(em.means_, columns=X.columns).assign(weight=em.weights_)
print("\nComponents (means in minutes):")
print(components.round(3).to_string())

# Three new eruptions: a short one, one in between, a long one.
new = pd.DataFrame({"eruptions": [1.9, 3.5, 4.6], "waiting": [52, 70, 85]})
probabilities = pd.DataFrame(em.predict_proba(new).round(3),
                             columns=[f"P(component {k})" for k in range(em.n_components)])
print("\nNew eruptions, their most likely component and its probability:")
print(new.assign(component=em.predict(new), **probabilities).to_string(index=False))
