package compute

import (
	"net"
	"testing"
)

func TestLaunchTemplateVersion(t *testing.T) {
	lt := &LaunchTemplate{DefaultVersion: 2, Versions: []LaunchTemplateVersion{{Number: 1}, {Number: 2}, {Number: 3}}}
	cases := []struct {
		name string
		spec string
		want int
		ok   bool
	}{
		{name: "empty is default", spec: "", want: 2, ok: true},
		{name: "default", spec: "$Default", want: 2, ok: true},
		{name: "latest", spec: "$Latest", want: 3, ok: true},
		{name: "number", spec: "1", want: 1, ok: true},
		{name: "zero", spec: "0", ok: false},
		{name: "too high", spec: "4", ok: false},
		{name: "junk", spec: "v1", ok: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := lt.Version(tc.spec)
			if ok != tc.ok || (ok && v.Number != tc.want) {
				t.Fatalf("Version(%q) = %d, %v; want %d, %v", tc.spec, v.Number, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestAllocateAddress(t *testing.T) {
	used := []*Instance{{PrivateIP: "127.16.0.2", Port: 3000}, {PrivateIP: "127.16.0.4", Port: 3000}}
	ip, port, err := allocateAddress(LoopbackIPs, 3000, used)
	if err != nil || ip != "127.16.0.3" || port != 3000 {
		t.Fatalf("loopback ips: got %s:%d %v, want 127.16.0.3:3000", ip, port, err)
	}
	ip, port, err = allocateAddress(LoopbackPorts, 3000, []*Instance{{PrivateIP: "127.0.0.1", Port: 20000}})
	if err != nil || ip != "127.0.0.1" || port == 20000 || port < 20000 {
		t.Fatalf("loopback ports: got %s:%d %v", ip, port, err)
	}

	// Something else holds the port on the first free address: skip it.
	ln, err := net.Listen("tcp", "127.16.0.3:0")
	if err != nil {
		t.Skipf("cannot bind 127.16.0.3 here: %v", err)
	}
	defer ln.Close()
	held := ln.Addr().(*net.TCPAddr).Port
	ip, port, err = allocateAddress(LoopbackIPs, held, used)
	if err != nil || ip != "127.16.0.5" || port != held {
		t.Fatalf("busy address: got %s:%d %v, want 127.16.0.5:%d", ip, port, err, held)
	}

	// A wildcard listener holds the port on every address: another port.
	wl, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer wl.Close()
	wport := wl.Addr().(*net.TCPAddr).Port
	ip, port, err = allocateAddress(LoopbackIPs, wport, used)
	if err != nil || port == wport || ip != "127.16.0.3" {
		t.Fatalf("wildcard listener: got %s:%d %v, want 127.16.0.3 with another port", ip, port, err)
	}
}
