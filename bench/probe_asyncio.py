#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/probe_asyncio.py - the probe's Python peer of issue 18 (bench/README.md, section 1):
the same work per URL as curl --parallel, with asyncio and ssl from the standard library.

    python3 bench/probe_asyncio.py --parallel N --cafile CA.pem -i URLS.txt

For every URL, at most N at a time (a semaphore): getaddrinfo through the event loop (A only,
as curl does when the host has no IPv6), one TCP connection, TLS with SNI and ALPN
http/1.1, chain and host name verified against CA.pem, one GET with Connection: close, the
whole body read. Prints one line per URL as curl's `-w '%{http_code} %{ssl_verify_result}'`
does: "200 0" when the page loaded, "000 1" and the error on stderr otherwise.
"""
import argparse
import asyncio
import socket
import ssl
import sys
from urllib.parse import urlsplit

TIMEOUT_S = 60


async def fetch(loop, ctx, sem, url):
    u = urlsplit(url)
    host, port = u.hostname, u.port or 443
    async with sem:
        try:
            infos = await loop.getaddrinfo(host, port, family=socket.AF_INET,
                                           type=socket.SOCK_STREAM)
            addr = infos[0][4]
            reader, writer = await asyncio.wait_for(asyncio.open_connection(
                addr[0], addr[1], ssl=ctx, server_hostname=host), TIMEOUT_S)
            try:
                writer.write(("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: probe_asyncio\r\n"
                              "Accept: */*\r\nConnection: close\r\n\r\n" % (
                                  u.path or "/", host)).encode())
                data = await asyncio.wait_for(reader.read(), TIMEOUT_S)
            finally:
                writer.close()
            status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/") else "000"
            return "%s 0" % status
        except (OSError, ssl.SSLError, asyncio.TimeoutError, IndexError) as e:
            print("%s: %r" % (url, e), file=sys.stderr)
            return "000 1"


async def run(urls, parallel, cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.set_alpn_protocols(["http/1.1"])
    sem = asyncio.Semaphore(parallel)
    loop = asyncio.get_running_loop()
    return await asyncio.gather(*(fetch(loop, ctx, sem, u) for u in urls))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parallel", type=int, default=50)
    ap.add_argument("--cafile", required=True)
    ap.add_argument("-i", dest="input", required=True)
    a = ap.parse_args()
    with open(a.input) as f:
        urls = [x.strip() for x in f if x.strip()]
    lines = asyncio.run(run(urls, a.parallel, a.cafile))
    sys.stdout.write("".join(x + "\n" for x in lines))


if __name__ == "__main__":
    main()
