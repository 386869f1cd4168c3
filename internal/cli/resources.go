package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// lsCmd lists the resources of any kind of the registry, or the kinds.
func lsCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "ls [KIND]",
		Short: "List the stored resources of a kind (image, launch-template, instances, target-group, load-balancer, …), or the kinds",
		Long: `List the stored resources of one kind, with the kind's columns, or, without
a kind, every kind madang knows with its stack-file key and aliases.

  madang ls                 # the kinds
  madang ls target-group    # or an alias: tg, target-groups
  madang ls lb -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := e.client()
			if len(args) == 0 {
				ks, err := c.Kinds(cmd.Context())
				if err != nil {
					return err
				}
				if e.json() {
					return e.printJSON(ks)
				}
				tw := e.table()
				fmt.Fprintln(tw, "KIND\tSTACK KEY\tALIASES")
				for _, k := range ks {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", k.Name, k.StackKey, dash(strings.Join(k.Aliases, ", ")))
				}
				return tw.Flush()
			}
			l, err := c.Resources(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(l)
			}
			if len(l.Items) == 0 {
				fmt.Fprintf(e.stdout, "no %s resources\n", l.Kind)
				return nil
			}
			tw := e.table()
			fmt.Fprintln(tw, strings.Join(l.Columns, "\t"))
			for _, it := range l.Items {
				cells := make([]string, len(it.Cells))
				for i, c := range it.Cells {
					cells[i] = dash(c)
				}
				fmt.Fprintln(tw, strings.Join(cells, "\t"))
			}
			return tw.Flush()
		},
	}
}

// getCmd prints one stored resource of any kind.
func getCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "get KIND NAME",
		Short: "Show one stored resource of any kind: its record as stored, its stack and revision",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := e.client().Resource(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(res)
			}
			var rec bytes.Buffer
			if err := json.Indent(&rec, res.Record, "", "  "); err != nil {
				rec.Reset()
				rec.Write(res.Record)
			}
			fmt.Fprintf(e.stdout, "%s %s (stack %s, revision %d)\n%s\n", res.Kind, res.Name, dash(res.Owner), res.Revision, rec.String())
			return nil
		},
	}
}
