# A correct key-value server: one client at a time, one store for all of them.
import socket

store = {}


def answer(line):
    parts = line.split(" ", 2)
    if len(parts) == 3 and parts[0] == "SET":
        store[parts[1]] = parts[2]
        return "OK"
    if len(parts) == 2 and parts[0] == "GET":
        return store.get(parts[1], "NOT FOUND")
    return "ERROR"


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 7070))
server.listen(5)
while True:
    connection, _ = server.accept()
    with connection, connection.makefile("rw", encoding="utf-8", newline="\n") as stream:
        try:
            for line in stream:
                stream.write(answer(line.rstrip("\n")) + "\n")
                stream.flush()
        except OSError:
            pass
