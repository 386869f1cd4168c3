// Command madang runs the AWS web tier for real on your own machine.
package main

import (
	"context"
	"os"

	"github.com/madang-dev/madang/internal/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
