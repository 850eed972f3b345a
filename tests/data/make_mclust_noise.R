# Reference fits of R mclust with a noise component, for tests/em/test_noise_fit.py; run
# from the repository root: Rscript tests/data/make_mclust_noise.R (R mclust 6.0.0).
# Writes tests/data/mclust_noise.json: a data set of three Gaussian clusters and
# uniformly scattered points (stored, with the fixed mask of the points that start as
# noise, the scattered ones), and for several models and G = 2..4 Mclust's fit with
# initialization = list(noise = mask), EM run to a tight tolerance: the log-likelihood
# (mixture density plus the noise term), the mixing proportions (noise last, as pro),
# the hypervolume, the BIC in mclust's sign and the number of parameters.
suppressPackageStartupMessages({
  library(mclust)
  library(jsonlite)
})

set.seed(20261128)
clusters <- rbind(
  MASS::mvrnorm(120, c(0, 0), matrix(c(1, 0.5, 0.5, 1), 2)),
  MASS::mvrnorm(100, c(7, 1), diag(c(1.5, 0.5))),
  MASS::mvrnorm(80, c(2, 8), matrix(c(1, -0.3, -0.3, 0.8), 2))
)
scattered <- cbind(runif(30, -10, 17), runif(30, -9, 18))
X <- rbind(clusters, scattered)
mask <- c(rep(FALSE, nrow(clusters)), rep(TRUE, nrow(scattered)))
fits <- list()
for (model in c("EII", "VII", "EEI", "VVI", "EEE", "VVV", "VEV")) {
  for (G in 2:4) {
    fit <- Mclust(X, G = G, modelNames = model, initialization = list(noise = mask),
                  control = emControl(tol = c(1e-10, 1e-10)), verbose = FALSE)
    if (is.null(fit)) next
    fits[[length(fits) + 1]] <- list(
      model = model, G = G, loglik = fit$loglik, pro = unname(fit$parameters$pro),
      hypvol = 1 / fit$parameters$Vinv, bic = fit$bic, df = fit$df,
      classification = unname(fit$classification))
  }
}
write_json(list(X = X, noise = mask, fits = fits), "tests/data/mclust_noise.json",
           digits = NA, auto_unbox = TRUE, matrix = "rowmajor")
