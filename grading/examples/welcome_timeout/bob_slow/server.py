# Correct but slow: thinks for half a second before every reply.
import socket
import threading
import time


def serve(conn):
    conn.settimeout(5)
    try:
        data = conn.recv(1024)
        time.sleep(0.5)
        conn.sendall(b"welcome to server!" if data == b"1" else b"please go out!")
    except socket.timeout:
        pass
    finally:
        conn.close()


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("0.0.0.0", 8001))
server.listen(5)
while True:
    conn, addr = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
