# Bug: serves one client at a time, so an idle client blocks everyone else.
import socket

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 8001))
server.listen(5)
while True:
    conn, addr = server.accept()
    conn.settimeout(5)
    try:
        data = conn.recv(1024)
        conn.sendall(b"welcome to server!" if data == b"1" else b"please go out!")
    except OSError:
        pass
    conn.close()
