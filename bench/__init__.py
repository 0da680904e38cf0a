"""The benchmark suite: every hot path measured next to its raw baseline in the same run.

The machine is noisy (±20 % between runs), so an absolute time means little; each figure is
reported as a ratio against a baseline taken minutes apart on the same data. Entry point:
``python -m bench.run --full|--quick`` (``make bench`` / ``make bench-quick``). Data lives in
its own database (``cxgov_bench`` / ``cxgov_bench_quick``), loaded with PostgreSQL COPY.
"""
