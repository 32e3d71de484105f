# Never listens: waits for ever before creating its socket.
import threading

threading.Event().wait()
