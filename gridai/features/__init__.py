"""Feature builders for day-ahead load forecasting: calendar, weather and load history.

Every builder that touches load takes the index of the first *unobserved* interval
(derived from the issue time), so that lags past the issue time are impossible by
construction (:mod:`gridai.features.lags`).
"""
