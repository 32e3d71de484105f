"""Echo client that always uses the port of an earlier assignment."""

import socket
import sys

host = "localhost"
messages = [m for m in sys.argv[1:] if not m.startswith("--")][1:] or ["Hello network world"]
with socket.create_connection((host, 18126)) as sock:
    for message in messages:
        sock.sendall(message.encode())
        print("Client received:", sock.recv(65536).decode())
