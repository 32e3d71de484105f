import socket

sock = socket.create_connection(("localhost", 50007)
print("Client received:", sock.recv(1024))
