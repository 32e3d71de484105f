# Floods its output: prints every loop iteration of a busy debug thread.
import socket
import threading


def debug():
    while True:
        print("still alive " * 10)


def serve(conn):
    conn.settimeout(5)
    try:
        data = conn.recv(1024)
        conn.sendall(b"welcome to server!" if data == b"1" else b"please go out!")
    except socket.timeout:
        pass
    finally:
        conn.close()


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 8001))
server.listen(5)
threading.Thread(target=debug, daemon=True).start()
while True:
    conn, addr = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
