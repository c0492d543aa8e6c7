"""The data layer: readers, the canonical xarray schema, resampling, I/O, quality checks and cleaning.

Modules
-------
schema      canonical load / weather datasets and the hierarchy helpers
gefcom      the bundled GEFCom2012 load-track data
readers     generic wide and long CSV/Parquet readers (local time and DST handled explicitly)
timeindex   timestamp parsing: time zones, DST gaps and repeats, interval conventions
resample    energy-correct 15 min <-> hourly resampling
io          atomic, lossless NetCDF and Parquet writers
validation  quality checks (``check_load``, ``check_weather``) and cleaning (``clean``)

Nothing is imported eagerly here, so ``import gridai.data`` stays cheap.
"""
