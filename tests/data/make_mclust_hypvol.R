# R mclust's hypvol, the fixture of tests/em/test_noise_density.py.
#
#   Rscript tests/data/make_mclust_hypvol.R   (from the repository root; mclust 6.0)
#
# writes tests/data/mclust_hypvol.json: hypvol() (the noise component's hypervolume,
# the smaller of the bounding box's volume in the data's and in the principal
# components' coordinates) of Old Faithful, iris (four columns and the first column)
# and three random data sets (stored too): correlated, axis-aligned, three features.
suppressPackageStartupMessages({
  library(mclust)
  library(jsonlite)
})

set.seed(20261128)
correlated <- matrix(rnorm(100), 50, 2) %*% matrix(c(1, 0.9, 0, 0.3), 2, 2)
aligned <- cbind(runif(40, 0, 5), runif(40, -1, 1))
three <- matrix(rnorm(90), 30, 3) %*% matrix(c(1, 0.5, 0.2, 0, 1, 0.4, 0, 0, 0.3), 3, 3)
iris4 <- as.matrix(iris[, 1:4])
dimnames(iris4) <- NULL
cases <- list(
  faithful = list(X = unname(as.matrix(faithful))),
  iris = list(X = iris4),
  iris_first_column = list(X = matrix(iris4[, 1], ncol = 1)),
  correlated = list(X = correlated),
  aligned = list(X = aligned),
  three = list(X = three)
)
for (name in names(cases)) {
  X <- cases[[name]]$X
  cases[[name]]$hypvol <- if (ncol(X) == 1) hypvol(X[, 1]) else hypvol(X)
}
write_json(cases, "tests/data/mclust_hypvol.json", digits = NA, auto_unbox = TRUE,
           matrix = "rowmajor")
