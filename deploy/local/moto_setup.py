"""Provision the local AWS endpoint (moto server) for btpipe.

Run once by stack-up.sh right after moto starts with an empty state. It
  1. switches moto's Batch to its Docker-free backend (jobs succeed at once),
  2. creates an IAM user with an allow-all policy and an access key for it,
  3. turns on moto's IAM authentication, so from then on every S3 request
     must carry a valid SigV4 signature made with that key,
  4. creates the data and results buckets and the Batch compute environment,
     job queue and job definition, using the new key (which proves it works),
and prints the resulting settings as sourceable `export KEY=value` lines.
"""

import argparse
import json
import sys
import urllib.request

import boto3
from botocore.config import Config


def moto_api(endpoint, path, body, ctype):
    # moto's control API is plain HTTP and not subject to IAM checks; the
    # content type matters: a form type would hide the body from moto.
    req = urllib.request.Request(endpoint + path, data=body, method="POST",
                                 headers={"Content-Type": ctype})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read()


def client(service, endpoint, region, key=None, secret=None):
    cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2})
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=key or "bootstrap",
        aws_secret_access_key=secret or "bootstrap",
        config=cfg,
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--data-bucket", default="btpipe-data")
    ap.add_argument("--results-bucket", default="btpipe-results")
    ap.add_argument("--prefix", default="btpipe")
    a = ap.parse_args()
    ep, region, p = a.endpoint, a.region, a.prefix

    moto_api(ep, "/moto-api/config",
             json.dumps({"batch": {"use_docker": False}}).encode(),
             "application/json")

    # While moto still accepts unauthenticated calls, make the one identity
    # every btpipe process will sign with.
    iam = client("iam", ep, region)
    iam.create_user(UserName=f"{p}-local")
    iam.put_user_policy(
        UserName=f"{p}-local",
        PolicyName="allow-all",
        PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }),
    )
    k = iam.create_access_key(UserName=f"{p}-local")["AccessKey"]
    key, secret = k["AccessKeyId"], k["SecretAccessKey"]
    role = iam.create_role(
        RoleName=f"{p}-batch-service",
        AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                           "Principal": {"Service": "batch.amazonaws.com"}}],
        }),
    )["Role"]["Arn"]

    # From here on moto verifies signatures: 0 more free calls.
    moto_api(ep, "/moto-api/reset-auth", b"0", "text/plain")

    s3 = client("s3", ep, region, key, secret)
    for b in (a.data_bucket, a.results_bucket):
        s3.create_bucket(Bucket=b)

    batch = client("batch", ep, region, key, secret)
    ce = batch.create_compute_environment(
        computeEnvironmentName=f"{p}-local",
        type="UNMANAGED",
        state="ENABLED",
        serviceRole=role,
    )["computeEnvironmentArn"]
    queue = f"{p}-jobs"
    batch.create_job_queue(
        jobQueueName=queue,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce}],
    )
    jobdef = f"{p}-runner"
    batch.register_job_definition(
        jobDefinitionName=jobdef,
        type="container",
        containerProperties={
            "image": f"{p}-runner:local",
            "command": ["btpipe-runner", "job"],
            "resourceRequirements": [
                {"type": "VCPU", "value": "1"},
                {"type": "MEMORY", "value": "1024"},
            ],
        },
    )

    out = {
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "BTPIPE_DATA_BUCKET": a.data_bucket,
        "BTPIPE_RESULTS_BUCKET": a.results_bucket,
        "BTPIPE_BATCH_COMPUTE_ENVIRONMENT": f"{p}-local",
        "BTPIPE_BATCH_JOB_QUEUE": queue,
        "BTPIPE_BATCH_JOB_DEFINITION": jobdef,
    }
    for k_, v in out.items():
        print(f"export {k_}={v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
