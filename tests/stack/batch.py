"""moto's Batch on the local stack serves the compute environment, job queue
and job definition that stack-up.sh made (names from .stack/env), and runs a
submitted job to SUCCEEDED without Docker."""

import sys
import time

import stackenv


def main():
    stackenv.load()
    c = stackenv.Checks()
    queue = stackenv.need("BTPIPE_BATCH_JOB_QUEUE")
    jobdef = stackenv.need("BTPIPE_BATCH_JOB_DEFINITION")
    b = stackenv.client("batch")

    qs = b.describe_job_queues(jobQueues=[queue])["jobQueues"]
    c.check(len(qs) == 1 and qs[0]["jobQueueName"] == queue, f"DescribeJobQueues returns {queue}")
    c.check(qs and qs[0]["state"] == "ENABLED", f"queue {queue} is ENABLED")
    ce_arn = qs[0]["computeEnvironmentOrder"][0]["computeEnvironment"] if qs else ""
    ces = b.describe_compute_environments(computeEnvironments=[ce_arn])["computeEnvironments"]
    c.check(len(ces) == 1 and ces[0]["state"] == "ENABLED",
            f"the queue's compute environment {ce_arn} exists and is ENABLED")

    defs = b.describe_job_definitions(jobDefinitionName=jobdef, status="ACTIVE")["jobDefinitions"]
    c.check(len(defs) >= 1, f"job definition {jobdef} is ACTIVE")

    job = b.submit_job(jobName="stack-test", jobQueue=queue, jobDefinition=jobdef,
                       containerOverrides={"environment": [{"name": "X", "value": "1"}]})
    status, deadline = "", time.time() + 60
    while time.time() < deadline:
        status = b.describe_jobs(jobs=[job["jobId"]])["jobs"][0]["status"]
        if status in ("SUCCEEDED", "FAILED"):
            break
        time.sleep(0.5)
    c.check(status == "SUCCEEDED", f"a submitted job reaches SUCCEEDED without Docker (got {status})")

    bad = stackenv.client("batch", secret="wrong-secret-key")
    try:
        bad.describe_job_queues(jobQueues=[queue])
        refused = False
    except Exception:
        refused = True
    c.check(refused, "Batch refuses a request signed with a wrong secret key")
    return c.done()


if __name__ == "__main__":
    sys.exit(main())
