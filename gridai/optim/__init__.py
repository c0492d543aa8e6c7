"""The optimisation layer: one solver-neutral Status/SolveResult, the HiGHS paths and the array-based linear model builder."""
