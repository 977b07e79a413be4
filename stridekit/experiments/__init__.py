"""Stride experiments: sweeps that train and measure, a crash-safe store, search, reports."""
