package console

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// webDir is the npm project that builds the assets, relative to this
// package.
const webDir = "web"

// TestAssetsCurrent rebuilds the assets from web/ into a temporary folder
// and asks that the embedded files are the same bytes. It needs web's
// packages installed (npm ci); without them it is skipped, unless
// MADANG_BROWSER_TESTS=required, which makes their absence a failure.
func TestAssetsCurrent(t *testing.T) {
	required := os.Getenv("MADANG_BROWSER_TESTS") == "required"
	missing := func(format string, args ...any) {
		t.Helper()
		if required {
			t.Fatalf(format+" (MADANG_BROWSER_TESTS=required)", args...)
		}
		t.Skipf(format, args...)
	}
	if _, err := os.Stat(filepath.Join(webDir, "node_modules")); errors.Is(err, fs.ErrNotExist) {
		missing("internal/console/web/node_modules is missing: run `npm ci` in internal/console/web")
	} else if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed: the assets cannot be rebuilt")
	}

	out := t.TempDir()
	cmd := exec.CommandContext(t.Context(), node, "build.mjs", "--out", out)
	cmd.Dir = webDir
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node build.mjs --out %s: %v\n%s", out, err, output)
	}

	const stale = "internal/console/assets is stale: run `npm run build` in internal/console/web and commit"
	embedded := AssetFS()
	built, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(built) == 0 {
		t.Fatal("node build.mjs wrote no file")
	}
	names := map[string]bool{}
	for _, e := range built {
		names[e.Name()] = true
		want, err := os.ReadFile(filepath.Join(out, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got, err := fs.ReadFile(embedded, e.Name())
		switch {
		case errors.Is(err, fs.ErrNotExist):
			t.Errorf("%s is built but not embedded: %s", e.Name(), stale)
		case err != nil:
			t.Fatal(err)
		case !bytes.Equal(got, want):
			t.Errorf("%s differs from a fresh build (%d bytes embedded, %d built): %s", e.Name(), len(got), len(want), stale)
		}
	}
	entries, err := fs.ReadDir(embedded, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !names[e.Name()] {
			t.Errorf("%s is embedded but no longer built: remove it from internal/console/assets", e.Name())
		}
	}
}

// TestAssetsPresent asks that the embedded files are there and small: each
// under 200 KiB before compression.
func TestAssetsPresent(t *testing.T) {
	const limit = 200 << 10
	for _, name := range []string{"console.js", "console.css"} {
		b, err := fs.ReadFile(AssetFS(), name)
		if err != nil {
			t.Fatalf("embedded assets: %v", err)
		}
		if len(b) == 0 {
			t.Errorf("%s is empty", name)
		}
		if len(b) >= limit {
			t.Errorf("%s is %d bytes, over the %d-byte limit", name, len(b), limit)
		}
		var gz bytes.Buffer
		w, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes, %d gzipped", name, len(b), gz.Len())
	}
}
