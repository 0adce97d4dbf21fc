"""The echo server of the cross-process echo benchmark, in Python's asyncio streams.

This is the asyncio program that tulip's `tulip-streams` server mirrors line for line:
`asyncio.start_server`, and per connection `reader.read` / `writer.write` /
`await writer.drain()` until end of stream. With `--uvloop` the same program runs on
uvloop's event loop instead of asyncio's.

    python3 benches/py/echo_asyncio.py [--port 0] [--uvloop]

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


async def serve(host, port):
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
    args = parser.parse_args()
    threading.Thread(target=exit_at_eof, daemon=True).start()
    if args.uvloop:
        try:
            import uvloop
        except ImportError:
            print("na python3 has no uvloop module (pip install uvloop)", flush=True)
            return
        if hasattr(uvloop, "run"):
            uvloop.run(serve(args.host, args.port))
        else:
            uvloop.install()
            asyncio.run(serve(args.host, args.port))
    else:
        asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
