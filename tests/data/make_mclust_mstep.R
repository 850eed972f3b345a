# R mclust's M steps on iris, the fixture of tests/covariance/test_against_mclust.py.
#
#   Rscript tests/data/make_mclust_mstep.R   (from the repository root; mclust 6.0)
#
# writes tests/data/mclust_mstep.json: for fixed responsibilities z (stored too), every
# model's mstep() without a prior ("ml") and, for the models mclust fits with one, with
# priorControl() ("map"), plus the M step of mclust's EM with the prior ("map_em": me()
# with one iteration, whose parameters are its first M step's; mclust's mstep and EM
# routines differ for EEI, EVI and EEV), and defaultPrior() ("prior"). The models with
# inner iterations are also run to a tight inner tolerance ("ml_tight": mclust stops them
# when its criterion changes by less than sqrt(eps), which leaves up to 1e-5 in the
# covariances). The same for the
# one-feature models E and V on the first column, and Mclust's VEV fit with 2
# components and EVE fit with 3 for the decomposition's conventions (scale, shape,
# orientation).
suppressPackageStartupMessages({
  library(mclust)
  library(jsonlite)
})

X <- as.matrix(iris[, 1:4])
dimnames(X) <- NULL
set.seed(20240601)
responsibilities <- function(n, G) {
  z <- matrix(rexp(n * G), n, G)^2
  z / rowSums(z)
}
z <- responsibilities(nrow(X), 3)
x1 <- X[, 1]
z1 <- responsibilities(length(x1), 2)

# mu (D x G) as rows per component, sigma (D x D x G) as a list of matrices.
parameters <- function(fit) {
  p <- fit$parameters
  sigma <- p$variance$sigma
  sigma <- if (is.null(dim(sigma))) as.list(sigma) else
    lapply(seq_len(dim(sigma)[3]), function(k) sigma[, , k])
  list(pro = p$pro, mean = t(as.matrix(p$mean)), sigma = sigma)
}
first_m_step <- function(model, data, z, prior) {
  fit <- me(modelName = model, data = data, z = z, prior = prior,
            control = emControl(itmax = 1), warn = FALSE)
  parameters(fit)
}
prior_values <- function(data, G, model) {
  p <- defaultPrior(data, G, model)
  list(shrinkage = p$shrinkage, mean = as.numeric(p$mean), dof = p$dof,
       scale = unname(as.matrix(p$scale)))
}
with_prior <- c("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "EEV", "VEV", "VVV")

iterative <- c("VEI", "VEE", "EVE", "VVE", "VEV")
tight <- emControl(tol = c(1e-5, 1e-15), itmax = c(100, 1e6))

models <- list()
for (model in mclust.options("emModelNames")) {
  entry <- list(ml = parameters(mstep(modelName = model, data = X, z = z, warn = FALSE)))
  if (model %in% iterative)
    entry$ml_tight <- parameters(mstep(modelName = model, data = X, z = z, control = tight,
                                       warn = FALSE))
  if (model %in% with_prior) {
    entry$map <- parameters(mstep(modelName = model, data = X, z = z,
                                  prior = priorControl(), warn = FALSE))
    entry$map_em <- first_m_step(model, X, z, priorControl())
    entry$prior <- prior_values(X, ncol(z), model)
  }
  models[[model]] <- entry
}
for (model in c("E", "V")) {
  models[[model]] <- list(
    ml = parameters(mstep(modelName = model, data = x1, z = z1, warn = FALSE)),
    map = parameters(mstep(modelName = model, data = x1, z = z1, prior = priorControl(),
                           warn = FALSE)),
    map_em = first_m_step(model, x1, z1, priorControl()),
    prior = prior_values(x1, ncol(z1), model))
}

decomposition <- function(G, model) {
  variance <- Mclust(X, G = G, modelNames = model, verbose = FALSE)$parameters$variance
  orientation <- variance$orientation
  list(sigma = lapply(1:G, function(k) unname(variance$sigma[, , k])),
       scale = variance$scale, shape = unname(variance$shape),
       orientation = if (length(dim(orientation)) == 3)
         lapply(1:G, function(k) unname(orientation[, , k])) else unname(orientation))
}
fixture <- list(
  mclust_version = as.character(packageVersion("mclust")),
  X = X, z = z, x1 = x1, z1 = z1, models = models,
  vev_decomposition = decomposition(2, "VEV"),
  eve_decomposition = decomposition(3, "EVE"))
write_json(fixture, "tests/data/mclust_mstep.json", digits = NA, auto_unbox = TRUE,
           pretty = FALSE)
