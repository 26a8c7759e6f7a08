"""A real NGINX with the RTMP module on 127.0.0.1, in a temp folder, started and stopped by PID."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from livesystem import free_port

MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"

CONFIG = """
load_module {module};
daemon off;
# One process as the invoking user: the worker can write in a private temp folder.
master_process off;
worker_processes 1;
error_log {root}/error.log info;
pid {root}/nginx.pid;
events {{ worker_connections 64; }}
rtmp {{
    server {{
        listen 127.0.0.1:{port};
        application live {{
            live on;
            allow publish 127.0.0.1;
            deny publish all;
            record all;
            record_path {root}/recordings;
        }}
    }}
}}
"""


@dataclass(kw_only=True)
class NginxRtmp:
    root: Path
    port: int
    process: subprocess.Popen

    def url(self, stream: str) -> str:
        return f"rtmp://127.0.0.1:{self.port}/live/{stream}"

    def recording(self, stream: str) -> Path:
        return self.root / "recordings" / f"{stream}.flv"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finishes the recordings
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_nginx_rtmp(root: Path) -> NginxRtmp:
    (root / "recordings").mkdir(parents=True)
    port = free_port()
    config = root / "nginx.conf"
    config.write_text(CONFIG.format(module=MODULE, root=root, port=port))
    process = subprocess.Popen(
        ["nginx", "-p", str(root), "-c", str(config), "-e", str(root / "error.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return NginxRtmp(root=root, port=port, process=process)
        except OSError:
            if process.poll() is not None:
                raise AssertionError(f"nginx did not start: {process.stderr.read().decode()}") from None
            time.sleep(0.1)
    process.kill()
    raise AssertionError("nginx did not listen within 10 s")
