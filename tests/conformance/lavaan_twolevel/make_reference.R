# lavaan 0.6-14's fit of its Demo.twolevel model (../shared/benchmarks/reference/
# lavaan_tutorial/twolevel.lav; its parameterEstimates are twolevel_parameterEstimates.csv
# there): the log-likelihood and chi-square, to check the two-level likelihood of
# bayes/twolevel.py at lavaan's estimates.
#   Rscript make_reference.R   (writes fit_measures.csv here)
library(lavaan)
model <- paste(readLines("../../../../shared/benchmarks/reference/lavaan_tutorial/twolevel.lav"),
               collapse = "\n")
fit <- sem(model, data = Demo.twolevel, cluster = "cluster")
fm <- fitMeasures(fit, c("logl", "unrestricted.logl", "chisq", "df", "npar", "ntotal"))
write.csv(data.frame(measure = names(fm), value = sprintf("%.10f", unclass(fm))),
          "fit_measures.csv", row.names = FALSE)
writeLines(paste("lavaan", packageVersion("lavaan"), "on", R.version.string), "versions.txt")
