# Parameter tables as lavaan 0.6-14 builds them with sem()'s defaults (the oracle of
# tests/spec/test_lavaan_defaults.py). Run from this folder: Rscript make_partables.R
# (Debian: apt-get install r-base-core r-cran-lavaan). Writes partables.csv.
library(lavaan)
lines <- readLines("cases.txt")
starts <- grep("^## ", lines)
out <- list()
for (k in seq_along(starts)) {
  head <- sub("^## ", "", lines[starts[k]])
  parts <- strsplit(head, "|", fixed = TRUE)[[1]]
  name <- trimws(parts[1])
  opts <- if (length(parts) > 1) trimws(parts[2]) else ""
  last <- if (k < length(starts)) starts[k + 1] - 1 else length(lines)
  model <- paste(lines[(starts[k] + 1):last], collapse = "\n")
  # sem()'s defaults (lavaan's lav_options for model.type "sem"), then the case's options
  args <- list(model = model, int.ov.free = TRUE, int.lv.free = FALSE, auto.fix.first = TRUE,
               auto.fix.single = TRUE, auto.var = TRUE, auto.cov.lv.x = TRUE,
               auto.cov.y = TRUE, auto.th = TRUE, auto.delta = TRUE, auto.efa = TRUE,
               meanstructure = FALSE, fixed.x = TRUE)
  if (nchar(opts) > 0) {
    extra <- eval(parse(text = paste0("list(", opts, ")")))
    if (isTRUE(extra$std.lv) && is.null(extra$auto.fix.first)) extra$auto.fix.first <- FALSE
    args[names(extra)] <- extra
  }
  pt <- do.call(lavaanify, args)
  pt <- pt[pt$op != ":=", ]
  out[[k]] <- data.frame(case = name, options = opts, lhs = pt$lhs, op = pt$op,
                         rhs = pt$rhs, user = pt$user, free = pt$free, ustart = pt$ustart,
                         exo = pt$exo, label = pt$label)
}
write.csv(do.call(rbind, out), "partables.csv", row.names = FALSE)
cat("lavaan", as.character(packageVersion("lavaan")), "\n")
