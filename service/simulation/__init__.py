"""Synthetic municipalities driving the real use cases on a virtual clock (`fasthold simulate`,
and the history `fasthold demo` starts with)."""
