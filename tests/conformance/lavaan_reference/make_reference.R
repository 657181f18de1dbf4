#!/usr/bin/env Rscript
## make_reference.R -- reference numbers from R's lavaan for the conformance tests.
##
## Usage (from anywhere):
##   Rscript tests/conformance/lavaan_reference/make_reference.R
## Data directory: environment variable LAVAAN_REF_DATA if set, otherwise
##   <this script's folder>/../../../../shared/benchmarks/data
## (i.e. /work/shared/benchmarks/data when the repo is /work/main).
## Data files are read from there, never copied here.
##
## Outputs (written next to this script), for each model NAME:
##   NAME.lav                      model text exactly as fitted (+ header comment)
##   NAME_parameterEstimates.csv   parameterEstimates(fit, standardized = TRUE), 15 sig. digits
##   NAME_rsquare.csv              lavInspect(fit, "r2") (optional extra)
## and fit_measures.csv (one row per model), warnings.csv (lavaan warnings, only
## written if there are any), precision_check.csv (distance of lavaan's default
## optimum from a BFGS refit with reltol = 1e-16; diagnostic only) and
## versions.txt.
##
## All estimation uses lavaan's defaults unless stated: estimator = "ML",
## likelihood = "normal" (N, not N-1, in the ML discrepancy), missing = "listwise",
## marker-variable identification (first loading fixed to 1) unless std.lv = TRUE.
## cfa()/sem() defaults: auto.var, auto.fix.first, auto.fix.single, auto.cov.lv.x,
## auto.cov.y, auto.th, auto.delta, auto.efa = TRUE; fixed.x = TRUE (with
## conditional.x = FALSE); meanstructure = FALSE (complete data, ML).

suppressPackageStartupMessages(library(lavaan))

## ---- locate this script and the data ---------------------------------------
script_dir <- local({
  a <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", a[grep("^--file=", a)])
  if (length(f) == 1L) dirname(normalizePath(f)) else getwd()
})
data_dir <- Sys.getenv("LAVAAN_REF_DATA",
                       unset = file.path(script_dir, "..", "..", "..", "..",
                                         "shared", "benchmarks", "data"))
data_dir <- normalizePath(data_dir, mustWork = TRUE)
out_dir  <- script_dir
read_data <- function(file) read.csv(file.path(data_dir, file))

## ---- helpers -----------------------------------------------------------------
## numbers with 15 significant digits; NA -> empty field (pandas reads as NaN)
fmt_num <- function(x) {
  out <- formatC(x, digits = 15, format = "g")
  out[is.na(x)] <- ""
  trimws(out)
}
fmt_df <- function(df) {
  for (j in seq_along(df)) if (is.numeric(df[[j]])) df[[j]] <- fmt_num(df[[j]])
  df
}
write_csv <- function(df, file)
  write.csv(fmt_df(df), file.path(out_dir, file), row.names = FALSE, quote = TRUE)

fit_rows  <- list()
prec_rows <- list()
warn_rows <- list()

## fit one model: fun is "cfa", "sem" or "lavaan"; opts = list of extra options
run_model <- function(name, model, data_file, fun, opts = list(), data = NULL,
                      note = "") {
  if (is.null(data)) data <- read_data(data_file)
  opt_txt <- if (length(opts))
    paste(sprintf("%s = %s", names(opts), vapply(opts, deparse, "")), collapse = ", ")
    else "defaults"
  header <- sprintf("# data: %s; lavaan: %s(%s)", data_file, fun,
                    if (length(opts)) opt_txt else "")
  ## keep the header one line; for long option lists (lavaan()) that is fine
  lav_text <- paste0(header, "\n", model, "\n")
  writeLines(lav_text, file.path(out_dir, paste0(name, ".lav")), sep = "")

  warns <- character()
  fit <- withCallingHandlers(
    do.call(fun, c(list(model = lav_text, data = data), opts)),
    warning = function(w) {
      warns <<- c(warns, conditionMessage(w))
      invokeRestart("muffleWarning")
    })
  for (w in warns) {
    message(sprintf("[%s] WARNING: %s", name, w))
    warn_rows[[length(warn_rows) + 1L]] <<- data.frame(name = name, warning = w)
  }

  pe <- parameterEstimates(fit, standardized = TRUE)
  write_csv(pe, paste0(name, "_parameterEstimates.csv"))

  r2 <- lavInspect(fit, "r2")
  write_csv(data.frame(variable = names(r2), r2 = unname(r2)),
            paste0(name, "_rsquare.csv"))

  ## precision check (not a reference output): refit with optim.method = "BFGS"
  ## and reltol = 1e-16 (nlminb with a tighter rel.tol reports false
  ## convergence), and record how far lavaan's default (nlminb, rel.tol = 1e-10)
  ## stopping point is from that tighter optimum.
  tight <- suppressWarnings(do.call(fun, c(list(model = lav_text, data = data), opts,
    list(optim.method = "BFGS", control = list(reltol = 1e-16, maxit = 1e5)))))
  tight_ok <- lavInspect(tight, "converged")
  pt <- parameterEstimates(tight, standardized = TRUE)
  d  <- function(a, b) if (tight_ok) max(abs(a - b), na.rm = TRUE) else NA_real_
  prec_rows[[length(prec_rows) + 1L]] <<- data.frame(
    name = name,
    max_abs_grad_default = max(abs(lavInspect(fit, "gradient"))),
    max_abs_grad_tight = if (tight_ok) max(abs(lavInspect(tight, "gradient"))) else NA,
    max_abs_diff_est = d(pe$est, pt$est),
    max_abs_diff_se = d(pe$se, pt$se),
    max_abs_diff_std_all = d(pe$std.all, pt$std.all),
    chisq_default = unname(fitMeasures(fit, "chisq")),
    chisq_tight = if (tight_ok) unname(fitMeasures(tight, "chisq")) else NA)

  fm <- fitMeasures(fit, c("npar", "fmin", "chisq", "df", "pvalue", "logl",
                           "unrestricted.logl", "cfi", "tli", "rmsea", "srmr"))
  fit_rows[[length(fit_rows) + 1L]] <<- data.frame(
    name = name, data = data_file, fun = fun, options = opt_txt,
    npar = unname(fm["npar"]), chisq = unname(fm["chisq"]), df = unname(fm["df"]),
    ntotal = lavInspect(fit, "ntotal"), pvalue = unname(fm["pvalue"]),
    fmin = unname(fm["fmin"]), logl = unname(fm["logl"]),
    unrestricted_logl = unname(fm["unrestricted.logl"]),
    cfi = unname(fm["cfi"]), tli = unname(fm["tli"]),
    rmsea = unname(fm["rmsea"]), srmr = unname(fm["srmr"]),
    converged = lavInspect(fit, "converged"),
    n_warnings = length(warns), note = note)
  message(sprintf("%-28s npar=%2d chisq=%.6f df=%d N=%d", name,
                  as.integer(fm["npar"]), fm["chisq"], as.integer(fm["df"]),
                  lavInspect(fit, "ntotal")))
  invisible(fit)
}

HS <- "HolzingerSwineford1939.csv"
PD <- "PoliticalDemocracy.csv"
MED <- "mediation_sim.csv"

## The 3-factor measurement model of the lavaan tutorial ("A CFA example",
## https://lavaan.ugent.be/tutorial/cfa.html).
hs3 <- "visual  =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed   =~ x7 + x8 + x9"

## HS data: no missing values in x1-x9, sex, ageyr (only 'grade' has 1 NA, and it
## is not used by any model), so nothing is dropped; N = 301 throughout.
hs_data <- read_data(HS)
stopifnot(!anyNA(hs_data[, c(paste0("x", 1:9), "sex", "ageyr")]))

## 1. hs_cfa: tutorial CFA, cfa() defaults (marker loadings, factor covariances free).
run_model("hs_cfa", hs3, HS, "cfa", data = hs_data)

## 2. hs_cfa_stdlv: same, cfa(std.lv = TRUE) (factor variances fixed to 1, all
##    loadings free). Tutorial: "Identification ... std.lv = TRUE".
run_model("hs_cfa_stdlv", hs3, HS, "cfa", list(std.lv = TRUE), data = hs_data)

## 3. hs_orthogonal: same, cfa(orthogonal = TRUE) (factor covariances fixed to 0).
##    Tutorial "Fixing parameters" section.
run_model("hs_orthogonal", hs3, HS, "cfa", list(orthogonal = TRUE), data = hs_data)

## 4. hs_equal: tutorial equality-constraint example ("Simple equality
##    constraints", https://lavaan.ugent.be/tutorial/syntax2.html): common label
##    v2 makes the x2 and x3 loadings equal. cfa() defaults.
run_model("hs_equal",
"visual  =~ x1 + v2*x2 + v2*x3
textual =~ x4 + x5 + x6
speed   =~ x7 + x8 + x9", HS, "cfa", data = hs_data)

## 5. hs_mimic: MIMIC, sem() defaults: fixed.x = TRUE (sex, ageyr exogenous and
##    fixed at their sample moments; not counted in npar), auto.cov.y = TRUE (the
##    three factors' residual covariances are free). No rows dropped (no NA).
hs_mimic <- paste(hs3, "visual  ~ sex + ageyr
textual ~ sex + ageyr
speed   ~ sex + ageyr", sep = "\n")
run_model("hs_mimic", hs_mimic, HS, "sem", data = hs_data)

## 6. hs_mimic_nocovy: control with auto.cov.y = FALSE, so the factors' residual
##    covariances are not added (i.e. fixed to 0).
##    NOTE (lavaan 0.6-14): sem() hard-codes auto.cov.y = TRUE in its body
##    (mc$auto.cov.y = TRUE overwrites the user's argument), so
##    sem(..., auto.cov.y = FALSE) is SILENTLY IGNORED and gives exactly hs_mimic.
##    We therefore fit with lavaan() using sem()'s own auto.* settings except
##    auto.cov.y = FALSE, and cross-check against (a) the explicit-zero model
##    "visual ~~ 0*textual + 0*speed; textual ~~ 0*speed" fitted by sem(), and
##    (b) the fact that sem(auto.cov.y = FALSE) reproduces hs_mimic.
sem_auto <- list(model.type = "sem", int.ov.free = TRUE, int.lv.free = FALSE,
                 auto.fix.first = TRUE, auto.fix.single = TRUE, auto.var = TRUE,
                 auto.cov.lv.x = TRUE, auto.th = TRUE, auto.delta = TRUE,
                 auto.efa = TRUE)
fit_nocovy <- run_model("hs_mimic_nocovy", hs_mimic, HS, "lavaan",
                        c(sem_auto, list(auto.cov.y = FALSE)), data = hs_data,
                        note = paste("sem(auto.cov.y = FALSE) is ignored by lavaan",
                                     "0.6-14 (gives hs_mimic); fitted with lavaan()",
                                     "= sem() settings but auto.cov.y = FALSE"))
local({
  same_est <- function(f1, f2) {
    p1 <- parameterEstimates(f1, standardized = TRUE)
    p2 <- parameterEstimates(f2, standardized = TRUE)
    k1 <- paste(p1$lhs, p1$op, p1$rhs); k2 <- paste(p2$lhs, p2$op, p2$rhs)
    m <- match(k1, k2)
    ok <- !is.na(m)
    isTRUE(all.equal(p1$est[ok], p2$est[m[ok]], tolerance = 1e-8)) &&
      isTRUE(all.equal(p1$se[ok], p2$se[m[ok]], tolerance = 1e-8)) &&
      isTRUE(all.equal(fitMeasures(f1, c("npar", "chisq", "df")),
                       fitMeasures(f2, c("npar", "chisq", "df")), tolerance = 1e-8))
  }
  zero <- sem(paste(hs_mimic, "visual ~~ 0*textual + 0*speed",
                    "textual ~~ 0*speed", sep = "\n"), data = hs_data)
  stopifnot(same_est(fit_nocovy, zero))
  ignored <- sem(hs_mimic, data = hs_data, auto.cov.y = FALSE)
  stopifnot(same_est(ignored, sem(hs_mimic, data = hs_data)))
  message("  check: hs_mimic_nocovy == explicit 0* model; ",
          "sem(auto.cov.y = FALSE) == hs_mimic (argument ignored)")
})

## 7. hs_single_indicator: single-indicator factor in a structural model, sem()
##    defaults; auto.fix.single = TRUE fixes the x7 loading to 1 and the x7
##    residual variance to 0 (so spd is x7 itself).
run_model("hs_single_indicator",
"visual  =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
spd     =~ x7
textual ~ visual
spd     ~ visual + textual", HS, "sem", data = hs_data)

## 8. mediation_obs: observed-variable mediation, as in the lavaan tutorial
##    "Mediation analysis" (https://lavaan.ugent.be/tutorial/mediation.html),
##    sem() defaults (fixed.x = TRUE: var(X) not a parameter; standard SEs,
##    not bootstrap). Defined parameters ind and total via :=.
med <- "M ~ a*X
Y ~ b*M + cp*X
ind   := a*b
total := cp + a*b"
run_model("mediation_obs", med, MED, "sem")

## 9. pd_sem: the Political Democracy SEM of the lavaan tutorial
##    ("A SEM example", https://lavaan.ugent.be/tutorial/sem.html), sem() defaults.
run_model("pd_sem",
"ind60 =~ x1 + x2 + x3
dem60 =~ y1 + y2 + y3 + y4
dem65 =~ y5 + y6 + y7 + y8
dem60 ~ ind60
dem65 ~ ind60 + dem60
y1 ~~ y5
y2 ~~ y4 + y6
y3 ~~ y7
y4 ~~ y8
y6 ~~ y8", PD, "sem")

## 10. hs_second_order: second-order CFA, cfa() defaults. The first-order
##     factors are indicators of g; lavaan adds no covariances among their
##     disturbances (npar = 21). With 3 first-order factors the second-order part
##     is just-identified, so chisq/df equal hs_cfa's (equivalent model).
run_model("hs_second_order", paste(hs3, "g =~ visual + textual + speed", sep = "\n"),
          HS, "cfa", data = hs_data)

## 11. hs_mimic_dif: MIMIC with a direct effect of sex on indicator x3 (DIF),
##     sem() defaults.
run_model("hs_mimic_dif", paste(hs3, "visual  ~ sex
textual ~ sex
speed   ~ sex
x3      ~ sex", sep = "\n"), HS, "sem", data = hs_data)

## 12. hs_mimic_fixedx_false: hs_mimic with sem(fixed.x = FALSE): the variances
##     and covariance of sex and ageyr become free parameters.
run_model("hs_mimic_fixedx_false", hs_mimic, HS, "sem", list(fixed.x = FALSE),
          data = hs_data)

## 13. mediation_obs_fixedx_false: mediation_obs with sem(fixed.x = FALSE):
##     var(X) becomes a free parameter.
run_model("mediation_obs_fixedx_false", med, MED, "sem", list(fixed.x = FALSE))

## 14. hs_two_indicator: a two-indicator factor, identified empirically through
##     its covariance with the three-indicator factor; cfa() defaults.
run_model("hs_two_indicator",
"visual  =~ x1 + x2
textual =~ x4 + x5 + x6", HS, "cfa", data = hs_data)

## ---- summary tables -----------------------------------------------------------
write_csv(do.call(rbind, fit_rows), "fit_measures.csv")
write_csv(do.call(rbind, prec_rows), "precision_check.csv")
if (length(warn_rows)) {
  write_csv(do.call(rbind, warn_rows), "warnings.csv")
} else if (file.exists(file.path(out_dir, "warnings.csv"))) {
  file.remove(file.path(out_dir, "warnings.csv"))
}
writeLines(c(sprintf("lavaan %s", packageVersion("lavaan")), R.version.string),
           file.path(out_dir, "versions.txt"))
message("done: ", out_dir)
