package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestConsoleInBrowser drives the web console in Debian's Chromium with
// Playwright through the study notes' console steps, against a real
// daemon with real instances: launch two instances, make a target group
// and register them, make a load balancer, watch both targets turn
// healthy, stop one and see it unhealthy with its reason while the
// traffic check still answers, create an alarm and see it fire, assign
// MFA and sign in with a code. It takes screenshots of each main page
// (MADANG_SCREENSHOTS, default artifacts/console-screenshots).
//
// Without node, playwright-core (npm ci in internal/console/web) or
// /usr/bin/chromium it is skipped, unless MADANG_BROWSER_TESTS=required.
func TestConsoleInBrowser(t *testing.T) {
	web, err := filepath.Abs("../../internal/console/web")
	if err != nil {
		t.Fatal(err)
	}
	need := func(what string, err error) {
		if err == nil {
			return
		}
		if os.Getenv("MADANG_BROWSER_TESTS") == "required" {
			t.Fatalf("the browser test needs %s: %v", what, err)
		}
		t.Skipf("no %s (%v); set MADANG_BROWSER_TESTS=required to fail instead", what, err)
	}
	node, err := exec.LookPath("node")
	need("node", err)
	_, err = os.Stat(filepath.Join(web, "node_modules", "playwright-core"))
	need("playwright-core (run npm ci in internal/console/web)", err)
	chromium := cmp.Or(os.Getenv("MADANG_CHROMIUM"), "/usr/bin/chromium")
	_, err = os.Stat(chromium)
	need("Chromium (apt-get install chromium)", err)

	dir := t.TempDir()
	c := runner{t: t, home: filepath.Join(dir, "home")}
	buildSampleApp(t, dir)
	stack := filepath.Join(dir, "madang.yaml")
	// An image, a launch template and a small Auto Scaling group: the
	// browser launches the web instances and makes the load balancer.
	if err := os.WriteFile(stack, []byte(`name: console
images:
  - name: hello
    source: ./app
    command: ./hello
    port: 3000
launchTemplates:
  - name: hello
    image: hello
    supervision:
      killTimeout: 2s
autoScalingGroups:
  - name: workers
    launchTemplate: hello
    minSize: 1
    maxSize: 2
`), 0o644); err != nil {
		t.Fatal(err)
	}
	startServer(t, c, "--console-listen", "127.0.0.1:0", "--metrics-interval", "1s")
	c.must("apply", "-f", stack)
	// Instances made in the browser belong to no stack: a reset removes
	// them with the stack's, before the daemon stops (it leaves
	// instances running).
	t.Cleanup(func() {
		if out, err := c.run("reset", "--yes"); err != nil {
			t.Errorf("madang reset --yes: %v\n%s", err, out)
		}
	})
	// The console starts after the API answers.
	var link struct{ URL string }
	eventually(t, "the console to serve", 30*time.Second, func() bool {
		out, err := c.run("console", "-o", "json")
		return err == nil && json.Unmarshal([]byte(out), &link) == nil && link.URL != ""
	})
	shots := os.Getenv("MADANG_SCREENSHOTS")
	if shots == "" {
		shots, _ = filepath.Abs("../../artifacts/console-screenshots")
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(web, "e2e", "console.e2e.mjs"))
	cmd.Dir = web
	cmd.Env = append(os.Environ(), "CONSOLE_LINK="+link.URL, "MADANG_BIN="+binary, "MADANG_HOME="+c.home,
		"LB_PORT="+strconv.Itoa(freePort(t)), "SCREENSHOT_DIR="+shots, "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	t.Logf("browser test output:\n%s", out)
	if err != nil {
		t.Fatalf("the browser test failed: %v (screenshots in %s)", err, shots)
	}
	fmt.Fprintf(os.Stderr, "console screenshots: %s\n", shots)
}
