# Bug: strips the input, so "1\n" and " 1" are welcome too.
import socket
import threading


def serve(conn):
    conn.settimeout(5)
    try:
        data = conn.recv(1024).decode().strip()
        conn.sendall(b"welcome to server!" if data == "1" else b"please go out!")
    except socket.timeout:
        pass
    finally:
        conn.close()


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 8001))
server.listen(5)
while True:
    conn, addr = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
