"""Echo client: sends each message, prints each whole reply, closes."""

import argparse
import socket

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="localhost")
parser.add_argument("--port", type=int, default=50007)
parser.add_argument("messages", nargs="*", default=["Hello network world"])
args = parser.parse_args()

with socket.create_connection((args.host, args.port)) as sock:
    for message in args.messages:
        data = message.encode()
        sock.sendall(data)
        expected = len(b"Echo=>") + len(data)
        reply = b""
        while len(reply) < expected:
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
        print("Client received:", reply.decode())
