#!/usr/bin/env bash
# VPC steps with the aws CLI, in two parts.
#
#   vpc.sh create   makes a VPC, a subnet in local-1b, a security group with
#                   an ingress rule, runs an instance in the subnet, checks
#                   what DescribeInstances and DescribeSubnets say of it,
#                   registers it with a target group of the VPC, puts a load
#                   balancer with a listener on the subnet, moves it to a
#                   second subnet and group (set-subnets, set-security-groups)
#                   while it serves, sees that what it and the target group
#                   use is not deleted, removes both and then deletes the
#                   second subnet and group, and prints VPC=… SUBNET=… SG=…
#                   INSTANCE=… lines;
#   vpc.sh cleanup  (with those in the environment) sees the dependency
#                   violations, terminates the instance and deletes the
#                   group, the subnet and the VPC.
#
# Needs: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
# AWS_DEFAULT_REGION (eval "$(madang aws-env)"), an image named hello, and
# for create PORT (a free port for the listener).
set -euo pipefail
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

# refused CODE COMMAND...: COMMAND fails with the AWS error CODE.
refused() {
	local code=$1 out
	shift
	if out=$("$@" 2>&1); then
		echo "expected $code, but it succeeded: $*" >&2
		return 1
	fi
	if ! grep -q "($code)" <<<"$out"; then
		echo "expected $code from $*, got: $out" >&2
		return 1
	fi
	echo "refused as expected: $code"
}

# refused_naming CODE TEXT COMMAND...: COMMAND fails with the AWS error CODE
# and a message that says TEXT.
refused_naming() {
	local code=$1 text=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		echo "expected $code, but it succeeded: $*" >&2
		return 1
	fi
	if ! grep -q "($code)" <<<"$out" || ! grep -qF "$text" <<<"$out"; then
		echo "expected $code naming $text from $*, got: $out" >&2
		return 1
	fi
	echo "refused as expected: $code ($text)"
}

# same WHAT GOT WANT
same() {
	if [ "$2" != "$3" ]; then
		echo "$1: got '$2', want '$3'" >&2
		return 1
	fi
}

create() {
	: "${PORT:?give the listener port in PORT}"
	vpc=$(aws ec2 create-vpc --cidr-block 10.20.0.0/16 \
		--tag-specifications 'ResourceType=vpc,Tags=[{Key=Name,Value=cli-vpc}]' --query Vpc.VpcId --output text)
	subnet=$(aws ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.20.1.0/24 --availability-zone local-1b \
		--query Subnet.SubnetId --output text)
	sg=$(aws ec2 create-security-group --group-name cli-web --description "web tier" --vpc-id "$vpc" \
		--query GroupId --output text)
	aws ec2 authorize-security-group-ingress --group-id "$sg" --protocol tcp --port 3000 --cidr 10.20.0.0/16 >/dev/null
	refused InvalidPermission.Duplicate aws ec2 authorize-security-group-ingress --group-id "$sg" --protocol tcp --port 3000 --cidr 10.20.0.0/16
	refused InvalidSubnet.Conflict aws ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.20.1.128/25
	refused InvalidSubnet.Range aws ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.30.0.0/24
	refused InvalidGroup.Duplicate aws ec2 create-security-group --group-name cli-web --description again --vpc-id "$vpc"
	same "ingress port" "$(aws ec2 describe-security-groups --group-ids "$sg" --query 'SecurityGroups[0].IpPermissions[0].FromPort' --output text)" 3000
	same "default egress" "$(aws ec2 describe-security-groups --group-ids "$sg" --query 'SecurityGroups[0].IpPermissionsEgress[0].IpProtocol' --output text)" -1
	same "groups of the VPC" "$(aws ec2 describe-security-groups --filters Name=vpc-id,Values="$vpc" --query 'length(SecurityGroups)' --output text)" 2
	same "subnets in local-1b of the VPC" "$(aws ec2 describe-subnets --filters Name=vpc-id,Values="$vpc" Name=availability-zone,Values=local-1b --query 'Subnets[0].SubnetId' --output text)" "$subnet"

	image=$(aws ec2 describe-images --owners self --filters Name=name,Values=hello --query 'Images[0].ImageId' --output text)
	instance=$(aws ec2 run-instances --image-id "$image" --count 1 --instance-type t3.micro --subnet-id "$subnet" \
		--security-group-ids "$sg" --query 'Instances[0].InstanceId' --output text)
	running() {
		[ "$(aws ec2 describe-instances --instance-ids "$instance" --query 'Reservations[0].Instances[0].State.Name' --output text)" = running ]
	}
	wait_for "the instance running" running
	read -r zone sn vp group <<<"$(aws ec2 describe-instances --instance-ids "$instance" \
		--query 'Reservations[0].Instances[0].[Placement.AvailabilityZone,SubnetId,VpcId,SecurityGroups[0].GroupId]' --output text)"
	same "zone" "$zone" local-1b
	same "subnet" "$sn" "$subnet"
	same "vpc" "$vp" "$vpc"
	same "group" "$group" "$sg"
	same "instances in the subnet" "$(aws ec2 describe-instances --filters Name=subnet-id,Values="$subnet" --query 'length(Reservations[].Instances[])' --output text)" 1
	same "free addresses" "$(aws ec2 describe-subnets --subnet-ids "$subnet" --query 'Subnets[0].AvailableIpAddressCount' --output text)" 250
	elb

	echo "VPC=$vpc"
	echo "SUBNET=$subnet"
	echo "SG=$sg"
	echo "INSTANCE=$instance"
}

# elb: a target group in the VPC takes the instance; a load balancer on the
# subnet shows its zone, VPC and group, and its listener keeps serving while
# set-subnets and set-security-groups move it to a second subnet and group.
# What the load balancer and the target group use is not deleted; once they
# are gone, the second subnet and group are.
elb() {
	read -r tg tgvpc <<<"$(aws elbv2 create-target-group --name cli-vpc-tg --protocol HTTP --port 3000 --vpc-id "$vpc" \
		--query 'TargetGroups[0].[TargetGroupArn,VpcId]' --output text)"
	same "target group VPC" "$tgvpc" "$vpc"
	aws elbv2 register-targets --target-group-arn "$tg" --targets Id="$instance"
	lb=$(aws elbv2 create-load-balancer --name cli-vpc-lb --subnets "$subnet" --security-groups "$sg" \
		--query 'LoadBalancers[0].LoadBalancerArn' --output text)
	same "load balancer placement" "$(aws elbv2 describe-load-balancers --load-balancer-arns "$lb" \
		--query 'LoadBalancers[0].[VpcId,AvailabilityZones[0].ZoneName,AvailabilityZones[0].SubnetId,SecurityGroups[0]]' --output text)" \
		"$vpc	local-1b	$subnet	$sg"
	aws elbv2 create-listener --load-balancer-arn "$lb" --protocol HTTP --port "$PORT" \
		--default-actions 'Type=fixed-response,FixedResponseConfig={StatusCode=200,ContentType=text/plain,MessageBody=placed}' >/dev/null
	serves() { [ "$(curl -fsS "http://127.0.0.1:$PORT/")" = placed ]; }
	wait_for "the listener serving" serves

	subnet2=$(aws ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.20.2.0/24 --availability-zone local-1a \
		--query Subnet.SubnetId --output text)
	sg2=$(aws ec2 create-security-group --group-name cli-lb --description "load balancer" --vpc-id "$vpc" \
		--query GroupId --output text)
	vpc_default_sg=$(aws ec2 describe-security-groups --filters Name=vpc-id,Values="$vpc" Name=group-name,Values=default \
		--query 'SecurityGroups[0].GroupId' --output text)
	default_subnet=$(aws ec2 describe-subnets --filters Name=default-for-az,Values=true Name=availability-zone,Values=local-1a \
		--query 'Subnets[0].SubnetId' --output text)
	zones=$(printf 'local-1b\t%s\nlocal-1a\t%s' "$subnet" "$subnet2")
	same "set-subnets" "$(aws elbv2 set-subnets --load-balancer-arn "$lb" --subnets "$subnet" "$subnet2" \
		--query 'AvailabilityZones[].[ZoneName,SubnetId]' --output text)" "$zones"
	same "zones after set-subnets" "$(aws elbv2 describe-load-balancers --load-balancer-arns "$lb" \
		--query 'LoadBalancers[0].AvailabilityZones[].[ZoneName,SubnetId]' --output text)" "$zones"
	serves || { echo "the listener stopped serving after set-subnets" >&2; return 1; }
	refused_naming InvalidConfigurationRequest "All subnets must belong to the same VPC" \
		aws elbv2 set-subnets --load-balancer-arn "$lb" --subnets "$default_subnet"
	refused SubnetNotFound aws elbv2 set-subnets --load-balancer-arn "$lb" --subnets subnet-0123456789abcdef0
	same "zones after refused set-subnets" "$(aws elbv2 describe-load-balancers --load-balancer-arns "$lb" \
		--query 'LoadBalancers[0].AvailabilityZones[].[ZoneName,SubnetId]' --output text)" "$zones"

	same "set-security-groups" "$(aws elbv2 set-security-groups --load-balancer-arn "$lb" --security-groups "$sg2" "$vpc_default_sg" \
		--query 'SecurityGroupIds' --output text)" "$sg2	$vpc_default_sg"
	same "groups after set-security-groups" "$(aws elbv2 describe-load-balancers --load-balancer-arns "$lb" \
		--query 'LoadBalancers[0].SecurityGroups' --output text)" "$sg2	$vpc_default_sg"
	serves || { echo "the listener stopped serving after set-security-groups" >&2; return 1; }
	default_vpc_sg=$(aws ec2 describe-security-groups --group-names default --query 'SecurityGroups[0].GroupId' --output text)
	refused InvalidSecurityGroup aws elbv2 set-security-groups --load-balancer-arn "$lb" --security-groups "$default_vpc_sg"
	refused InvalidSecurityGroup aws elbv2 set-security-groups --load-balancer-arn "$lb" --security-groups sg-0123456789abcdef0

	# In use by the load balancer (the second subnet and group) and by the
	# target group and the load balancer (the VPC): refused, nothing changes.
	refused_naming DependencyViolation 'load balancer "cli-vpc-lb"' aws ec2 delete-subnet --subnet-id "$subnet2"
	refused_naming DependencyViolation 'load balancer "cli-vpc-lb"' aws ec2 delete-security-group --group-id "$sg2"
	refused_naming DependencyViolation 'load balancer "cli-vpc-lb"' aws ec2 delete-vpc --vpc-id "$vpc"
	refused_naming DependencyViolation 'target group "cli-vpc-tg"' aws ec2 delete-vpc --vpc-id "$vpc"
	same "subnet2 still there" "$(aws ec2 describe-subnets --subnet-ids "$subnet2" --query 'Subnets[0].SubnetId' --output text)" "$subnet2"
	same "sg2 still there" "$(aws ec2 describe-security-groups --group-ids "$sg2" --query 'SecurityGroups[0].GroupId' --output text)" "$sg2"

	aws elbv2 delete-load-balancer --load-balancer-arn "$lb"
	refused_naming DependencyViolation 'target group "cli-vpc-tg"' aws ec2 delete-vpc --vpc-id "$vpc"
	aws elbv2 delete-target-group --target-group-arn "$tg"
	aws ec2 delete-subnet --subnet-id "$subnet2"
	aws ec2 delete-security-group --group-id "$sg2" >/dev/null
}

cleanup() {
	: "${VPC:?}" "${SUBNET:?}" "${SG:?}" "${INSTANCE:?}"
	refused DependencyViolation aws ec2 delete-subnet --subnet-id "$SUBNET"
	refused DependencyViolation aws ec2 delete-security-group --group-id "$SG"
	refused DependencyViolation aws ec2 delete-vpc --vpc-id "$VPC"
	default_sg=$(aws ec2 describe-security-groups --filters Name=vpc-id,Values="$VPC" Name=group-name,Values=default --query 'SecurityGroups[0].GroupId' --output text)
	refused CannotDelete aws ec2 delete-security-group --group-id "$default_sg"
	aws ec2 terminate-instances --instance-ids "$INSTANCE" >/dev/null
	terminated() {
		[ "$(aws ec2 describe-instances --instance-ids "$INSTANCE" --query 'Reservations[0].Instances[0].State.Name' --output text)" = terminated ]
	}
	wait_for "the instance terminated" terminated
	aws ec2 revoke-security-group-ingress --group-id "$SG" --protocol tcp --port 3000 --cidr 10.20.0.0/16 >/dev/null
	refused InvalidPermission.NotFound aws ec2 revoke-security-group-ingress --group-id "$SG" --protocol tcp --port 3000 --cidr 10.20.0.0/16
	aws ec2 delete-security-group --group-id "$SG" >/dev/null
	aws ec2 delete-subnet --subnet-id "$SUBNET"
	aws ec2 delete-vpc --vpc-id "$VPC"
	refused InvalidVpcID.NotFound aws ec2 describe-vpcs --vpc-ids "$VPC"
	echo "vpc steps passed"
}

"${1:?vpc.sh create|cleanup}"
