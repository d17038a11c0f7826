"""Appointment scheduling without Django: a day's rooms, devices, staff and exams, the greedy
dispatcher, the CP-SAT optimizer and re-plan, an independent validator and the plan diff.

See docs/scheduling-optimizer.md for the model, the objective and what the benchmark measures.
"""
