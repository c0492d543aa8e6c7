"""The data layer: readers, the canonical xarray schema, resampling, I/O, quality checks and cleaning.

Modules
-------
schema      canonical load / weather datasets and the hierarchy helpers
gefcom      the bundled GEFCom2012 load-track data
readers     generic wide and long CSV/Parquet readers, wide weather-forecast CSV
csvtable    delimited-text parsing shared by the readers (exact numbers, offending rows named)
timeindex   timestamp parsing: time zones, DST gaps and repeats, interval conventions
sources     one string -> dataset: 'gefcom2012', a GEFCom folder, or a file (used by the CLI)
resample    energy-correct 15 min <-> hourly resampling
io          atomic, lossless NetCDF and Parquet writers
validation  quality gates: QualityConfig, check_load, check_weather, clean, findings_report
panel       the (series, time) array the checks scan, and run-length helpers
checks      the vectorised detectors (gaps, flatlines, spikes, level shifts, ...)
detection   running the detectors on a dataset; the findings clean() acts on
cleaning    regular grid, invalidation, imputation with an ``imputed`` flag

Nothing is imported eagerly here, so ``import gridai.data`` stays cheap.
"""
