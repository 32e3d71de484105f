"""Reference servers for the six behaviours of the socket acceptance kit.

``python -m services NAME`` runs one from the command line; ``serve(NAME)`` runs one
in-process for tests and tools.
"""

from .behaviours import BEHAVIOURS, Behaviour
from .runner import Server, serve

__all__ = ["BEHAVIOURS", "Behaviour", "Server", "serve"]
