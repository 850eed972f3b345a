# Reference fits of R mclust for tests/em/test_mclust_fits.py; run from the repository
# root: Rscript tests/data/make_mclust_fits.R (R mclust 6.0.0). Writes
# tests/data/mclust_fits.json: for each data set and each of mclust's 14 models (10 with
# its default prior), Mclust's fit with G = 1..4 from its hierarchical start: the
# log-likelihood at the returned parameters (dens), the BIC in mclust's sign, and the
# number of parameters. Cells mclust cannot fit are left out. EM runs to a tight
# tolerance (1e-10): under a prior its default (1e-5) stops early, at parameters whose
# log-likelihood can exceed that of the posterior mode, which is not what MAP-EM ascends.
suppressMessages(library(mclust))
data_sets <- list(faithful = faithful, iris = iris[, 1:4])
models <- mclust.options("emModelNames")
prior_models <- setdiff(models, c("EVE", "VEE", "VVE", "EVV"))
json_number <- function(x) formatC(x, digits = 10, format = "g")
rows <- c()
for (name in names(data_sets)) {
  X <- data_sets[[name]]
  for (with_prior in c(FALSE, TRUE)) {
    for (model in if (with_prior) prior_models else models) {
      for (G in 1:4) {
        control <- emControl(tol = c(1e-10, 1e-10))
        fit <- if (with_prior) {
          Mclust(X, G = G, modelNames = model, prior = priorControl(), control = control,
                 verbose = FALSE)
        } else {
          Mclust(X, G = G, modelNames = model, control = control, verbose = FALSE)
        }
        if (is.null(fit)) next
        loglik <- tryCatch(
          sum(log(dens(data = X, modelName = model, parameters = fit$parameters))),
          error = function(e) NA)
        if (!is.finite(loglik)) next
        rows <- c(rows, sprintf(
          '{"data": "%s", "model": "%s", "prior": %s, "G": %d, "loglik": %s, "bic": %s, "df": %d}',
          name, model, tolower(with_prior), G, json_number(loglik), json_number(fit$bic),
          as.integer(fit$df)))
      }
    }
  }
}
writeLines(c("[", paste(rows, collapse = ",\n"), "]"), "tests/data/mclust_fits.json")
