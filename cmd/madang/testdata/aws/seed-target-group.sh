#!/usr/bin/env bash
# Seed steps with the aws CLI: launch two instances from madang's image,
# create a target group and register them, put a load balancer in front,
# wait for both targets to be healthy and serve, stop one and see it leave
# rotation with its reason while the load balancer still answers.
#
# Needs: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
# AWS_DEFAULT_REGION (eval "$(madang aws-env)"), PORT (a free port for the
# listener), and an image named hello (a stack with the sample app).
set -euo pipefail
: "${PORT:?give the listener port in PORT}"
: "${AWS_ENDPOINT_URL:?eval \"\$(madang aws-env)\" first}"

# The endpoint is given on every call: aws CLI releases before 2.13 (Debian
# 12 has 2.9) do not read AWS_ENDPOINT_URL.
aws() { command aws --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }

# wait_for DESCRIPTION COMMAND...: run COMMAND until it succeeds (40 s at most).
wait_for() {
	local what=$1 end=$((SECONDS + 40))
	shift
	while [ "$SECONDS" -lt "$end" ]; do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.2
	done
	echo "timed out waiting for $what" >&2
	return 1
}

aws sts get-caller-identity --output text

image=$(aws ec2 describe-images --owners self --filters Name=name,Values=hello --query 'Images[0].ImageId' --output text)
echo "image $image"
ids=$(aws ec2 run-instances --image-id "$image" --count 2 --instance-type t3.micro \
	--tag-specifications 'ResourceType=instance,Tags=[{Key=Name,Value=cli-seed}]' \
	--query 'Instances[].InstanceId' --output text)
read -r a b <<<"$ids"
echo "instances $a $b"
trap 'aws ec2 terminate-instances --instance-ids $a $b >/dev/null' EXIT

running() {
	[ "$(aws ec2 describe-instances --filters Name=tag:Name,Values=cli-seed Name=instance-state-name,Values=running \
		--query 'length(Reservations[].Instances[])' --output text)" = 2 ]
}
wait_for "both instances running" running

vpc=$(aws ec2 describe-vpcs --filters Name=is-default,Values=true --query 'Vpcs[0].VpcId' --output text)
subnets=$(aws ec2 describe-subnets --filters Name=vpc-id,Values="$vpc" --query 'Subnets[].SubnetId' --output text)
tg=$(aws elbv2 create-target-group --name cli-tg --protocol HTTP --port 3000 --vpc-id "$vpc" \
	--health-check-path /health --health-check-interval-seconds 5 --health-check-timeout-seconds 2 \
	--healthy-threshold-count 2 --unhealthy-threshold-count 2 \
	--query 'TargetGroups[0].TargetGroupArn' --output text)
echo "target group $tg"
aws elbv2 modify-target-group-attributes --target-group-arn "$tg" \
	--attributes Key=deregistration_delay.timeout_seconds,Value=1 >/dev/null
aws elbv2 register-targets --target-group-arn "$tg" --targets Id="$a" Id="$b"

# shellcheck disable=SC2086 # one word per subnet
lb=$(aws elbv2 create-load-balancer --name cli-lb --subnets $subnets --query 'LoadBalancers[0].LoadBalancerArn' --output text)
dns=$(aws elbv2 describe-load-balancers --load-balancer-arns "$lb" --query 'LoadBalancers[0].DNSName' --output text)
aws elbv2 create-listener --load-balancer-arn "$lb" --protocol HTTP --port "$PORT" \
	--default-actions Type=forward,TargetGroupArn="$tg" >/dev/null

state_of() {
	aws elbv2 describe-target-health --target-group-arn "$tg" --targets Id="$1" \
		--query 'TargetHealthDescriptions[0].TargetHealth.State' --output text
}
both_healthy() { [ "$(state_of "$a")" = healthy ] && [ "$(state_of "$b")" = healthy ]; }
wait_for "both targets healthy" both_healthy
aws elbv2 describe-target-health --target-group-arn "$tg" --output table

serves() { curl -fsS "http://$dns:$PORT/" | grep -q Hello; }
serves

aws ec2 stop-instances --instance-ids "$a" --output text >/dev/null
left() { [ "$(state_of "$a")" != healthy ]; }
wait_for "the stopped instance to leave rotation" left
echo "stopped target: $(aws elbv2 describe-target-health --target-group-arn "$tg" --targets Id="$a" \
	--query 'TargetHealthDescriptions[0].TargetHealth.[State,Reason,Description]' --output text)"
for _ in $(seq 20); do serves; done
echo "load balancer still serves with $a stopped"

# A wrong id is AWS's error, with a non-zero exit.
if aws ec2 describe-instances --instance-ids i-0123456789abcdef0 2>/tmp/err.$$; then
	echo "describe-instances of a missing id succeeded" >&2
	exit 1
fi
grep -q InvalidInstanceID.NotFound /tmp/err.$$ && rm -f /tmp/err.$$
echo "seed steps passed"
