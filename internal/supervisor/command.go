package supervisor

import "strings"

// shellArgv returns the command line that runs command with /bin/sh. A
// simple command (one command, no lists, pipes, subshells or compound
// commands) is prefixed with exec, so the shell replaces itself with the
// app: the app is then the shim's direct child, it receives the stop
// signal itself and its exit status is its own (a SIGKILL shows as
// SIGKILL rather than as the shell's exit code 137), and no shell
// lingers beside each app. Anything else runs as given. (The shim starts
// an exec of plain words without the shell at all; see package shim.)
func shellArgv(command string) []string {
	if c, ok := execCommand(command); ok {
		return []string{"/bin/sh", "-c", c}
	}
	return []string{"/bin/sh", "-c", command}
}

// notExecable are words that cannot follow exec: shell keywords, which
// start compound commands, and builtins that have no program of their own.
var notExecable = map[string]bool{
	// Reserved words and the like.
	"!": true, "{": true, "}": true, "[[": true, "]]": true, "case": true, "coproc": true,
	"do": true, "done": true, "elif": true, "else": true, "esac": true, "fi": true,
	"for": true, "function": true, "if": true, "in": true, "select": true, "then": true,
	"time": true, "until": true, "while": true,
	// Builtins without a program.
	".": true, ":": true, "alias": true, "bg": true, "break": true, "cd": true,
	"command": true, "continue": true, "eval": true, "exit": true, "export": true,
	"fg": true, "getopts": true, "hash": true, "jobs": true, "local": true,
	"read": true, "readonly": true, "return": true, "set": true, "shift": true,
	"source": true, "times": true, "trap": true, "type": true, "ulimit": true,
	"umask": true, "unalias": true, "unset": true, "wait": true,
}

// execCommand returns command with exec put in front of its command
// word (after any leading NAME=value assignments), and whether command
// is simple enough for that. A command that already starts with exec is
// returned as is.
func execCommand(command string) (string, bool) {
	if !singleCommand(command) {
		return "", false
	}
	rest := strings.TrimLeft(command, " \t")
	var assigns []string
	for {
		word, after := rest, ""
		if i := strings.IndexAny(rest, " \t"); i >= 0 {
			word, after = rest[:i], rest[i:]
		}
		switch {
		case word == "":
			return "", false // nothing but assignments
		case isAssignment(word):
			assigns = append(assigns, word)
			rest = strings.TrimLeft(after, " \t")
			continue
		case strings.Contains(word, "=") && strings.ContainsAny(word, "'\"\\$`"):
			// Perhaps an assignment with a quoted value: leave it to sh.
			return "", false
		case word == "exec":
			return command, true
		case notExecable[word]:
			return "", false
		}
		if len(assigns) == 0 {
			return "exec " + rest, true
		}
		return strings.Join(assigns, " ") + " exec " + rest, true
	}
}

// isAssignment reports whether word is NAME=value with a plain value (no
// quotes, escapes or expansions).
func isAssignment(word string) bool {
	name, value, ok := strings.Cut(word, "=")
	if !ok || name == "" || strings.ContainsAny(value, "'\"\\$`") {
		return false
	}
	for i, r := range name {
		letter := r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// singleCommand reports whether command has, outside quotes, none of the
// characters that make lists, pipelines, background jobs, subshells or
// multi-line scripts (; & | ( ) ` and newline; & is allowed in the >& and
// <& redirections), and has no unterminated quote.
func singleCommand(command string) bool {
	if strings.TrimSpace(command) == "" {
		return false
	}
	var quote byte // ' or " while inside quotes
	for i := 0; i < len(command); i++ {
		ch := command[i]
		switch {
		case quote == '\'':
			if ch == '\'' {
				quote = 0
			}
		case ch == '\\':
			if i+1 < len(command) && command[i+1] == '\n' {
				return false // a line continuation
			}
			i++ // the next character is literal
		case quote == '"':
			switch ch {
			case '"':
				quote = 0
			case '`':
				return false
			}
		case ch == '\'' || ch == '"':
			quote = ch
		case ch == '&':
			if i == 0 || (command[i-1] != '>' && command[i-1] != '<') {
				return false
			}
		case strings.IndexByte(";|()`\n\r", ch) >= 0:
			return false
		}
	}
	return quote == 0
}
