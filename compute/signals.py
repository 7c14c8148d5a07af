"""Signals other apps listen to without compute importing them."""

from django.dispatch import Signal

#: Sent (after commit) when GPUs may have become free on `node`: a reservation was released, a node
#: came online or back from draining, or grew. Waiting jobs try `placement_reserve` again.
#: Arguments: sender=ComputeNode, node.
capacity_freed = Signal()
