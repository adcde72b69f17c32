"""The client side: a library for backends, ops and the CLI (`starter.py`)."""
