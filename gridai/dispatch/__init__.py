"""Optimisation on Pyomo + HiGHS: storage/VPP dispatch and feeder restoration."""
