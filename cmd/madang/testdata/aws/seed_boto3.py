"""Seed steps with boto3: two instances behind a target group and a load
balancer, both healthy and serving, one stopped and out of rotation with
its reason while the load balancer still answers.

Reads AWS_ENDPOINT_URL, the credentials and AWS_DEFAULT_REGION from the
environment (madang aws-env), PORT for the listener.
"""
import os
import sys
import time
import urllib.request

import boto3
import botocore.exceptions

port = int(os.environ["PORT"])
session = boto3.session.Session()
# endpoint_url is given explicitly: boto3 releases before 1.28 (Debian 12
# has 1.26) do not read AWS_ENDPOINT_URL.
endpoint = os.environ["AWS_ENDPOINT_URL"]
ec2 = session.client("ec2", endpoint_url=endpoint)
elb = session.client("elbv2", endpoint_url=endpoint)
sts = session.client("sts", endpoint_url=endpoint)


def wait_for(what, cond, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return
        time.sleep(0.2)
    sys.exit(f"timed out waiting for {what}")


print("caller", sts.get_caller_identity()["Arn"])
image = ec2.describe_images(Owners=["self"], Filters=[{"Name": "name", "Values": ["hello"]}])["Images"][0]["ImageId"]
run = ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, InstanceType="t3.micro",
                        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "boto3-seed"}]}])
ids = [i["InstanceId"] for i in run["Instances"]]
try:
    def running():
        r = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["boto3-seed"]},
                                            {"Name": "instance-state-name", "Values": ["running"]}])
        return sum(len(x["Instances"]) for x in r["Reservations"]) == 2
    wait_for("both instances running", running)

    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    tg = elb.create_target_group(Name="boto3-tg", Protocol="HTTP", Port=3000, VpcId=vpc, HealthCheckPath="/health",
                                 HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=2,
                                 HealthyThresholdCount=2, UnhealthyThresholdCount=2)["TargetGroups"][0]["TargetGroupArn"]
    elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "1"}])
    elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": i} for i in ids])
    lb = elb.create_load_balancer(Name="boto3-lb")["LoadBalancers"][0]
    elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=port,
                        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])

    def states():
        d = elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
        return {x["Target"]["Id"]: x["TargetHealth"] for x in d}
    wait_for("both targets healthy", lambda: all(states().get(i, {}).get("State") == "healthy" for i in ids))
    url = f"http://{lb['DNSName']}:{port}/"
    assert b"Hello" in urllib.request.urlopen(url, timeout=5).read()

    ec2.stop_instances(InstanceIds=ids[:1])
    wait_for("the stopped instance to leave rotation", lambda: states()[ids[0]]["State"] != "healthy")
    h = states()[ids[0]]
    print("stopped target:", h["State"], h.get("Reason"), h.get("Description"))
    for _ in range(20):
        assert b"Hello" in urllib.request.urlopen(url, timeout=5).read()

    try:
        ec2.describe_instances(InstanceIds=["i-0123456789abcdef0"])
        sys.exit("describe_instances of a missing id succeeded")
    except botocore.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == "InvalidInstanceID.NotFound", e.response
    try:
        elb.create_load_balancer(Name="boto3-lb")
        sys.exit("a second load balancer of the same name was created")
    except elb.exceptions.DuplicateLoadBalancerNameException:
        pass
    print("seed steps passed")
finally:
    ec2.terminate_instances(InstanceIds=ids)
