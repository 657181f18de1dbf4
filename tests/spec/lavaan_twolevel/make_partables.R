# The parameter tables lavaan 0.6-14 builds for the two-level models of cases.txt, fitted
# with sem(model, data = Demo.twolevel, cluster = "cluster") and each case's options:
#   Rscript make_partables.R   (writes partables.csv here)
library(lavaan)
lines <- readLines("cases.txt")
starts <- grep("^## ", lines)
out <- list()
for (k in seq_along(starts)) {
  head <- strsplit(sub("^## ", "", lines[starts[k]]), "\\|")[[1]]
  name <- trimws(head[1])
  end <- if (k < length(starts)) starts[k + 1] - 1 else length(lines)
  model <- paste(lines[(starts[k] + 1):end], collapse = "\n")
  args <- list(model = model, data = Demo.twolevel, cluster = "cluster")
  if (length(head) > 1) {
    for (opt in strsplit(head[2], ",")[[1]]) {
      kv <- trimws(strsplit(opt, "=")[[1]])
      args[[kv[1]]] <- as.logical(kv[2])
    }
  }
  fit <- do.call("sem", args)
  pt <- parTable(fit)
  pt$case <- name
  out[[k]] <- pt[, c("case", "lhs", "op", "rhs", "level", "free", "ustart", "exo", "label",
                     "plabel", "est")]
}
write.csv(do.call(rbind, out), "partables.csv", row.names = FALSE)
writeLines(paste("lavaan", packageVersion("lavaan"), "on", R.version.string), "versions.txt")
