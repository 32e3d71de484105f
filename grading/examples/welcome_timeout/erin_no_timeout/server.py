# Bug: no idle timeout; an idle client is never disconnected.
import socket
import threading


def serve(conn):
    data = conn.recv(1024)
    if data:
        conn.sendall(b"welcome to server!" if data == b"1" else b"please go out!")
    conn.close()


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 8001))
server.listen(5)
while True:
    conn, addr = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
