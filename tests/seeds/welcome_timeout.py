"""The seed welcome server (port 8001), ported to Python 3 as the lesson writes it.

One client at a time: accept, wait up to 5 s for its first chunk, answer exactly ``1``
with ``welcome to server!`` and anything else with ``please go out!``, close, accept the
next. An idle client holds the others back until its 5 s are up, as in the seed. Added to
the seed: any other error from one client ends only that client's conversation.
Run: python tests/seeds/welcome_timeout.py [PORT]
"""

import socket
import sys

port = int(sys.argv[1]) if len(sys.argv) > 1 else 8001
server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen(5)
while True:
    connection, address = server.accept()
    try:
        connection.settimeout(5)
        buf = connection.recv(1024)
        if buf == b"1":
            connection.sendall(b"welcome to server!")
        else:
            connection.sendall(b"please go out!")
    except TimeoutError:
        print(address, "time out", file=sys.stderr)
    except OSError as error:
        print(address, error, file=sys.stderr)
    connection.close()
