"""Workshop simulation: a SimPy model, queue policies, queueing formulas and experiments."""
