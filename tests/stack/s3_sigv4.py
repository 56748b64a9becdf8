"""moto's S3 on the local stack verifies SigV4 signatures: requests signed
with the stack's key succeed (also for keys and prefixes that need
escaping); the same requests signed with a wrong secret
key, an unknown access key or no signature at all are refused. Two
independent signers are used: botocore and curl's --aws-sigv4."""

import subprocess
import sys
import uuid

from botocore.exceptions import ClientError

import stackenv


def error_of(fn):
    """Runs fn; returns (HTTP status, AWS error code), or (200, None)."""
    try:
        fn()
        return 200, None
    except ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]


def curl(url, key, secret, method="GET", data=None):
    args = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", method,
            "--aws-sigv4", f"aws:amz:{stackenv.need('AWS_REGION')}:s3",
            "--user", f"{key}:{secret}", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"]
    if data is not None:
        args += ["--data-binary", data]
    return subprocess.run(args + [url], capture_output=True, text=True, check=True).stdout


def main():
    stackenv.load()
    c = stackenv.Checks()
    bucket = stackenv.need("BTPIPE_DATA_BUCKET")
    results = stackenv.need("BTPIPE_RESULTS_BUCKET")
    key_id, secret = stackenv.need("AWS_ACCESS_KEY_ID"), stackenv.need("AWS_SECRET_ACCESS_KEY")
    wrong = ("X" if secret[0] != "X" else "Y") + secret[1:]
    good = stackenv.client("s3")
    bad = stackenv.client("s3", secret=wrong)
    unknown = stackenv.client("s3", key="AKIAUNKNOWNKEY000000", secret=secret)
    obj = f"stack-test/{uuid.uuid4().hex}.csv"
    body = b"symbol,date,close\nAAA,2024-01-02,1.5\n"

    names = {b["Name"] for b in good.list_buckets()["Buckets"]}
    c.check({bucket, results} <= names, f"buckets {bucket} and {results} exist ({sorted(names)})")

    c.check(error_of(lambda: good.put_object(Bucket=bucket, Key=obj, Body=body)) == (200, None),
            "PutObject signed with the right key succeeds")
    got = good.get_object(Bucket=bucket, Key=obj)["Body"].read()
    c.check(got == body, "GetObject signed with the right key returns the bytes put")

    for name, fn in [
        ("GetObject", lambda: bad.get_object(Bucket=bucket, Key=obj)),
        ("PutObject", lambda: bad.put_object(Bucket=bucket, Key=obj + ".x", Body=b"no")),
        ("ListObjectsV2", lambda: bad.list_objects_v2(Bucket=bucket)),
        ("HeadObject", lambda: bad.head_object(Bucket=bucket, Key=obj)),
    ]:
        st, code = error_of(fn)
        # HEAD responses carry no body, so no error code; the status is enough.
        want_code = code in ("SignatureDoesNotMatch", "403")
        c.check(st == 403 and want_code,
                f"{name} signed with a wrong secret key is refused (got {st} {code})")
    c.check(error_of(lambda: good.head_object(Bucket=bucket, Key=obj + ".x"))[0] == 404,
            "the refused PutObject wrote nothing")

    # Keys and prefixes that need escaping: the signature is over the escaped
    # form (moto_raw_uri.py makes moto check it that way, as S3 does).
    odd = f"stack-test/{uuid.uuid4().hex}/a b+c%d=e&f \u00fc.csv"
    c.check(error_of(lambda: good.put_object(Bucket=bucket, Key=odd, Body=body)) == (200, None),
            "PutObject of a key with space, '+', '%', '=', '&' and non-ASCII succeeds")
    listed = good.list_objects_v2(Bucket=bucket, Prefix=odd.rsplit("/", 1)[0] + "/")
    c.check([o["Key"] for o in listed.get("Contents", [])] == [odd],
            "ListObjectsV2 with a 'dir/' prefix is accepted and finds that key")
    c.check(error_of(lambda: bad.list_objects_v2(Bucket=bucket, Prefix="stack-test/"))[0] == 403,
            "ListObjectsV2 with a prefix and a wrong secret key is refused")
    good.delete_object(Bucket=bucket, Key=odd)

    st, code = error_of(lambda: unknown.get_object(Bucket=bucket, Key=obj))
    c.check(st == 403 and code == "InvalidAccessKeyId",
            f"an unknown access key id is refused (got {st} {code})")

    url = f"{stackenv.need('AWS_ENDPOINT_URL')}/{bucket}/{obj}"
    c.check(curl(url, key_id, secret) == "200", "curl --aws-sigv4 with the right key: 200")
    c.check(curl(url, key_id, wrong) == "403", "curl --aws-sigv4 with a wrong secret key: 403")
    anon = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url],
                          capture_output=True, text=True, check=True).stdout
    c.check(anon == "403", f"an unsigned GET is refused (got {anon})")

    good.delete_object(Bucket=bucket, Key=obj)
    return c.done()


if __name__ == "__main__":
    sys.exit(main())
