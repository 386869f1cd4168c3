// Command madang runs the AWS web tier for real on your own machine.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/madang-dev/madang/internal/cli"
)

func main() {
	err := cli.Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)
	if err == nil {
		return
	}
	code := 1
	if ee, ok := errors.AsType[*cli.ExitError](err); ok {
		code = ee.Code
	}
	if code != 0 && err.Error() != "" {
		fmt.Fprintln(os.Stderr, "madang:", err)
	}
	os.Exit(code)
}
