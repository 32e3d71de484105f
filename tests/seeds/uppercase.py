"""The seed uppercase server (UDP port 12000), ported to Python 3 as the lesson writes it.

Each datagram is decoded, upper-cased, encoded and sent back to its sender. Added to the
seed: a datagram that is not UTF-8 (or any other error) is reported and skipped, so no
client can stop the server.
Run: python tests/seeds/uppercase.py [PORT]
"""

import socket
import sys

port = int(sys.argv[1]) if len(sys.argv) > 1 else 12000
server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server.bind(("127.0.0.1", port))
while True:
    try:
        message, client_address = server.recvfrom(2048)
        modified_message = message.decode().upper()
        server.sendto(modified_message.encode(), client_address)
    except (UnicodeError, OSError) as error:
        print(error, file=sys.stderr)
