"""Simulation studies: many simulated data sets per condition, several methods on each, run
on a Dask cluster, each replication written atomically so an interrupted study resumes."""
