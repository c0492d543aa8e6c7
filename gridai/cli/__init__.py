"""The ``gridai`` command line: thin wrappers that parse, load config, call pipelines and exit."""
