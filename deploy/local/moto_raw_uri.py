"""Run moto's server with SigV4 checks computed over the request as sent.

moto verifies a signature by rebuilding the canonical request from
werkzeug's `request.url`, which (werkzeug 3) is an IRI: percent-escapes in
the path and query come back decoded ("prefix=a%2F" becomes "prefix=a/",
"%C3%BC" becomes "ü"). Every correctly signed request whose key or query
needs escaping -- any ListObjectsV2 with a "dir/" prefix, keys with spaces,
'+', '=', non-ASCII -- then fails with SignatureDoesNotMatch, for boto3 as
much as for btpipe. Real S3 signs over the escaped form.

This wrapper keeps moto as it is but hands its signature check the raw
request target (RAW_URI / REQUEST_URI from the WSGI environ). Use it in
place of `python -m moto.server`, with the same arguments:

    python deploy/local/moto_raw_uri.py -H 127.0.0.1 -p 15000
"""

import sys

from moto.core import responses as _r

_orig_setup = _r.BaseResponse.setup_class
_orig_auth = _r.ActionAuthenticatorMixin._authenticate_and_authorize_action


def _setup_class(self, request, full_url, headers, use_raw_body=False):
    _orig_setup(self, request, full_url, headers, use_raw_body)
    env = getattr(request, "environ", None) or {}
    raw = env.get("RAW_URI") or env.get("REQUEST_URI")
    self._btpipe_raw_uri = raw if raw and raw.startswith("/") else None


def _auth(self, iam_request_cls, resource="*"):
    raw = getattr(self, "_btpipe_raw_uri", None)
    if not raw:
        return _orig_auth(self, iam_request_cls, resource)
    saved = self.uri
    self.uri = raw  # only path and query are read from it
    try:
        return _orig_auth(self, iam_request_cls, resource)
    finally:
        self.uri = saved


_r.BaseResponse.setup_class = _setup_class
_r.ActionAuthenticatorMixin._authenticate_and_authorize_action = _auth

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main(sys.argv[1:]))
