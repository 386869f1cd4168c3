package daemon

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/iam"
)

// Modes of the AWS endpoint's authentication (Config.AWSAuth).
const (
	// AWSAuthRequired: every request must carry a valid SigV4 signature
	// by one of madang's active access keys.
	AWSAuthRequired = "required"
	// AWSAuthOff: unsigned requests are accepted too (signed ones are
	// still verified). Only allowed on a loopback address.
	AWSAuthOff = "off"
)

// DefaultAWSListen is where `madang server` and `madang up` serve the
// AWS-compatible endpoint unless told otherwise (LocalStack's port).
const DefaultAWSListen = "127.0.0.1:4566"

// AWSSettings is what the AWS-compatible endpoint runs with.
type AWSSettings struct {
	// Listen is the endpoint's host:port; "" when it is disabled.
	Listen string
	// URL is how clients on this machine reach it (a wildcard listen
	// address becomes loopback); "" when disabled.
	URL string
	// Auth is AWSAuthRequired or AWSAuthOff.
	Auth string
	// Account is the account id, region and default key id the
	// endpoint presents.
	Account iam.Account
}

// awsSettings validates the AWS fields of cfg: the listen address ("",
// "off" or host:port), the auth mode (off only on loopback), the account
// id and the region.
func awsSettings(cfg Config) (AWSSettings, error) {
	s := AWSSettings{Listen: cfg.AWSListen, Auth: cfg.AWSAuth}
	if s.Listen == "off" {
		s.Listen = ""
	}
	if s.Auth == "" {
		s.Auth = AWSAuthRequired
	}
	if s.Auth != AWSAuthRequired && s.Auth != AWSAuthOff {
		return s, fmt.Errorf("--aws-auth %q is not a mode; use %s or %s", cfg.AWSAuth, AWSAuthRequired, AWSAuthOff)
	}
	if s.Listen != "" {
		host, port, err := net.SplitHostPort(s.Listen)
		if err != nil || port == "" {
			return s, fmt.Errorf("--aws-listen %q is not host:port; use one such as %s, or off", cfg.AWSListen, DefaultAWSListen)
		}
		if s.Auth == AWSAuthOff && !loopback(host) {
			return s, fmt.Errorf("--aws-auth off is only allowed on a loopback address, and --aws-listen %q is not one: "+
				"anyone who can reach it could drive madang unsigned; listen on 127.0.0.1 (e.g. --aws-listen %s), or keep --aws-auth %s "+
				"and sign with the keys `madang aws-env` prints", s.Listen, DefaultAWSListen, AWSAuthRequired)
		}
		s.URL = "http://" + net.JoinHostPort(clientHost(host), port)
	}
	if cfg.AWSAccount != "" {
		if err := iam.ValidateAccountID(cfg.AWSAccount); err != nil {
			return s, fmt.Errorf("--aws-account: %w", err)
		}
	}
	if cfg.AWSRegion != "" {
		if err := iam.ValidateRegion(cfg.AWSRegion); err != nil {
			return s, fmt.Errorf("--aws-region: %w", err)
		}
	}
	return s, nil
}

// loopback reports whether host names only this machine: localhost or a
// loopback IP (a wildcard or empty host listens on every interface).
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// clientHost is the host clients on this machine dial for a listen host.
func clientHost(host string) string {
	switch ip := net.ParseIP(host); {
	case host == "":
		return "127.0.0.1"
	case ip != nil && ip.IsUnspecified() && ip.To4() != nil:
		return "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		return "::1"
	}
	return host
}

// accessKeysComponent opens the account settings and access keys after
// the state store and makes sure the default key pair exists.
func (d *Daemon) accessKeysComponent() component {
	return component{name: "access keys", start: func(ctx context.Context) error {
		k, err := iam.Open(ctx, iam.Options{Store: d.store, Logger: d.log, AccountID: d.cfg.AWSAccount, Region: d.cfg.AWSRegion})
		if err != nil {
			return err
		}
		def, err := k.EnsureDefault(ctx)
		if err != nil {
			_ = k.Close()
			return err
		}
		d.keys = k
		a := k.Account()
		d.aws.Account = a
		d.log.Debug("access keys", "account", a.ID, "region", a.Region, "default", def.ID)
		return nil
	}, stop: func(context.Context) error { return d.keys.Close() }}
}

// AccessKeys returns madang's access keys: the [sigv4.Credentials] the AWS
// endpoint verifies requests against. Nil before the daemon has started.
func (d *Daemon) AccessKeys() *iam.Keys { return d.keys }

// AWS returns the AWS endpoint's settings, the account's as of the start.
func (d *Daemon) AWS() AWSSettings { return d.aws }

// awsEndpoint is the endpoint as the API describes it.
func (d *Daemon) awsEndpoint() api.AWSEndpoint {
	return api.AWSEndpoint{Listen: d.aws.Listen, URL: d.aws.URL, Auth: d.aws.Auth}
}
