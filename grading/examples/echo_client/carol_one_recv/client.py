"""Echo client, as in the lesson: one recv per reply."""

import argparse
import socket

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="localhost")
parser.add_argument("--port", type=int, default=50007)
parser.add_argument("messages", nargs="*", default=["Hello network world"])
args = parser.parse_args()

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.connect((args.host, args.port))
for message in args.messages:
    sock.send(message.encode())
    data = sock.recv(1024)
    print("Client received:", data.decode())
sock.close()
