"""The seed acknowledgement server (UDP port 8080), ported to Python 3 as the lesson
writes it.

Each datagram is printed and answered with ``服务端收到信息啦!`` encoded GBK. Added to the
seed: bytes that are not GBK are printed replaced instead of failing, and any socket
error is reported and skipped, so no client can stop the server.
Run: python tests/seeds/ack.py [PORT]
"""

import socket
import sys

port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", port))
while True:
    try:
        data, address = s.recvfrom(1024)
        print("received:", data.decode("gbk", errors="replace"), "from", address, flush=True)
        s.sendto("服务端收到信息啦!".encode("gbk"), address)
    except OSError as error:
        print(error, file=sys.stderr)
