"""Reads a StartLiveTail session with boto3: prints "started" with the
session's log groups once sessionStart arrives, then each event of the
sessionUpdate events as JSON, until it has printed as many as argv[3]."""
import json
import sys

import boto3
from botocore.config import Config

endpoint, group, want = sys.argv[1], sys.argv[2], int(sys.argv[3])
client = boto3.client(
    "logs", endpoint_url=endpoint, region_name="local-1",
    aws_access_key_id="AKIAMADANGTAIL000001", aws_secret_access_key="tail-secret",
    # StartLiveTail goes to "stream-" + the host otherwise.
    config=Config(inject_host_prefix=False, retries={"max_attempts": 1}),
)
stream = client.start_live_tail(logGroupIdentifiers=[group], logEventFilterPattern="paid")["responseStream"]
got = 0
for event in stream:
    if "sessionStart" in event:
        print("started", json.dumps(event["sessionStart"]["logGroupIdentifiers"]), flush=True)
    elif "sessionUpdate" in event:
        for e in event["sessionUpdate"]["sessionResults"]:
            print(json.dumps(e), flush=True)
            got += 1
        if got >= want:
            break
stream.close()
