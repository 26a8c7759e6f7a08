"""The S3 stand-in for the tests: moto's standalone `moto_server`, which speaks the S3 HTTP API, on 127.0.0.1
and a free port; boto3 reaches it by endpoint_url exactly as it reaches AWS. Stopped by its PID."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from livesystem import free_port
from vvtv.processes import die_with_parent

MOTO_SERVER = str(Path(sys.executable).parent / "moto_server")
# moto accepts any key; boto3 only needs some to sign its requests.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "vvtv-test", "AWS_SECRET_ACCESS_KEY": "vvtv-test-secret",
               "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip


@dataclass(kw_only=True)
class S3StandIn:
    process: subprocess.Popen
    endpoint_url: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_s3(log: Path) -> S3StandIn:
    port = free_port()
    process = subprocess.Popen([MOTO_SERVER, "-H", "127.0.0.1", "-p", str(port)], stdout=log.open("wb"),
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent,
                               env={**os.environ, **CREDENTIALS})  # fmt: skip
    server = S3StandIn(process=process, endpoint_url=f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(server.endpoint_url + "/moto-api/", timeout=2)
            return server
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"moto_server did not start:\n{log.read_text()}")
            time.sleep(0.1)


def create_public_bucket(endpoint_url: str, name: str) -> None:
    """A bucket whose objects anyone may read, as one behind a CDN or serving viewers directly is."""
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint_url)
    client.create_bucket(Bucket=name)
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                      "Resource": f"arn:aws:s3:::{name}/*"}]}  # fmt: skip
    client.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
