# gevent's StreamServer echo (python3-gevent).   gevent_server.py PORT
import sys

from gevent.server import StreamServer


def echo(sock, address):
    while True:
        data = sock.recv(4096)
        if not data:
            break
        sock.sendall(data)


StreamServer(("127.0.0.1", int(sys.argv[1])), echo, backlog=4096).serve_forever()
