"""The baseline: echo and banner_echo written the way the socket tutorials write them.

A thread per connection, ``listen(5)``, ``recv(1024)``, no shutdown handling. The capacity
benchmark compares the reference servers against this.
Run: python benchmarks/seed_servers.py echo|banner_echo PORT
"""

import socket
import sys
import threading

BANNER = b"Welcome to the server. Type something and hit enter\n"


def handle(conn, banner):
    if banner:
        conn.sendall(BANNER)
    while True:
        data = conn.recv(1024)
        if not data:
            break
        conn.sendall((b"OK..." if banner else b"Echo=>") + data)
    conn.close()


def main():
    banner = sys.argv[1] == "banner_echo"
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", int(sys.argv[2])))
    server.listen(5)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=handle, args=(conn, banner), daemon=True).start()


if __name__ == "__main__":
    main()
