"""Fault isolation and service restoration (FLISR): MILP on Pyomo + HiGHS, verified radial and AC-feasible."""

from gridai.restoration.api import RestorationPlan, restore
from gridai.restoration.config import RestorationConfig

__all__ = ["RestorationConfig", "RestorationPlan", "restore"]
