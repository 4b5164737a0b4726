# SPDX-License-Identifier: MIT
"""Helpers shared by the vigie lab services (Python 3 standard library only).

Every service is started by lab/vigie-lab inside a network namespace.  It
announces that it is listening by creating the file given with --ready, so
the launcher never has to guess with sleeps.
"""

import argparse
import os
import select
import signal
import socket
import ssl
import struct
import sys
import threading
import time

# <linux/netfilter_ipv4.h>: getsockopt(SOL_IP, SO_ORIGINAL_DST) returns the
# destination a connection had before an iptables REDIRECT rewrote it.
SO_ORIGINAL_DST = 80

_log_lock = threading.Lock()
_prog = os.path.basename(sys.argv[0]) if sys.argv else "lab"


def set_prog(name):
    global _prog
    _prog = name


def log(fmt, *args):
    """One timestamped line on stderr (the launcher sends it to a log file)."""
    msg = fmt % args if args else fmt
    stamp = time.strftime("%H:%M:%S", time.localtime())
    with _log_lock:
        sys.stderr.write("%s.%03d %s: %s\n" % (stamp, int(time.time() * 1000) % 1000, _prog, msg))
        sys.stderr.flush()


def announce_ready(path):
    """Create the readiness file once every socket is bound."""
    if not path:
        return
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % os.getpid())
    os.replace(tmp, path)


def exit_on_signals():
    """Turn SIGTERM/SIGINT into a quiet, immediate exit (threads are daemons)."""

    def _bye(signum, _frame):
        log("signal %d, exiting", signum)
        os._exit(0)

    signal.signal(signal.SIGTERM, _bye)
    signal.signal(signal.SIGINT, _bye)


def original_dst(sock):
    """(ip, port) a REDIRECTed TCP connection was originally sent to."""
    raw = sock.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    port, packed = struct.unpack_from("!2xH4s", raw)
    return socket.inet_ntoa(packed), port


def spawn(target, *args):
    t = threading.Thread(target=target, args=args, daemon=True)
    t.start()
    return t


class WatchedFile:
    """A small config file that is re-read whenever it is replaced.

    vigie-lab writes scenario settings with write-to-temp + rename, so a
    change of (inode, mtime, size) is a reliable signal; services call get()
    on every request, which costs one stat().
    """

    def __init__(self, path, parse):
        self.path = path
        self.parse = parse
        self.key = None
        self.value = parse([])
        self.lock = threading.Lock()

    def get(self):
        try:
            st = os.stat(self.path)
            key = (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            key = None
        with self.lock:
            if key != self.key:
                lines = []
                if key is not None:
                    with open(self.path) as f:
                        lines = [ln.split("#", 1)[0].split() for ln in f]
                    lines = [ln for ln in lines if ln]
                try:
                    self.value = self.parse(lines)
                except ValueError as e:
                    log("bad config %s: %s (keeping the previous one)", self.path, e)
                else:
                    log("loaded %s: %r", self.path, self.value)
                self.key = key
            return self.value


def _readable(s):
    pending = getattr(s, "pending", None)
    return pending is not None and pending() > 0


def pump(a, b, idle_timeout=60.0):
    """Copy bytes both ways between two connected sockets (plain or TLS).

    Single-threaded on purpose: an OpenSSL connection must not be read and
    written from two threads at once.  Returns when either side closes or
    nothing moves for idle_timeout seconds.
    """
    peer = {a: b, b: a}
    for s in (a, b):
        s.settimeout(idle_timeout)
    while True:
        ready = [s for s in (a, b) if _readable(s)]
        if not ready:
            ready, _, _ = select.select([a, b], [], [], idle_timeout)
            if not ready:
                return "idle"
        for s in ready:
            # Non-blocking read: a TLS record that carries no application data (TLS 1.3's
            # session tickets, which a server sends after the handshake) makes the socket
            # readable, and a blocking recv() would then wait for data that only comes once
            # the other side's bytes, never read meanwhile, have been relayed.
            s.setblocking(False)
            try:
                data = s.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                continue
            except (ConnectionError, OSError) as e:
                return "recv error: %s" % e
            finally:
                s.settimeout(idle_timeout)
            if not data:
                return "eof"
            try:
                peer[s].sendall(data)
            except (ConnectionError, OSError) as e:
                return "send error: %s" % e


def close_quietly(*socks):
    for s in socks:
        if s is None:
            continue
        try:
            s.close()
        except OSError:
            pass


def tcp_service_args(doc):
    """The argument parser of a TCP service: its description doc (the module's __doc__), with
    --listen ADDR and --port N; the service adds its own options (and --ready) after them."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--listen", required=True)
    ap.add_argument("--port", type=int, required=True)
    return ap


def serve_tcp(args, what, handler, *hargs):
    """Listen on args.listen:args.port, log "listening on ADDR:PORT" followed by what, create
    the readiness file args.ready, then run handler(conn, peer, *hargs) in a thread of its own
    for every connection. Never returns."""
    lsock = listen_tcp(args.listen, args.port)
    log("listening on %s:%d%s", args.listen, args.port, what)
    announce_ready(args.ready)
    while True:
        conn, peer = lsock.accept()
        spawn(handler, conn, peer, *hargs)


def listen_tcp(addr, port, backlog=64):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(backlog)
    return s
