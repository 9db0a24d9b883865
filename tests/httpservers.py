"""Real HTTP servers on 127.0.0.1 for tests, standing in for publishers good and bad.

``serve_routes`` runs a ThreadingHTTPServer in a thread and yields its base URL (a ``str`` that
also records what the server saw). Route values are either ``(status, headers, body)`` or a
function that writes the whole response itself; the factories below build the hostile ones.
``guard_connections`` and ``fake_dns`` patch the network edge so that a test fails the moment
anything tries to reach an address other than 127.0.0.1.
"""

from __future__ import annotations

import functools
import shutil
import socket
import ssl
import subprocess
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from pathlib import Path

import pytest

LOOPBACK = "127.0.0.1"
MiB = 1024 * 1024

Handler = Callable[[BaseHTTPRequestHandler], None]
Route = Handler | tuple[int, dict[str, str], bytes | str]


@dataclass
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class _Record:
    requests: list[SeenRequest] = field(default_factory=list)
    connections: int = 0
    server_names: list[str | None] = field(default_factory=list)


class Served(str):
    """A running server's base URL, e.g. ``http://127.0.0.1:40211``, plus what it has seen."""

    _record: _Record
    port: int

    def __new__(cls, url: str, port: int, record: _Record) -> Served:
        served = super().__new__(cls, url)
        served.port = port
        served._record = record
        return served

    @property
    def requests(self) -> list[SeenRequest]:
        return self._record.requests

    @property
    def connections(self) -> int:
        """TCP connections accepted so far."""
        return self._record.connections

    @property
    def server_names(self) -> list[str | None]:
        """TLS SNI names clients sent."""
        return self._record.server_names

    def hits(self, path: str) -> int:
        return sum(1 for seen in self.requests if seen.path == path)


def send(request: BaseHTTPRequestHandler, status: int, headers: dict, body: bytes | str) -> None:
    """Write a complete response with a Content-Length."""
    data = body.encode() if isinstance(body, str) else body
    request.send_response(status)
    for name, value in headers.items():
        request.send_header(name, value)
    request.send_header("Content-Length", str(len(data)))
    request.end_headers()
    request.wfile.write(data)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    record: _Record

    def verify_request(self, request: object, client_address: object) -> bool:
        self.record.connections += 1
        return True

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients in these tests hang up on purpose; only report what is not a hang-up.
        import sys

        if not isinstance(sys.exc_info()[1], (OSError, ssl.SSLError)):
            super().handle_error(request, client_address)


def _handler_class(routes: dict[str, Route], record: _Record) -> type[BaseHTTPRequestHandler]:
    class RouteHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 10
        disable_nagle_algorithm = True  # headers and body go out in separate writes

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            record.requests.append(SeenRequest("GET", self.path, dict(self.headers.items())))
            route = routes.get(path) or routes.get("*") or (404, {}, b"not found")
            if callable(route):
                route(self)
            else:
                send(self, *route)

        def log_message(self, *args: object) -> None:
            pass

    return RouteHandler


@contextmanager
def serve_routes(
    routes: dict[str, Route], *, tls: tuple[Path, Path] | None = None
) -> Iterator[Served]:
    """Serve ``routes`` (path -> route; "*" catches the rest) on 127.0.0.1 until the block ends.

    ``tls=(certfile, keyfile)`` serves HTTPS and records the SNI name of each handshake.
    """
    record = _Record()
    server = _QuietServer((LOOPBACK, 0), _handler_class(routes, record))
    server.record = record
    scheme = "http"
    if tls is not None:
        server.socket = _tls_context(tls, record).wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False
        )
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    port = server.server_address[1]
    try:
        yield Served(f"{scheme}://{LOOPBACK}:{port}", port, record)
    finally:
        server.shutdown()
        server.server_close()


def _tls_context(tls: tuple[Path, Path], record: _Record) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(tls[0]), str(tls[1]))
    context.sni_callback = lambda _sock, name, _ctx: record.server_names.append(name)
    return context


# --- hostile routes ------------------------------------------------------------------------------


def redirect(location: str, status: int = 302) -> Route:
    return (status, {"Location": location}, b"")


def drip(body: bytes, interval: float, *, in_headers: bool = False) -> Handler:
    """Send ``body`` one byte per ``interval`` seconds, in the body or inside a header line."""

    def handler(request: BaseHTTPRequestHandler) -> None:
        out = request.wfile
        if in_headers:
            out.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        else:
            headers = f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n"
            out.write(b"HTTP/1.1 200 OK\r\n" + headers.encode())
        for byte in body:
            out.write(bytes([byte]))
            out.flush()
            time.sleep(interval)
        request.close_connection = True

    return handler


def stream(chunks: Callable[[], Iterator[bytes]], headers: dict[str, str]) -> Handler:
    """A close-delimited body (no Content-Length): the client cannot know the size up front."""

    def handler(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        for name, value in {**headers, "Connection": "close"}.items():
            request.send_header(name, value)
        request.end_headers()
        for chunk in chunks():
            request.wfile.write(chunk)
        request.close_connection = True

    return handler


def endless(content_type: str = "application/rss+xml", chunk: int = 64 * 1024) -> Handler:
    """A body that never ends."""
    return stream(lambda: _repeat(b"<item/>" * (chunk // 7)), {"Content-Type": content_type})


def lying_length(length: int, content_type: str = "application/rss+xml") -> Handler:
    """Declares a huge Content-Length, sends a few bytes, then waits for the client to give up."""

    def handler(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(length))
        request.end_headers()
        request.wfile.write(b"<rss>")
        request.wfile.flush()
        request.rfile.read(1)  # returns when the client closes
        request.close_connection = True

    return handler


def compression_bomb(encoding: str = "gzip", decoded_bytes: int = 1024 * MiB) -> Handler:
    """``decoded_bytes`` of zeros compressed ~1000:1, generated lazily as it is sent.

    A deflate stream of zeros, flushed so that every 1 MiB block compresses to the same bytes,
    is just one block repeated; ~1 MB on the wire inflates to 1 GiB.
    """
    header = {"gzip": b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff", "deflate": b"\x78\xda"}

    def chunks() -> Iterator[bytes]:
        yield header[encoding]
        for _ in range(decoded_bytes // (64 * MiB)):
            yield _zero_block() * 64  # ~66 KB per write, 64 MiB once inflated

    headers = {"Content-Type": "application/rss+xml", "Content-Encoding": encoding}
    return stream(chunks, headers)


@functools.cache
def _zero_block() -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(bytes(MiB)) + compressor.flush(zlib.Z_FULL_FLUSH)


def _repeat(chunk: bytes) -> Iterator[bytes]:
    while True:
        yield chunk


# --- servers that are not HTTP at all ------------------------------------------------------------


@contextmanager
def silent_server() -> Iterator[str]:
    """Accepts TCP connections (the kernel does, from the backlog) and never says a word."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((LOOPBACK, 0))
    listener.listen(16)
    try:
        yield f"http://{LOOPBACK}:{listener.getsockname()[1]}"
    finally:
        listener.close()


@contextmanager
def serve_raw(payload: bytes) -> Iterator[str]:
    """Answers every connection with ``payload`` verbatim, then hangs up."""
    listener = socket.create_server((LOOPBACK, 0))
    listener.settimeout(0.05)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(payload)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        listener.close()


def closed_port() -> int:
    """A loopback port that nothing listens on (connections are refused)."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def self_signed_cert(directory: Path, hostname: str) -> tuple[Path, Path]:
    """A throwaway certificate and key for ``hostname``, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = directory / f"{hostname}.crt", directory / f"{hostname}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", f"/CN={hostname}",
         "-addext", f"subjectAltName=DNS:{hostname}", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


# --- the network edge ----------------------------------------------------------------------------


def guard_connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Fail the test on any attempt to connect anywhere but 127.0.0.1; return the attempts
    made through a socket, each recorded before it is judged, so that even a failure something
    swallowed still shows in the list."""
    attempts: list[tuple] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_create = socket.create_connection

    def check(address: object) -> None:
        host = address[0] if isinstance(address, tuple) else address
        if host != LOOPBACK:
            pytest.fail(f"a connection to {address!r} was attempted")

    def connect(self: socket.socket, address: object) -> None:
        attempts.append(address)
        check(address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        attempts.append(address)
        check(address)
        return real_connect_ex(self, address)

    def create_connection(address: tuple, *args: object, **kwargs: object) -> socket.socket:
        check(address)
        return real_create(address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    return attempts


Answer = list[str] | Exception | Callable[[], list[str]]


def fake_dns(monkeypatch: pytest.MonkeyPatch, table: dict[str, Answer]) -> list[str]:
    """Answer getaddrinfo from ``table``; IP literals pass through; any other name fails the test.

    Returns the list of names looked up, in order (literals included).
    """
    lookups: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: object, *args: object, **kwargs: object) -> list:
        lookups.append(host)
        if _is_literal(host):
            return real(host, port, *args, **kwargs)
        if host not in table:
            pytest.fail(f"unexpected DNS lookup of {host!r}")
        answer = table[host]
        if isinstance(answer, Exception):
            raise answer
        addresses = answer() if callable(answer) else answer
        return [_addrinfo(address, int(port or 0)) for address in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


def _is_literal(host: str) -> bool:
    try:
        ip_address(host)
    except ValueError:
        return False
    return True


def _addrinfo(address: str, port: int) -> tuple:
    if ":" in address:
        return (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
