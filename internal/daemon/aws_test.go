package daemon

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/api"
)

func TestAWSSettings(t *testing.T) {
	cases := []struct {
		name    string
		cfg     Config
		want    AWSSettings
		wantErr string
	}{
		{name: "disabled", cfg: Config{}, want: AWSSettings{Auth: AWSAuthRequired}},
		{name: "off disables", cfg: Config{AWSListen: "off"}, want: AWSSettings{Auth: AWSAuthRequired}},
		{name: "default", cfg: Config{AWSListen: DefaultAWSListen}, want: AWSSettings{Listen: DefaultAWSListen, URL: "http://127.0.0.1:4566", Auth: AWSAuthRequired}},
		{name: "auth off on loopback", cfg: Config{AWSListen: "127.0.0.1:4566", AWSAuth: "off"}, want: AWSSettings{Listen: "127.0.0.1:4566", URL: "http://127.0.0.1:4566", Auth: AWSAuthOff}},
		{name: "auth off on localhost", cfg: Config{AWSListen: "localhost:4566", AWSAuth: "off"}, want: AWSSettings{Listen: "localhost:4566", URL: "http://localhost:4566", Auth: AWSAuthOff}},
		{name: "auth off on ::1", cfg: Config{AWSListen: "[::1]:4566", AWSAuth: "off"}, want: AWSSettings{Listen: "[::1]:4566", URL: "http://[::1]:4566", Auth: AWSAuthOff}},
		{name: "wildcard is reached on loopback", cfg: Config{AWSListen: "0.0.0.0:4566"}, want: AWSSettings{Listen: "0.0.0.0:4566", URL: "http://127.0.0.1:4566", Auth: AWSAuthRequired}},
		{name: "all interfaces", cfg: Config{AWSListen: ":4566"}, want: AWSSettings{Listen: ":4566", URL: "http://127.0.0.1:4566", Auth: AWSAuthRequired}},
		{name: "auth off on every interface", cfg: Config{AWSListen: "0.0.0.0:4566", AWSAuth: "off"}, wantErr: `--aws-auth off is only allowed on a loopback address, and --aws-listen "0.0.0.0:4566" is not one`},
		{name: "auth off on an empty host", cfg: Config{AWSListen: ":4566", AWSAuth: "off"}, wantErr: "only allowed on a loopback address"},
		{name: "auth off on a LAN address", cfg: Config{AWSListen: "192.168.1.5:4566", AWSAuth: "off"}, wantErr: "listen on 127.0.0.1"},
		{name: "bad auth mode", cfg: Config{AWSListen: DefaultAWSListen, AWSAuth: "none"}, wantErr: `--aws-auth "none" is not a mode; use required or off`},
		{name: "no port", cfg: Config{AWSListen: "127.0.0.1"}, wantErr: `--aws-listen "127.0.0.1" is not host:port`},
		{name: "bad account", cfg: Config{AWSAccount: "abc"}, wantErr: `--aws-account: account id "abc" is not 12 digits`},
		{name: "bad region", cfg: Config{AWSRegion: "Local"}, wantErr: `--aws-region: region "Local" is not a region name`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := awsSettings(tc.cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("awsSettings = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// startIn runs a daemon in home until the test's cleanup or stop.
func startIn(t *testing.T, home string, cfg Config) (d *Daemon, stop func()) {
	t.Helper()
	cfg.Home, cfg.Executable = home, os.Args[0]
	d = newDaemon(cfg)
	ready := make(chan struct{})
	d.cfg.Ready = func(string) { close(ready) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.run(ctx) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("daemon did not start: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("daemon did not start within 10s")
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon exit: %v", err)
		}
	}
	t.Cleanup(stop)
	return d, stop
}

// The default key pair is made on the first start and is the same after
// a restart; the account settings given on the first start stay when a
// later start gives none.
func TestDefaultKeyAndAccountSurviveRestart(t *testing.T) {
	home := t.TempDir()
	ctx := context.Background()
	// Port 0: a free one, so the test passes beside a madang on 4566.
	d, stop := startIn(t, home, Config{AWSListen: "127.0.0.1:0", AWSAccount: "123456789012", AWSRegion: "eu-west-1"})
	def, ok := d.AccessKeys().Default()
	if !ok {
		t.Fatal("no default key after the first start")
	}
	if _, _, ok := d.AccessKeys().Secret(def.ID); !ok {
		t.Fatal("the default key does not verify")
	}
	c := api.NewUnixClient(SocketPath(home))
	s, err := c.AWSSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.AccessKeyID != def.ID || s.SecretAccessKey != def.Secret || s.AccountID != "123456789012" || s.Region != "eu-west-1" ||
		s.EndpointURL != "http://"+d.AWS().Listen || strings.HasSuffix(s.EndpointURL, ":0") || s.Auth != AWSAuthRequired || !s.Enabled {
		t.Fatalf("settings %+v", s)
	}
	stop()

	d, _ = startIn(t, home, Config{})
	again, ok := d.AccessKeys().Default()
	if !ok || again != def {
		t.Fatalf("default key after restart = %+v, want %+v", again, def)
	}
	if a := d.AWS().Account; a.ID != "123456789012" || a.Region != "eu-west-1" {
		t.Fatalf("account after restart = %+v", a)
	}
	s, err = c.AWSSettings(ctx)
	if err != nil || s.Enabled || s.EndpointURL != "" || s.AccessKeyID != def.ID {
		t.Fatalf("settings with the endpoint off = %+v, %v", s, err)
	}
}

func TestAWSAuthOffOffLoopbackIsRefused(t *testing.T) {
	err := Run(context.Background(), Config{Home: t.TempDir(), Executable: os.Args[0], AWSListen: "0.0.0.0:4566", AWSAuth: AWSAuthOff})
	if err == nil || !strings.Contains(err.Error(), "only allowed on a loopback address") {
		t.Fatalf("Run = %v, want the loopback refusal", err)
	}
}
