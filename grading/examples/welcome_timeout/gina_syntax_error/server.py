# Does not run: a syntax error.
import socket

server = socket.socket()
server.bind(("127.0.0.1", 8001)
server.listen(5)
