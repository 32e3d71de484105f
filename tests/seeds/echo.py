"""The seed echo server (port 50007), ported to Python 3 as the lesson writes it.

One client at a time: accept, answer each chunk with ``Echo=>`` + the chunk until the
client closes, close, accept the next. Added to the seed: an error from one client (a
reset) ends only that client's conversation, so no client can stop the server.
Run: python tests/seeds/echo.py [PORT]
"""

import socket
import sys

port = int(sys.argv[1]) if len(sys.argv) > 1 else 50007
server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen(5)
while True:
    connection, address = server.accept()
    try:
        while True:
            data = connection.recv(1024)
            if not data:
                break
            connection.sendall(b"Echo=>" + data)
    except OSError as error:
        print(address, error, file=sys.stderr)
    connection.close()
