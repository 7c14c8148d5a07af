"""A TCP proxy on loopback for transfer tests: forwards at a fixed rate each way (a slow link),
or closes the connection after so many bytes of the answer (a cut one)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

CHUNK = 16 * 1024


class Proxy:
    """`Proxy(port, rate=1_000_000)` forwards 127.0.0.1:<proxy.port> to 127.0.0.1:<port> at
    `rate` bytes per second in each direction; `cut_after=n` closes both sides once n bytes of
    the server's answer have passed. Use as a context manager."""

    def __init__(self, target_port: int, *, rate: float | None = None, cut_after: int | None = None):
        self.target_port, self.rate, self.cut_after = target_port, rate, cut_after
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._sockets: list[socket.socket] = []
        self._closed = False

    def __enter__(self) -> Proxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._closed = True
        for s in [self._listener, *self._sockets]:
            with contextlib.suppress(OSError):
                s.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, None), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, self.cut_after), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, cut_after: int | None) -> None:
        sent, started = 0, time.monotonic()
        try:
            while data := src.recv(CHUNK):
                if cut_after is not None and sent + len(data) >= cut_after:
                    dst.sendall(data[: cut_after - sent])
                    break
                dst.sendall(data)
                sent += len(data)
                if self.rate:  # hold the average at `rate`: sleep until these bytes are "due"
                    delay = started + sent / self.rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
        except OSError:
            pass
        finally:
            # Closed, not only shut down: more bytes from either peer then get a reset, as they
            # would from a dead server, instead of filling a window nobody reads.
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
