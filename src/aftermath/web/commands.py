"""``aftermath serve``: the local web dashboard (``docs/dashboard.md``)."""

from __future__ import annotations

import ipaddress
import socket
import threading
import webbrowser
from typing import Annotated

import typer

#: The default port; ``--port 0`` takes any free one.
DEFAULT_PORT = 8765


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to ``app``."""
    app.command("serve")(serve)


def is_local(host: str) -> bool:
    """Whether ``host`` binds to this machine only (a loopback address, or ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(
    host: Annotated[str, typer.Option("--host", help="address to bind (default: this machine only)")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=0, max=65535, help="port (0: any free port)")] = DEFAULT_PORT,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="do not open a web browser")] = False,
    allow_host: Annotated[list[str] | None, typer.Option(
        "--allow-host", help="a host name the page may be reached by, besides localhost (repeatable)")] = None,
) -> None:
    """Start the dashboard: pick a world, move its levers, watch it respond, compare policies."""
    import uvicorn

    from aftermath.cli import err, fail
    from aftermath.web.server import create_app

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise fail(f"--host: got {host!r}, expected an address of this machine ({exc})") from None
    sock = socket.socket(infos[0][0], socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(infos[0][4])
    except OSError as exc:
        sock.close()
        raise fail(f"--port: got {port}, expected a free port on {host} ({exc.strerror or exc}); "
                   "try --port 0") from None
    bound = sock.getsockname()[1]
    allowed = tuple(allow_host or ())
    if not is_local(host):
        allowed = (*allowed, host)
        err.print(f"[bold yellow]warning:[/] the dashboard is bound to {host}, not to this machine only: anyone who "
                  "can reach this address can run simulations on it (within the dashboard's limits). The page "
                  f"answers to the host names localhost, 127.0.0.1 and {', '.join(allowed)} only "
                  "(--allow-host adds more).", highlight=False, soft_wrap=True)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{bound}/"
    typer.echo(f"Aftermath dashboard at {url} (Ctrl+C to stop)")
    # a job's event stream stays open while the job runs: Ctrl+C waits for open requests 2 s at most
    config = uvicorn.Config(create_app(allowed_hosts=allowed), log_level="warning", access_log=False,
                            timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    if not no_browser:
        threading.Timer(0.8, lambda: webbrowser.open(url)).start()
    sock.listen(128)
    server.run(sockets=[sock])
