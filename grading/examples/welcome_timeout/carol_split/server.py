# Correct: sends each reply in two pieces.
import socket
import threading
import time


def serve(conn):
    conn.settimeout(5)
    try:
        data = conn.recv(1024)
        reply = b"welcome to server!" if data == b"1" else b"please go out!"
        conn.send(reply[:6])
        time.sleep(0.05)
        conn.send(reply[6:])
    except socket.timeout:
        pass
    conn.close()


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 8001))
server.listen(5)
while True:
    conn, addr = server.accept()
    threading.Thread(target=serve, args=(conn,)).start()
