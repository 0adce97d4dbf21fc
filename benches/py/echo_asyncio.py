"""The echo server of the cross-process echo benchmark, in Python's asyncio streams.

This is the asyncio program that tulip's `tulip-streams` server mirrors line for line:
`asyncio.start_server`, and per connection `reader.read` / `writer.write` /
`await writer.drain()` until end of stream. With `--uvloop` the same program runs on
uvloop's event loop instead of asyncio's. With `--protocol` the server is asyncio's
transports-and-protocols form instead (`loop.create_server` with a `Protocol` whose
`data_received` writes what came to its transport), which tulip's `tulip-protocol` server
mirrors.

    python3 benches/py/echo_asyncio.py [--port 0] [--uvloop] [--protocol]

It prints `port N` once it listens, and exits when its standard input reaches end of
file (the benchmark closes it), so a crashed benchmark never leaves it running. When
uvloop is asked for but not installed it prints `na ...` and exits.
"""

import argparse
import asyncio
import os
import sys
import threading

READ_SIZE = 4096


async def handle(reader, writer):
    try:
        while True:
            data = await reader.read(READ_SIZE)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


class EchoProtocol(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


async def serve(host, port, protocol=False):
    if protocol:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(EchoProtocol, host, port)
    else:
        server = await asyncio.start_server(handle, host, port)
    print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def exit_at_eof():
    sys.stdin.read()
    os._exit(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop's loop")
    parser.add_argument("--protocol", action="store_true", help="a Protocol server, not streams")
    args = parser.parse_args()
    threading.Thread(target=exit_at_eof, daemon=True).start()
    if args.uvloop:
        try:
            import uvloop
        except ImportError:
            print("na python3 has no uvloop module (pip install uvloop)", flush=True)
            return
        if hasattr(uvloop, "run"):
            uvloop.run(serve(args.host, args.port, args.protocol))
        else:
            uvloop.install()
            asyncio.run(serve(args.host, args.port, args.protocol))
    else:
        asyncio.run(serve(args.host, args.port, args.protocol))


if __name__ == "__main__":
    main()
