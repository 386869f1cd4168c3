package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/api/v1"
)

func listLogGroups(cmd *cobra.Command, e *env) error {
	gs, err := e.client().LogGroups(cmd.Context())
	if err != nil {
		return err
	}
	if e.json() {
		return e.printJSON(gs)
	}
	tw := e.table()
	fmt.Fprintln(tw, "LOG GROUP\tSTREAMS\tRETENTION\tSTORED")
	for _, g := range gs {
		ret := "never expire"
		if g.RetentionInDays > 0 {
			ret = fmt.Sprintf("%d days", g.RetentionInDays)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", g.Name, len(g.Streams), ret, sizeText(g.StoredBytes))
	}
	return tw.Flush()
}

// filterLogs prints a log group's (or an instance's or group's) events
// matching a CloudWatch filter pattern, then follows new ones.
func filterLogs(cmd *cobra.Command, e *env, ref, pattern string, lines int, since time.Duration, follow bool) error {
	c := e.client()
	q := api.LogQuery{Filter: pattern, Follow: follow}
	if strings.HasPrefix(ref, "/") {
		q.Groups = []string{ref}
	} else {
		ids, err := resolve(cmd.Context(), c, []string{ref})
		if err != nil {
			return err
		}
		q.Streams = ids
	}
	if since > 0 {
		q.Start = time.Now().Add(-since)
	}
	var page []v1.LogEvent
	print := func(ev v1.LogEvent) {
		if e.json() {
			_ = e.printJSONLine(ev)
			return
		}
		origin := ""
		switch ev.Origin {
		case "err":
			origin = "ERR "
		case "sys":
			origin = "madang: "
		}
		fmt.Fprintf(e.stdout, "%s %s %s%s\n", ev.Timestamp.Local().Format("2006-01-02 15:04:05.000"), ev.Stream, origin, ev.Message)
	}
	// Existing events: every page, keeping the last `lines`.
	more := false
	err := c.LogEvents(cmd.Context(), api.LogQuery{Groups: q.Groups, Streams: q.Streams, Filter: q.Filter, Start: q.Start}, func(ev v1.LogEvent) {
		if ev.NextToken != "" {
			more = true
			return
		}
		page = append(page, ev)
	})
	if err != nil {
		return err
	}
	if lines > 0 && len(page) > lines {
		page = page[len(page)-lines:]
	}
	for _, ev := range page {
		print(ev)
	}
	if more && !e.json() {
		fmt.Fprintln(e.stderr, "(more events matched than one page holds; narrow with --since or a tighter --filter)")
	}
	if !follow {
		return nil
	}
	q.Start = time.Now()
	if len(page) > 0 {
		q.Start = page[len(page)-1].Timestamp.Add(time.Nanosecond)
	}
	return c.LogEvents(cmd.Context(), q, func(ev v1.LogEvent) {
		if ev.NextToken == "" {
			print(ev)
		}
	})
}
