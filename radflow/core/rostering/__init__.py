"""Staff rostering without Django: instance, CP-SAT model, evaluator and benchmark I/O.

The department's roster and the Curtois & Qu benchmark go through the same ``Instance`` and the
same solver, so the benchmark measures the machinery the coordinator relies on.
"""
