"""Load forecasting: baselines, the global quantile network, reconciliation, backtest, metrics."""
