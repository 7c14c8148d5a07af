"""The node agent's parts that run on a compute node (no Django here)."""
