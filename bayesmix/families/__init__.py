"""Component families other than the Gaussian: their densities and EM weights.

:mod:`bayesmix.families.student_t` holds the multivariate t (log density, latent scale
weights, the degrees-of-freedom update); the Gaussian kernels live in
:mod:`bayesmix.density`.
"""
