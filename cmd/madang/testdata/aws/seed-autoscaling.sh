#!/usr/bin/env bash
# Seed steps with the aws CLI: a launch template from madang's image, an
# Auto Scaling group of it behind a target group with ELB health checks,
# its instances InService and healthy, a scaling activity that explains
# each launch; then an alarm on a metric the script sends, watched until
# it fires.
#
# Needs the environment of seed-target-group.sh.
set -euo pipefail
: "${PORT:?give the listener port in PORT}"
: "${AWS_ENDPOINT_URL:?eval \"\$(madang aws-env)\" first}"
aws() { command aws --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }

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

image=$(aws ec2 describe-images --owners self --filters Name=name,Values=hello --query 'Images[0].ImageId' --output text)
aws ec2 create-launch-template --launch-template-name cli-lt \
	--launch-template-data "{\"ImageId\":\"$image\",\"InstanceType\":\"t3.micro\"}" \
	--query 'LaunchTemplate.[LaunchTemplateId,LatestVersionNumber]' --output text

tg=$(aws elbv2 create-target-group --name cli-asg-tg --protocol HTTP --port 3000 \
	--health-check-path /health --health-check-interval-seconds 5 --health-check-timeout-seconds 2 \
	--healthy-threshold-count 2 --unhealthy-threshold-count 2 --query 'TargetGroups[0].TargetGroupArn' --output text)
aws elbv2 modify-target-group-attributes --target-group-arn "$tg" \
	--attributes Key=deregistration_delay.timeout_seconds,Value=1 >/dev/null
lb=$(aws elbv2 create-load-balancer --name cli-asg-lb --query 'LoadBalancers[0].LoadBalancerArn' --output text)
aws elbv2 create-listener --load-balancer-arn "$lb" --protocol HTTP --port "$PORT" \
	--default-actions Type=forward,TargetGroupArn="$tg" >/dev/null

zones=$(aws ec2 describe-availability-zones --query 'AvailabilityZones[0:2].ZoneName' --output text)
# shellcheck disable=SC2086 # one word per zone
aws autoscaling create-auto-scaling-group --auto-scaling-group-name cli-asg \
	--launch-template LaunchTemplateName=cli-lt,Version='$Latest' --min-size 1 --max-size 3 --desired-capacity 2 \
	--availability-zones $zones --target-group-arns "$tg" --health-check-type ELB --health-check-grace-period 30
trap 'aws autoscaling delete-auto-scaling-group --auto-scaling-group-name cli-asg --force-delete >/dev/null 2>&1 || true' EXIT

in_service() {
	[ "$(aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names cli-asg \
		--query 'length(AutoScalingGroups[0].Instances[?LifecycleState==`InService`])' --output text)" = 2 ]
}
wait_for "2 instances InService" in_service
healthy() {
	[ "$(aws elbv2 describe-target-health --target-group-arn "$tg" \
		--query 'length(TargetHealthDescriptions[?TargetHealth.State==`healthy`])' --output text)" = 2 ]
}
wait_for "2 healthy targets" healthy
curl -fsS "http://127.0.0.1:$PORT/" | grep -q Hello
aws autoscaling describe-scaling-activities --auto-scaling-group-name cli-asg \
	--query 'Activities[].Description' --output text | grep -q 'Launching a new EC2 instance'
aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names cli-asg \
	--query 'AutoScalingGroups[0].Instances[].[InstanceId,AvailabilityZone,LifecycleState,HealthStatus]' --output text

# An alarm on a metric of our own, fired by data above its threshold.
# A high-resolution metric (1-second storage) and a 10-second period, so
# the alarm decides within seconds.
aws cloudwatch put-metric-alarm --alarm-name cli-queue-depth --namespace Seed --metric-name QueueDepth \
	--statistic Maximum --period 10 --evaluation-periods 1 --threshold 100 \
	--comparison-operator GreaterThanThreshold --treat-missing-data notBreaching
alarm() {
	aws cloudwatch put-metric-data --namespace Seed --metric-name QueueDepth --value 250 --storage-resolution 1
	[ "$(aws cloudwatch describe-alarms --alarm-names cli-queue-depth --query 'MetricAlarms[0].StateValue' --output text)" = ALARM ]
}
wait_for "the alarm to fire" alarm
aws cloudwatch describe-alarms --alarm-names cli-queue-depth --query 'MetricAlarms[0].StateReason' --output text
aws cloudwatch delete-alarms --alarm-names cli-queue-depth
echo "seed steps passed"
