"""gridai: day-ahead grid load forecasting, storage/VPP dispatch and feeder restoration.

The package has no import-time side effects: importing it reads no files, sets no
environment variables and configures no logging handlers (the CLI does that).
"""

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
