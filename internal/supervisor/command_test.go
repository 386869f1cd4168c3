package supervisor

import (
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestShellArgv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		command string
		want    string // the -c argument
		// output, if set, is what sh prints running want (checks that the
		// rewritten command still works under /bin/sh).
		output string
	}{
		{name: "plain program", command: "./app --port 3000", want: "exec ./app --port 3000"},
		{name: "leading blanks", command: "  \tnode server.js", want: "exec node server.js"},
		{name: "already exec", command: "exec ./app", want: "exec ./app"},
		{name: "quoted arguments", command: `printf '%s|' 'a; b' "c | d"`, want: `exec printf '%s|' 'a; b' "c | d"`, output: "a; b|c | d|"},
		{name: "parentheses inside quotes", command: `node -e "console.log(1)"`, want: `exec node -e "console.log(1)"`},
		{name: "variable expansion", command: `echo "$HOME" $PATH`, want: `exec echo "$HOME" $PATH`},
		{name: "redirections", command: "./app >out.log 2>&1", want: "exec ./app >out.log 2>&1"},
		{name: "assignments before the command", command: "GREETING=annyeong LANG=C printenv GREETING", want: "GREETING=annyeong LANG=C exec printenv GREETING", output: "annyeong\n"},
		{name: "escaped semicolon", command: `echo a\; b`, want: `exec echo a\; b`, output: "a; b\n"},
		{name: "list", command: "cd app; ./server", want: "cd app; ./server"},
		{name: "and list", command: "npm run build && npm start", want: "npm run build && npm start"},
		{name: "pipeline", command: "./app | tee log", want: "./app | tee log"},
		{name: "background", command: "./worker & ./app", want: "./worker & ./app"},
		{name: "bash redirection of both streams", command: "./app &> log", want: "./app &> log"},
		{name: "subshell", command: "(./app)", want: "(./app)"},
		{name: "command substitution", command: "./app $(cat flags)", want: "./app $(cat flags)"},
		{name: "backticks", command: "./app `cat flags`", want: "./app `cat flags`"},
		{name: "backticks inside double quotes", command: "./app \"`cat flags`\"", want: "./app \"`cat flags`\""},
		{name: "two lines", command: "./migrate\n./app", want: "./migrate\n./app"},
		{name: "line continuation", command: "./app \\\n --port 1", want: "./app \\\n --port 1"},
		{name: "keyword if", command: "if true; then ./app; fi", want: "if true; then ./app; fi"},
		{name: "keyword while without separators", command: "while true", want: "while true"},
		{name: "brace group", command: "{ ./app }", want: "{ ./app }"},
		{name: "negation", command: "! ./app", want: "! ./app"},
		{name: "builtin without a program", command: "cd /srv", want: "cd /srv"},
		{name: "only an assignment", command: "A=1", want: "A=1"},
		{name: "assignment with a quoted value", command: `A="x y" ./app`, want: `A="x y" ./app`},
		{name: "unterminated quote", command: `./app 'oops`, want: `./app 'oops`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := shellArgv(tc.command)
			if want := []string{"/bin/sh", "-c", tc.want}; !slices.Equal(got, want) {
				t.Errorf("shellArgv(%q) = %q, want %q", tc.command, got, want)
			}
			if tc.output == "" {
				return
			}
			out, err := exec.Command(got[0], got[1:]...).CombinedOutput()
			if err != nil || string(out) != tc.output {
				t.Errorf("sh -c %q: %q, %v; want %q", got[2], out, err, tc.output)
			}
		})
	}
}

// TestShellArgvExecReplacesShell checks that a simple command's process
// is the app itself, a direct child of the process that started the
// shell.
func TestShellArgvExecReplacesShell(t *testing.T) {
	t.Parallel()
	argv := shellArgv(`sh -c 'echo $PPID'`)
	out, err := exec.Command(argv[0], argv[1:]...).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(out)), strconv.Itoa(os.Getpid()); got != want {
		t.Errorf("parent of the command = %s, want this process (%s): the shell did not exec it", got, want)
	}
}
