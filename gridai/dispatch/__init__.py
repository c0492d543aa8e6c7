"""Dispatch of batteries and virtual power plants (PV, EV fleets, flexible loads) on feeders, on Pyomo + HiGHS."""
