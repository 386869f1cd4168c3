"""Writes requests signed by botocore's SigV4 signers as raw HTTP/1.1
requests, for sigv4's tests. Run: python3 generate.py (botocore installed).
The signing time is fixed at 2026-01-01T00:30:00Z."""
import datetime
import os
import urllib.parse

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

botocore.auth.get_current_datetime = lambda: datetime.datetime(2026, 1, 1, 0, 30, 0)
CREDS = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
HERE = os.path.dirname(os.path.abspath(__file__))

CASES = [
    # name, service, method, url, headers, body, presign
    ("sts-form-post", "sts", "POST", "http://127.0.0.1:4566/",
     {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
     b"Action=GetCallerIdentity&Version=2011-06-15", False),
    ("ec2-get-query", "ec2", "GET",
     "http://127.0.0.1:4566/?Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=tag%3AName&Filter.1.Value.1=web%20a%2Bb%E2%9C%93",
     {}, b"", False),
    ("path-dots-slashes-spaces", "elasticloadbalancing", "GET",
     "http://127.0.0.1:4566/a//b/./c%20d/../%C3%BCber/", {}, b"", False),
    ("logs-json", "logs", "POST", "http://127.0.0.1:4566/",
     {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Logs_20140328.DescribeLogGroups"},
     b'{"logGroupNamePrefix": "/madang/"}', False),
    # An endpoint URL whose path holds a raw space: botocore encodes it
    # once, the wire carries %20.
    ("endpoint-path-unescaped", "ec2", "POST", "http://127.0.0.1:4566/some path/",
     {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
     b"Action=DescribeInstances&Version=2016-11-15", False),
    ("sts-presigned", "sts", "GET",
     "http://127.0.0.1:4566/?Action=GetCallerIdentity&Version=2011-06-15", {}, b"", True),
]

for name, service, method, url, headers, body, presign in CASES:
    req = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
    if presign:
        botocore.auth.SigV4QueryAuth(CREDS, service, "local", expires=300).add_auth(req)
    else:
        botocore.auth.SigV4Auth(CREDS, service, "local").add_auth(req)
    p = req.prepare()
    # On the wire the target is percent-encoded, as urllib3 sends it.
    target = urllib.parse.quote(p.url.split("127.0.0.1:4566", 1)[1], safe="/?&=%+:,;@!$'()*~")
    lines = [f"{method} {target} HTTP/1.1"]
    if "host" not in {k.lower() for k in p.headers}:
        lines.append("Host: 127.0.0.1:4566")
    for k, v in p.headers.items():
        lines.append(f"{k}: {v}")
    data = p.body or b""
    if isinstance(data, str):
        data = data.encode()
    if data and "content-length" not in {k.lower() for k in p.headers}:
        lines.append(f"Content-Length: {len(data)}")
    with open(os.path.join(HERE, name + ".http"), "wb") as f:
        f.write(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
