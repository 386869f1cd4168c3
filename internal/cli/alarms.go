package cli

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
)

// alarmStateText colours an alarm state for a terminal table.
func alarmStateText(e *env, st string) string {
	if !e.color() {
		return st
	}
	switch st {
	case "ALARM":
		return "\x1b[31m" + st + "\x1b[0m"
	case "OK":
		return "\x1b[32m" + st + "\x1b[0m"
	}
	return "\x1b[90m" + st + "\x1b[0m"
}

func alarmsCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "alarms",
		Aliases: []string{"alarm"},
		Short:   "CloudWatch alarms: their states, history, and setting a state to test actions",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			as, err := e.client().Alarms(cmd.Context())
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(as)
			}
			if len(as) == 0 {
				fmt.Fprintln(e.stdout, "no alarms; define them under alarms: in a stack file (see README, Alarms)")
				return nil
			}
			tw := e.table()
			fmt.Fprintln(tw, "NAME\tSTATE\tSINCE\tMETRIC\tCONDITION\tREASON")
			for _, a := range as {
				since := "-"
				if !a.State.UpdatedAt.IsZero() {
					since = time.Since(a.State.UpdatedAt).Round(time.Second).String() + " ago"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Name, alarmStateText(e, a.State.State), since, a.Metric, a.Condition, clipText(a.State.Reason, 90))
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(alarmsHistoryCmd(e), alarmsSetStateCmd(e), alarmsDescribeCmd(e))
	return cmd
}

func clipText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func alarmsDescribeCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "describe NAME",
		Short: "Show an alarm's definition, state and reason data",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := e.client().Alarm(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(a)
			}
			tw := e.table()
			fmt.Fprintf(tw, "Name:\t%s\n", a.Name)
			fmt.Fprintf(tw, "Type:\t%s\n", a.Type)
			fmt.Fprintf(tw, "ARN:\t%s\n", a.ARN)
			fmt.Fprintf(tw, "State:\t%s\n", alarmStateText(e, a.State.State))
			fmt.Fprintf(tw, "Reason:\t%s\n", a.State.Reason)
			if !a.State.UpdatedAt.IsZero() {
				fmt.Fprintf(tw, "Since:\t%s\n", a.State.UpdatedAt.Local().Format(time.RFC3339))
			}
			if !a.State.EvaluatedAt.IsZero() {
				fmt.Fprintf(tw, "Evaluated:\t%s\n", a.State.EvaluatedAt.Local().Format(time.RFC3339))
			}
			fmt.Fprintf(tw, "Metric:\t%s\n", a.Metric)
			fmt.Fprintf(tw, "Condition:\t%s\n", a.Condition)
			for _, k := range []string{"alarmActions", "okActions", "insufficientDataActions"} {
				if v, ok := a.Spec[k]; ok {
					fmt.Fprintf(tw, "%s:\t%v\n", k, v)
				}
			}
			if en, ok := a.Spec["actionsEnabled"].(bool); ok && !en {
				fmt.Fprintln(tw, "Actions:\tdisabled")
			}
			fmt.Fprintf(tw, "Stack:\t%s\n", dash(a.Owner))
			return tw.Flush()
		},
	}
}

func alarmsHistoryCmd(e *env) *cobra.Command {
	var typ string
	var limit int
	c := &cobra.Command{
		Use:   "history [NAME]",
		Short: "Show alarm history (state changes and actions), newest first",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			switch typ {
			case "", "StateUpdate", "ConfigurationUpdate", "Action":
			default:
				return usageErr(cmd, "--type %q is not StateUpdate, ConfigurationUpdate or Action", typ)
			}
			hs, err := e.client().AlarmHistory(cmd.Context(), name, typ, limit)
			if err != nil {
				return err
			}
			if e.json() {
				for _, h := range hs {
					if err := e.printJSONLine(h); err != nil {
						return err
					}
				}
				return nil
			}
			tw := e.table()
			fmt.Fprintln(tw, "TIME\tALARM\tTYPE\tSUMMARY")
			for _, h := range hs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h.Timestamp.Local().Format("2006-01-02 15:04:05"), h.AlarmName, h.Type, h.Summary)
			}
			return tw.Flush()
		},
	}
	c.Flags().StringVar(&typ, "type", "", "only StateUpdate, ConfigurationUpdate or Action items")
	c.Flags().IntVar(&limit, "limit", 50, "at most this many items")
	return c
}

func alarmsSetStateCmd(e *env) *cobra.Command {
	var reason string
	c := &cobra.Command{
		Use:     "set-state NAME OK|ALARM|INSUFFICIENT_DATA",
		Short:   "Set an alarm's state until its next evaluation, running its actions (SetAlarmState, for testing)",
		Example: "  madang alarms set-state high-cpu ALARM --reason 'testing the webhook'",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch args[1] {
			case "OK", "ALARM", "INSUFFICIENT_DATA":
			default:
				return usageErr(cmd, "state %q is not OK, ALARM or INSUFFICIENT_DATA", args[1])
			}
			if err := e.client().SetAlarmState(cmd.Context(), args[0], args[1], reason); err != nil {
				return err
			}
			if !e.json() {
				fmt.Fprintf(e.stdout, "alarm %s set to %s until its next evaluation\n", args[0], args[1])
			}
			return nil
		},
	}
	c.Flags().StringVar(&reason, "reason", "set by hand with madang alarms set-state", "the state reason")
	return c
}

// color reports whether stdout is a terminal that takes colours (NO_COLOR
// unset).
func (e *env) color() bool {
	f, ok := e.stdout.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
