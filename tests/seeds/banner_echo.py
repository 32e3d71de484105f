"""The seed banner echo server (port 8888), ported to Python 3 as the lesson writes it.

A thread per client: send the banner, answer each chunk with ``OK...`` + the chunk until
the client closes, close. Added to the seed: an error from one client (a reset) ends only
that client's thread quietly.
Run: python tests/seeds/banner_echo.py [PORT]
"""

import socket
import sys
import threading


def clientthread(conn, address):
    try:
        conn.sendall(b"Welcome to the server. Type something and hit enter\n")
        while True:
            data = conn.recv(1024)
            if not data:
                break
            conn.sendall(b"OK..." + data)
    except OSError as error:
        print(address, error, file=sys.stderr)
    conn.close()


port = int(sys.argv[1]) if len(sys.argv) > 1 else 8888
server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen(10)
while True:
    conn, address = server.accept()
    threading.Thread(target=clientthread, args=(conn, address), daemon=True).start()
