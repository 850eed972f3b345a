# R mclust's hierarchical clustering, the fixture of tests/em/test_hc.py that needs no R.
#
#   Rscript tests/data/make_mclust_hc.R   (from the repository root; mclust 6.0)
#
# writes tests/data/mclust_hc.json: for each case, the data as hc() transformed them
# (its "data" attribute, as strings of 17 significant digits: exact) and the merges (hc's pairs, from 1) of
# Old Faithful and iris (four columns) by "VVV" after "SVD" (Mclust's default), iris by
# "EII", morley (R's; two discrete columns, many ties) by "VVV", and Old Faithful's
# eruptions by "V" and "E".
suppressPackageStartupMessages({
  library(mclust)
  library(jsonlite)
})

iris4 <- as.matrix(iris[, 1:4])
cases <- list(
  faithful_vvv = list(X = as.matrix(faithful), model = "VVV"),
  iris_vvv = list(X = iris4, model = "VVV"),
  iris_eii = list(X = iris4, model = "EII"),
  morley_vvv = list(X = as.matrix(morley[, c("Expt", "Speed")]), model = "VVV"),
  eruptions_v = list(X = as.matrix(faithful[, 1, drop = FALSE]), model = "V"),
  eruptions_e = list(X = as.matrix(faithful[, 1, drop = FALSE]), model = "E")
)
out <- list()
for (name in names(cases)) {
  tree <- hc(cases[[name]]$X, modelName = cases[[name]]$model, use = "SVD")
  data <- attr(tree, "data")
  dimnames(data) <- NULL
  out[[name]] <- list(model = cases[[name]]$model,
                      data = matrix(sprintf("%.17g", data), nrow(data)),
                      merges = unname(t(unclass(tree)[, ])))
}
writeLines(toJSON(out, matrix = "rowmajor", auto_unbox = TRUE),
           "tests/data/mclust_hc.json")
