"""The network layer shared by dispatch and restoration: topology, LinDistFlow, AC check."""
