"""The grid layer: network loading and topology, LinDistFlow, AC power-flow checks and feeder health."""
