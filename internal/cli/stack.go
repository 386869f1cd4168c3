package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/madang-dev/madang/internal/api/v1"
)

// readStack reads a stack file for the daemon, which parses it itself.
func readStack(file string, destroy bool) (v1.StackRequest, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		if os.IsNotExist(err) {
			return v1.StackRequest{}, fmt.Errorf("stack file %s does not exist; pass one with -f (see examples/quickstart/madang.yaml)", file)
		}
		return v1.StackRequest{}, fmt.Errorf("read stack file: %w", err)
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return v1.StackRequest{}, err
	}
	return v1.StackRequest{Path: abs, DisplayPath: file, YAML: string(b), Destroy: destroy}, nil
}

func printChanges(e *env, res v1.StackResult) {
	if e.json() {
		_ = e.printJSON(res)
		return
	}
	if len(res.Changes) == 0 {
		fmt.Fprintf(e.stdout, "stack %s: no changes\n", res.Stack)
	}
	for _, c := range res.Changes {
		fmt.Fprintf(e.stdout, "  %s\n", c.String())
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(e.stdout, "! %s\n", w)
	}
}

func stackCmd(e *env, use, short string, destroy, apply bool) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   use + " -f FILE",
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req, err := readStack(file, destroy)
			if err != nil {
				return err
			}
			c := e.client()
			var res v1.StackResult
			if apply {
				res, err = c.Apply(cmd.Context(), req)
			} else {
				res, err = c.Plan(cmd.Context(), req)
			}
			if err != nil {
				return err
			}
			if !apply && !e.json() && len(res.Changes) > 0 {
				fmt.Fprintf(e.stdout, "stack %s would change (+ create, ~ update, - delete):\n", res.Stack)
			}
			printChanges(e, res)
			if apply && !e.json() && len(res.Changes) > 0 {
				fmt.Fprintf(e.stdout, "stack %s: %d change(s) applied\n", res.Stack, len(res.Changes))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "madang.yaml", "stack file")
	return cmd
}

func applyCmd(e *env) *cobra.Command {
	return stackCmd(e, "apply", "Converge the daemon to a stack file (idempotent)", false, true)
}

func diffCmd(e *env) *cobra.Command {
	return stackCmd(e, "diff", "Show what apply would change, changing nothing", false, false)
}

func destroyCmd(e *env) *cobra.Command {
	return stackCmd(e, "destroy", "Delete everything a stack file created", true, true)
}
