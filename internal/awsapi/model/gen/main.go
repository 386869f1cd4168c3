// Command gen writes the compact service models that package model embeds,
// read from the pinned github.com/aws/aws-sdk-go module. Run it with
// `go generate ./internal/awsapi/model`.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/madang-dev/madang/internal/awsapi/model/modelgen"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run() error {
	dir, err := modelgen.ModuleDir()
	if err != nil {
		return err
	}
	files, err := modelgen.Generate(dir)
	if err != nil {
		return err
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join("data", name), data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}
