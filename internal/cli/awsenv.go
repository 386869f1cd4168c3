package cli

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/daemon"
	"github.com/madang-dev/madang/internal/fault"
)

// awsFlags are the AWS endpoint's flags of madang server and madang up.
type awsFlags struct {
	listen, auth, account, region string
	resetEndpoint                 bool
}

func (f *awsFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.listen, "aws-listen", cmp.Or(os.Getenv("MADANG_AWS_LISTEN"), daemon.DefaultAWSListen), "serve the AWS-compatible endpoint (for aws --endpoint-url and the SDKs) on this host:port ($MADANG_AWS_LISTEN; port 0 picks a free one); off disables it")
	fs.StringVar(&f.auth, "aws-auth", daemon.AWSAuthRequired, "AWS endpoint authentication: required (SigV4 with madang's access keys) or off (unsigned requests accepted; loopback addresses only)")
	fs.StringVar(&f.account, "aws-account", "", "the 12-digit AWS account id of madang's ARNs (stored; default: the stored one, 000000000000 at first)")
	fs.BoolVar(&f.resetEndpoint, "aws-reset-endpoint", false, "serve POST /moto-api/reset and /madang-api/reset on the AWS endpoint to clients on this machine: a clean slate between tests, unauthenticated like Moto's (default off)")
	fs.StringVar(&f.region, "aws-region", "", "the one AWS region madang serves, such as local or us-east-1 (stored; default: the stored one, local at first)")
}

func (f *awsFlags) apply(cfg *daemon.Config) {
	cfg.AWSListen, cfg.AWSAuth, cfg.AWSAccount, cfg.AWSRegion = f.listen, f.auth, f.account, f.region
	cfg.AWSResetEndpoint = f.resetEndpoint
}

// awsClientSettings fetches the settings clients need and checks they
// are usable: an endpoint is served and there is a default key.
func awsClientSettings(ctx context.Context, e *env) (v1.AWSSettings, error) {
	s, err := e.client().AWSSettings(ctx)
	if err != nil {
		return s, err
	}
	switch {
	case !s.Enabled:
		return s, fault.New(fault.Unavailable, "", "", "the daemon serves no AWS endpoint (it was started with --aws-listen off)",
			"restart it with --aws-listen "+daemon.DefaultAWSListen)
	case s.AccessKeyID == "":
		return s, fault.New(fault.NotFound, "access-key", "", "there is no default access key (it was deleted)",
			"the daemon's next start makes a new one; meanwhile `madang iam create-access-key` prints a key to use")
	}
	if s.AccessKeyStatus != "" && s.AccessKeyStatus != "Active" {
		fmt.Fprintf(e.stderr, "madang: warning: the default access key %s is %s; requests it signs are refused until `madang iam update-access-key %s --status Active`\n",
			s.AccessKeyID, s.AccessKeyStatus, s.AccessKeyID)
	}
	return s, nil
}

// envVars are the variables aws-env sets, in order.
func envVars(s v1.AWSSettings) [][2]string {
	return [][2]string{
		{"AWS_ENDPOINT_URL", s.EndpointURL},
		{"AWS_ACCESS_KEY_ID", s.AccessKeyID},
		{"AWS_SECRET_ACCESS_KEY", s.SecretAccessKey},
		{"AWS_REGION", s.Region},
		{"AWS_DEFAULT_REGION", s.Region},
		// Some operations (CloudWatch Logs' StartLiveTail) put a prefix
		// in front of the endpoint's host ("stream-127.0.0.1"), which does
		// not resolve; the clients leave it off with this set.
		{"AWS_DISABLE_HOST_PREFIX_INJECTION", "true"},
	}
}

func awsEnvCmd(e *env) *cobra.Command {
	var shell string
	c := &cobra.Command{
		Use:   "aws-env [--shell sh|fish|powershell]",
		Short: "Print the environment that points AWS clients at madang (eval \"$(madang aws-env)\")",
		Long: "Print shell commands that set AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,\n" +
			"AWS_REGION and AWS_DEFAULT_REGION to madang's AWS endpoint, default access key and region,\n" +
			"AWS_DISABLE_HOST_PREFIX_INJECTION=true (StartLiveTail would otherwise be sent to\n" +
			"stream-127.0.0.1, which does not resolve), and unset AWS_SESSION_TOKEN (madang issues no\n" +
			"session tokens). The aws CLI, boto3 and the AWS SDKs then talk to madang. -o json prints\n" +
			"the settings as JSON instead.",
		Example: "  eval \"$(madang aws-env)\"\n  madang aws-env --shell fish | source\n  madang aws-env --shell powershell | Invoke-Expression",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if shell != "sh" && shell != "fish" && shell != "powershell" {
				return usageErr(cmd, "--shell %q is not sh, fish or powershell", shell)
			}
			s, err := awsClientSettings(cmd.Context(), e)
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(s)
			}
			fmt.Fprint(e.stdout, shellEnv(shell, envVars(s)))
			return nil
		},
	}
	c.Flags().StringVar(&shell, "shell", "sh", "syntax: sh (bash, zsh), fish or powershell")
	return c
}

// shellEnv renders variable assignments, and the unset of
// AWS_SESSION_TOKEN, in a shell's syntax, values quoted.
func shellEnv(shell string, vars [][2]string) string {
	var b strings.Builder
	for _, v := range vars {
		switch shell {
		case "fish":
			fmt.Fprintf(&b, "set -gx %s %s;\n", v[0], shQuote(v[1]))
		case "powershell":
			fmt.Fprintf(&b, "$Env:%s = '%s'\n", v[0], strings.ReplaceAll(v[1], "'", "''"))
		default:
			fmt.Fprintf(&b, "export %s=%s\n", v[0], shQuote(v[1]))
		}
	}
	switch shell {
	case "fish":
		b.WriteString("set -e AWS_SESSION_TOKEN;\n")
	case "powershell":
		b.WriteString("Remove-Item Env:AWS_SESSION_TOKEN -ErrorAction SilentlyContinue\n")
	default:
		b.WriteString("unset AWS_SESSION_TOKEN\n")
	}
	return b.String()
}

// shQuote quotes s for sh and fish: in single quotes, each single quote
// inside closing the quotes, escaped with a backslash, and reopening them.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

var profileRe = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

func awsConfigCmd(e *env) *cobra.Command {
	var profile string
	c := &cobra.Command{
		Use:   "aws-config [--profile madang]",
		Short: "Print a profile for ~/.aws/config and its keys for ~/.aws/credentials",
		Long: "Print an AWS CLI/SDK profile that points at madang: a section for ~/.aws/config with\n" +
			"endpoint_url and region, and one for ~/.aws/credentials with the default access key.\n" +
			"A comment line above each says which file it goes in. Then use the profile with\n" +
			"--profile NAME or AWS_PROFILE=NAME. -o json prints the settings as JSON instead.",
		Example: "  madang aws-config\n  madang aws-config --profile local-dev\n  aws --profile madang sts get-caller-identity",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !profileRe.MatchString(profile) {
				return usageErr(cmd, "--profile %q is not a profile name; use letters, digits and ._-", profile)
			}
			s, err := awsClientSettings(cmd.Context(), e)
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(s)
			}
			fmt.Fprint(e.stdout, profileText(profile, s))
			return nil
		},
	}
	c.Flags().StringVar(&profile, "profile", "madang", "the profile's name")
	return c
}

// profileText renders the two sections of an AWS profile.
func profileText(profile string, s v1.AWSSettings) string {
	section := "profile " + profile
	if profile == "default" {
		section = "default"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Add to ~/.aws/config:\n[%s]\nregion = %s\nendpoint_url = %s\ndisable_host_prefix_injection = true\n\n", section, s.Region, s.EndpointURL)
	fmt.Fprintf(&b, "# Add to ~/.aws/credentials:\n[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n", profile, s.AccessKeyID, s.SecretAccessKey)
	return b.String()
}
