# gevent's StreamServer echo, as a gevent user writes it.  python3 gevent_server.py PORT
import sys

from gevent.server import StreamServer


def echo(sock, _address):
    while True:
        data = sock.recv(65536)
        if not data:
            break
        sock.sendall(data)


StreamServer(("127.0.0.1", int(sys.argv[1])), echo, backlog=4096).serve_forever()
