# Correct: one thread per client, each with its own 5 s timeout.
import socket
import threading


def serve(conn):
    conn.settimeout(5)
    try:
        data = conn.recv(1024)
        conn.sendall(b"welcome to server!" if data == b"1" else b"please go out!")
    except socket.timeout:
        pass
    finally:
        conn.close()


server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 8001))
server.listen(5)
while True:
    conn, addr = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
