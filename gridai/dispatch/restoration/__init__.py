"""Fault isolation and service restoration (FLISR): MILP on Pyomo + HiGHS, verified radial and AC-feasible."""

from gridai.dispatch.restoration.api import RestorationPlan, restore
from gridai.dispatch.restoration.config import RestorationConfig

__all__ = ["RestorationConfig", "RestorationPlan", "restore"]
