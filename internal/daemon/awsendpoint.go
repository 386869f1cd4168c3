package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/autoscaling"
	"github.com/madang-dev/madang/internal/awsapi"
	awsasg "github.com/madang-dev/madang/internal/awsapi/autoscaling"
	awscloudwatch "github.com/madang-dev/madang/internal/awsapi/cloudwatch"
	"github.com/madang-dev/madang/internal/awsapi/ec2"
	"github.com/madang-dev/madang/internal/awsapi/elbv2"
	awslogs "github.com/madang-dev/madang/internal/awsapi/logs"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/awsapi/sigv4"
	"github.com/madang-dev/madang/internal/awsapi/sts"
	"github.com/madang-dev/madang/internal/iam"
	"github.com/madang-dev/madang/internal/network"
)

// signedCallers is the AWS endpoint's authenticator: SigV4 verified
// against madang's access keys, in madang's region; with authentication
// off, unsigned requests act as the account's default user (signed ones
// are still verified, so a wrong key is never silently accepted).
type signedCallers struct {
	keys *iam.Keys
	auth string
	now  func() time.Time
}

// Authenticate implements awsapi.Authenticator.
func (a signedCallers) Authenticate(r *http.Request, body []byte) (awsapi.Caller, error) {
	acct := a.keys.Account()
	if a.auth == AWSAuthOff && !sigv4.Signed(r) {
		id := acct.Identity(iam.DefaultUser)
		return awsapi.Caller{AccountID: acct.ID, ARN: id.ARN, UserID: id.UserID, UserName: iam.DefaultUser}, nil
	}
	sig, err := sigv4.Verify(r, body, a.keys, a.now(), acct.Region)
	if err != nil {
		var se *sigv4.Error
		if !errors.As(err, &se) {
			return awsapi.Caller{}, err
		}
		se = se.ForService(signingService(r, body))
		return awsapi.Caller{}, &protocol.Error{Code: se.Code, Message: se.Message, Status: se.Status, Sender: true}
	}
	id := acct.Identity(sig.User)
	return awsapi.Caller{AccountID: acct.ID, ARN: id.ARN, UserID: id.UserID, AccessKeyID: sig.AccessKeyID, UserName: sig.User}, nil
}

// signingService is the SigV4 service name a request is for: its scope's,
// or for an unsigned request its X-Amz-Target's or API version's, so that
// a refusal uses that service's codes.
func signingService(r *http.Request, body []byte) string {
	if sc, err := sigv4.Parse(r); err == nil && sc.Service != "" {
		return sc.Service
	}
	if s := protocol.SigningService(r); s != "" {
		return s
	}
	target, _, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	switch {
	case strings.HasPrefix(target, "Logs_"):
		return "logs"
	case target == "GraniteServiceVersion20100801" || strings.Contains(r.URL.Path, "/GraniteServiceVersion20100801/"):
		return "monitoring"
	}
	version := r.URL.Query().Get("Version")
	if form, err := url.ParseQuery(string(body)); err == nil && form.Get("Version") != "" {
		version = form.Get("Version")
	}
	switch protocol.ServiceForVersion(version) {
	case "ec2":
		return "ec2"
	case "elasticloadbalancingv2":
		return "elasticloadbalancing"
	case "autoscaling":
		return "autoscaling"
	case "monitoring":
		return "monitoring"
	case "sts":
		return "sts"
	}
	return ""
}

// awsServices are the services the endpoint serves for the account, over
// the daemon's controllers.
func (d *Daemon) awsServices(acct iam.Account) ([]awsapi.Service, error) {
	zones := autoscaling.Zones()
	stsSvc, err := sts.Service()
	if err != nil {
		return nil, err
	}
	nets := network.Store{State: d.store}
	ec2Svc, err := ec2.New(ec2.Options{Compute: d.compute, Resources: d, Network: nets, Events: d.events,
		Region: acct.Region, AccountID: acct.ID, Zones: zones})
	if err != nil {
		return nil, err
	}
	elbSvc, err := elbv2.New(elbv2.Options{LoadBalancing: d.elb, Resources: d, VpcID: ec2.DefaultVPC(acct.Region), Zones: zones, SubnetOf: ec2.SubnetOf,
		Network: elbNetwork{nets: nets, region: acct.Region, compute: d.compute}})
	if err != nil {
		return nil, err
	}
	asgSvc, err := awsasg.New(awsasg.Options{Scaling: d.asg, Templates: d.compute, TargetGroups: d.elb, Resources: d, Alarms: d.cw, Zones: zones, SubnetOf: ec2.SubnetOf,
		CreatedSubnet: func(id string) (autoscaling.SubnetPlacement, bool) {
			set, err := nets.Load(context.Background())
			if err != nil {
				return autoscaling.SubnetPlacement{}, false
			}
			sn, ok := set.Subnet(id)
			if !ok {
				return autoscaling.SubnetPlacement{}, false
			}
			return autoscaling.SubnetPlacement{ID: id, Zone: sn.Spec.AvailabilityZone, Vpc: sn.Spec.Vpc}, true
		}})
	if err != nil {
		return nil, err
	}
	cwSvc, err := awscloudwatch.New(awscloudwatch.Options{Monitoring: d.cw, Resources: d})
	if err != nil {
		return nil, err
	}
	logsSvc, err := awslogs.New(awslogs.Options{Logs: logSource{d}, Settings: d.cw, Resources: d, Streams: d.apiLogs})
	if err != nil {
		return nil, err
	}
	return []awsapi.Service{stsSvc, ec2Svc, elbSvc, asgSvc, cwSvc, logsSvc}, nil
}

// awsEndpointComponent serves the AWS-compatible endpoint on
// Config.AWSListen (nothing when it is off). A listen port of 0 picks a
// free one, which the settings then report.
func (d *Daemon) awsEndpointComponent() component {
	var hs *http.Server
	done := make(chan struct{})
	return component{name: "AWS endpoint", start: func(context.Context) error {
		if d.aws.Listen == "" {
			close(done)
			return nil
		}
		acct := d.keys.Account()
		services, err := d.awsServices(acct)
		if err != nil {
			return fmt.Errorf("AWS endpoint: %w", err)
		}
		ep, err := awsapi.New(awsapi.Options{
			Services: services, Region: acct.Region, AccountID: acct.ID, Logger: d.log,
			Authenticator: signedCallers{keys: d.keys, auth: d.aws.Auth, now: time.Now},
		})
		if err != nil {
			return fmt.Errorf("AWS endpoint: %w", err)
		}
		ln, err := net.Listen("tcp", d.aws.Listen)
		if err != nil {
			return fmt.Errorf("AWS endpoint: listen on %s: %w; another program (another madang, LocalStack) may serve it: "+
				"give another address with --aws-listen 127.0.0.1:PORT, or --aws-listen off", d.aws.Listen, err)
		}
		host, _, _ := net.SplitHostPort(d.aws.Listen)
		port := ln.Addr().(*net.TCPAddr).Port
		d.aws.Listen = net.JoinHostPort(host, strconv.Itoa(port))
		d.aws.URL = "http://" + net.JoinHostPort(clientHost(host), strconv.Itoa(port))
		d.events.Info("daemon", "-", "AWS endpoint on %s (region %s, account %s, auth %s; madang aws-env prints the settings)",
			d.aws.URL, acct.Region, acct.ID, d.aws.Auth)
		handler := awsResetHandler{enabled: d.cfg.AWSResetEndpoint, reset: d, endpoint: ep}
		if d.cfg.AWSResetEndpoint {
			d.events.Warn("daemon", "-", "AWS endpoint serves POST %s and %s: anyone on this machine can remove every resource", motoResetPath, madangResetPath)
		}
		hs = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
		// Live tails stream for hours; Shutdown would wait for them.
		hs.RegisterOnShutdown(ep.CloseStreams)
		go func() {
			defer close(done)
			if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				d.log.Error("AWS endpoint", "err", err)
			}
		}()
		return nil
	}, stop: func(ctx context.Context) error {
		if hs == nil {
			return nil
		}
		err := hs.Shutdown(ctx)
		<-done
		return err
	}}
}
