"""Shared helpers for the stack's Python tests: settings from the environment
(or from .stack/env when the caller did not source it) and boto3 clients."""

import os
import sys

import boto3
from botocore.config import Config

ROOT = os.environ.get("BTPIPE_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))


def load():
    if os.environ.get("AWS_ENDPOINT_URL") and os.environ.get("AWS_SECRET_ACCESS_KEY"):
        return
    path = os.path.join(os.environ.get("BTPIPE_STACK_DIR") or os.path.join(ROOT, ".stack"), "env")
    if not os.path.exists(path):
        sys.exit(f"FAIL: no {path}: start the stack with deploy/local/stack-up.sh")
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("export ") and "=" in line:
                k, v = line[len("export "):].split("=", 1)
                os.environ[k] = v


def need(name):
    v = os.environ.get(name)
    if not v:
        sys.exit(f"FAIL: {name} is not set (source .stack/env)")
    return v


def client(service, key=None, secret=None):
    # No retries: a refused request must surface as the refusal itself.
    return boto3.client(
        service,
        endpoint_url=need("AWS_ENDPOINT_URL"),
        region_name=need("AWS_REGION"),
        aws_access_key_id=key or need("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=secret or need("AWS_SECRET_ACCESS_KEY"),
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


class Checks:
    """Counts checks so the script ends with a 'N passed, N failed' line."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
            print(f"ok: {what}")
        else:
            self.failed += 1
            print(f"FAIL: {what}")

    def done(self):
        print(f"{self.passed} passed, {self.failed} failed")
        return 1 if self.failed or not self.passed else 0
