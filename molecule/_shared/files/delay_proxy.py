"""A TCP proxy that adds latency (tc netem is not available on these kernels).

delay_proxy.py LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT DELAY_SECONDS
Every chunk is forwarded DELAY seconds after it arrived, in order, per direction:
a request/response round trip costs 2 x DELAY, pipelined data is not serialised.
Daemonises once listening. Only ever connects to the target it was given.
"""

import asyncio
import os
import signal
import sys
import time

LISTEN_HOST, LISTEN_PORT, TARGET_HOST, TARGET_PORT, DELAY = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])


async def pump(reader, writer):
    queue = asyncio.Queue()

    async def read():
        while True:
            data = await reader.read(65536)
            await queue.put((time.monotonic() + DELAY, data))
            if not data:
                return

    async def write():
        while True:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                writer.close()
                return
            writer.write(data)
            await writer.drain()

    await asyncio.gather(read(), write(), return_exceptions=True)


async def handle(client_reader, client_writer):
    try:
        target_reader, target_writer = await asyncio.open_connection(TARGET_HOST, TARGET_PORT)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(pump(client_reader, target_writer), pump(target_reader, client_writer), return_exceptions=True)


async def main(sock):
    server = await asyncio.start_server(handle, sock=sock)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    import socket

    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((LISTEN_HOST, LISTEN_PORT))
    listener.listen(128)
    # The SSH session ends when the parent exits; its SIGHUP must not reach the child
    # in the moment before setsid() (a race that killed the listener in CI once).
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    if os.fork():
        os._exit(0)
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    asyncio.run(main(listener))
