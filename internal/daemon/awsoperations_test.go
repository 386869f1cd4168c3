package daemon

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/iam"
)

var updateREADME = flag.Bool("update-readme", false, "rewrite the README's table of AWS operations")

// The README's table of the AWS endpoint's operations is generated from
// the services the endpoint serves, so it stays true: this test fails when
// they differ (go test ./internal/daemon -run TestREADMEOperations
// -update-readme rewrites it).
func TestREADMEOperations(t *testing.T) {
	d := newDaemon(Config{})
	services, err := d.awsServices(iam.Account{ID: "000000000000", Region: "local"})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := awsapi.New(awsapi.Options{Services: services, Authenticator: awsapi.AllowAll{}})
	if err != nil {
		t.Fatal(err)
	}
	ops := ep.Operations()
	titles := map[string]string{}
	for _, s := range services {
		titles[s.Name] = s.Model.Metadata.ServiceID
	}
	names := make([]string, 0, len(ops))
	for n := range ops {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return titles[names[i]] < titles[names[j]] })
	var b strings.Builder
	b.WriteString("| service | operations |\n|---|---|\n")
	for _, n := range names {
		fmt.Fprintf(&b, "| %s (%d) | %s |\n", titles[n], len(ops[n]), strings.Join(ops[n], ", "))
	}
	table := b.String()

	const start, end = "<!-- aws-operations:start -->\n", "<!-- aws-operations:end -->"
	path := filepath.Join("..", "..", "README.md")
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i, j := strings.Index(string(readme), start), strings.Index(string(readme), end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q … %q section", strings.TrimSpace(start), end)
	}
	have := string(readme[i+len(start) : j])
	if have == table {
		return
	}
	if *updateREADME {
		out := string(readme[:i+len(start)]) + table + string(readme[j:])
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's table of AWS operations is not what the endpoint serves; run go test ./internal/daemon -run TestREADMEOperations -update-readme\nwant:\n%s\nhave:\n%s", table, have)
}
