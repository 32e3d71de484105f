"""Echo client that waits for the server to hang up before it leaves."""

import argparse
import socket

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="localhost")
parser.add_argument("--port", type=int, default=50007)
parser.add_argument("messages", nargs="*", default=["Hello network world"])
args = parser.parse_args()

sock = socket.create_connection((args.host, args.port))
for message in args.messages:
    data = message.encode()
    sock.sendall(data)
    reply = b""
    while len(reply) < len(data) + 6:
        reply += sock.recv(4096)
    print("Client received:", reply.decode(), flush=True)
while sock.recv(4096):
    pass
sock.close()
