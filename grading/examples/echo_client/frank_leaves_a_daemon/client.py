"""A correct echo client that also leaves a background process behind."""

import argparse
import os
import socket
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(600)
    os._exit(0)

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="localhost")
parser.add_argument("--port", type=int, default=50007)
parser.add_argument("messages", nargs="*", default=["Hello network world"])
args = parser.parse_args()

with socket.create_connection((args.host, args.port)) as sock:
    for message in args.messages:
        data = message.encode()
        sock.sendall(data)
        reply = b""
        while len(reply) < len(data) + 6:
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
        print("Client received:", reply.decode())
