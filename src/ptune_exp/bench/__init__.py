"""Benchmarks: training-step time and memory of every method (CPU and GPU), settings, and serving."""
