package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/madang-dev/madang/internal/iam"
)

func iamCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "iam",
		Short: "Access keys for AWS clients (aws CLI, SDKs) to sign requests to madang with",
		Long: "Access keys sign the requests AWS clients send to madang's AWS endpoint (Signature\n" +
			"Version 4). madang makes a default key pair for the user admin on its first start;\n" +
			"`madang aws-env` and `madang aws-config` print it with the endpoint and region. A user\n" +
			"holds at most 2 keys, as in AWS. The sub-commands are named as the aws CLI's.",
	}
	cmd.AddCommand(iamCreateKeyCmd(e), iamListKeysCmd(e), iamDeleteKeyCmd(e), iamUpdateKeyCmd(e))
	return cmd
}

func iamCreateKeyCmd(e *env) *cobra.Command {
	var user string
	c := &cobra.Command{
		Use:   "create-access-key [--user NAME]",
		Short: "Create an access key and print its secret (shown only this once)",
		Long: "Create an active access key for a user (default: admin) and print its id and secret\n" +
			"access key. The secret is shown only now: madang keeps it to verify signatures but\n" +
			"lists only the ids. A user holds at most 2 keys; delete one to make room.",
		Example: "  madang iam create-access-key\n  madang iam create-access-key --user ci -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if user != "" {
				if err := iam.ValidateUserName(user); err != nil {
					return usageErr(cmd, "--user: %v", err)
				}
			}
			k, err := e.client().CreateAccessKey(cmd.Context(), user)
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(k)
			}
			tw := e.table()
			fmt.Fprintf(tw, "AccessKeyId:\t%s\n", k.AccessKeyID)
			fmt.Fprintf(tw, "SecretAccessKey:\t%s\n", k.SecretAccessKey)
			fmt.Fprintf(tw, "UserName:\t%s\n", k.UserName)
			fmt.Fprintf(tw, "Status:\t%s\n", k.Status)
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, "The secret is shown only this once; keep it now (e.g. in ~/.aws/credentials).")
			return nil
		},
	}
	c.Flags().StringVar(&user, "user", "", "the user the key is for (default admin)")
	return c
}

func iamListKeysCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "list-access-keys",
		Aliases: []string{"ls"},
		Short:   "List the access keys (ids, users, statuses; never the secrets)",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ks, err := e.client().AccessKeys(cmd.Context())
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(ks)
			}
			if len(ks) == 0 {
				fmt.Fprintln(e.stdout, "no access keys; create one with `madang iam create-access-key` (a restart of the daemon also makes a new default one)")
				return nil
			}
			tw := e.table()
			fmt.Fprintln(tw, "ACCESS KEY ID\tUSER\tSTATUS\tCREATED\tDEFAULT")
			for _, k := range ks {
				def := ""
				if k.Default {
					def = "yes (madang aws-env)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.AccessKeyID, k.UserName, k.Status, k.CreateDate.Local().Format("2006-01-02 15:04:05"), def)
			}
			return tw.Flush()
		},
	}
}

func iamDeleteKeyCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "delete-access-key ID",
		Short: "Delete an access key; requests it signs are refused from then on",
		Long: "Delete an access key. Requests signed with it are refused (InvalidClientTokenId) at once.\n" +
			"Deleting the default key leaves none for `madang aws-env` until the daemon's next start\n" +
			"makes a new default key.",
		Example: "  madang iam delete-access-key AKIAIOSFODNN7EXAMPLE",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.client().DeleteAccessKey(cmd.Context(), args[0]); err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(map[string]string{"accessKeyId": args[0], "deleted": "true"})
			}
			fmt.Fprintf(e.stdout, "deleted access key %s\n", args[0])
			return nil
		},
	}
}

func iamUpdateKeyCmd(e *env) *cobra.Command {
	var status string
	c := &cobra.Command{
		Use:   "update-access-key ID --status Active|Inactive",
		Short: "Make an access key Active or Inactive (an inactive key signs nothing)",
		Long: "Make an access key Active or Inactive. Requests signed with an inactive key are refused\n" +
			"(InvalidClientTokenId) until it is made Active again.",
		Example: "  madang iam update-access-key AKIAIOSFODNN7EXAMPLE --status Inactive",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if status == "" {
				return usageErr(cmd, "--status is required: Active or Inactive")
			}
			if err := iam.ValidateStatus(status); err != nil {
				return usageErr(cmd, "--status: %v", err)
			}
			k, err := e.client().SetAccessKeyStatus(cmd.Context(), args[0], status)
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(k)
			}
			fmt.Fprintf(e.stdout, "access key %s is %s\n", k.AccessKeyID, k.Status)
			return nil
		},
	}
	c.Flags().StringVar(&status, "status", "", "Active or Inactive (required)")
	return c
}
