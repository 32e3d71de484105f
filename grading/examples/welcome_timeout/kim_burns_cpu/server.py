# Burns CPU: listens, then spins instead of accepting anyone.
import socket

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 8001))
server.listen(5)
count = 0
while True:
    count += 1
