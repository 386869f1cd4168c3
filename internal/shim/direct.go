package shim

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// directCommand returns the command that argv runs, without the shell,
// when argv is /bin/sh -c 'exec WORD…' whose words the shell would pass
// on unchanged: only letters, digits and _ . / : @ % + , = - in each
// (so no expansion, quoting, globbing, comment or redirection), and no =
// in the program's word. Running it directly saves the start of a shell
// before each start of the app. ok is false for anything else.
//
// What the shell would do is done here too: the program is looked up in
// PATH when its word has no slash (exec.LookPath, which refuses a match
// in a relative PATH entry: the caller then runs the shell), and PWD is
// set to the physical working directory, as the shell exports it.
// Whenever the direct start fails (no such program, not executable, not
// a binary), the caller starts argv with the shell after all, so the
// app's log and exit status are the shell's, as before.
func directCommand(argv []string, dir string, env []string) (cmd *exec.Cmd, ok bool) {
	if len(argv) != 3 || argv[0] != "/bin/sh" || argv[1] != "-c" {
		return nil, false
	}
	rest, found := strings.CutPrefix(argv[2], "exec ")
	if !found {
		return nil, false
	}
	words := strings.Fields(rest)
	if len(words) == 0 || strings.ContainsRune(words[0], '=') || strings.ContainsAny(rest, "\n\r\v\f") {
		return nil, false
	}
	for _, w := range words {
		if !plainWord(w) {
			return nil, false
		}
	}
	pwd, err := filepath.EvalSymlinks(dir)
	if err != nil || !filepath.IsAbs(pwd) {
		return nil, false
	}
	name := words[0]
	if !strings.Contains(name, "/") {
		// Looked up in the app's PATH, not the shim's.
		p, err := lookPath(name, env)
		if err != nil {
			return nil, false
		}
		name = p
	}
	cmd = exec.Command(name, words[1:]...)
	if cmd.Err != nil {
		return nil, false
	}
	cmd.Args[0] = words[0]
	cmd.Env = withPWD(env, pwd)
	return cmd, true
}

// lookPath finds name in the PATH of env as exec.LookPath does in the
// process's own: only absolute entries (a relative one makes it fail, and
// the caller runs the shell instead), executable regular files.
func lookPath(name string, env []string) (string, error) {
	path := "/usr/local/bin:/usr/bin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" || !filepath.IsAbs(dir) {
			return "", exec.ErrDot
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// plainWord reports whether the shell passes w on as it is.
func plainWord(w string) bool {
	for _, r := range w {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		case strings.ContainsRune("_./:@%+,=-", r):
		default:
			return false
		}
	}
	return w != ""
}

// withPWD returns env with PWD set to pwd.
func withPWD(env []string, pwd string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, "PWD=") {
			out = append(out, kv)
		}
	}
	return append(out, "PWD="+pwd)
}
