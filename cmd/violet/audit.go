package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"

	"github.com/spf13/cobra"

	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/server"
	"github.com/violet-mlsecops/violet/store"
)

func newAuditCommand() *cobra.Command {
	audit := &cobra.Command{
		Use:   "audit",
		Short: "Check the server's audit log",
		Args:  cobra.NoArgs,
	}
	o := &storeOptions{}
	var serverURL string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Verify the hash chain of the server's audit log",
		Long: `Walk the server's audit log and check its hash chain: exit 0 and print the
head (sequence number and hash: keep it outside the database, and compare
later) when it is intact; exit 1 naming the first broken record otherwise.

Read the log from the database (--data DIR or --database URL), or from a
running server over its API (--server URL, with an admin's API token of team
admin in ` + TokenEnv + `): the chain is then recomputed here, with the same hash
as the server's.`,
		Example: `  violet audit verify --data /var/lib/violet
  VIOLET_TOKEN=$(cat /var/lib/violet/admin.token) violet audit verify --server https://violet.example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			var head store.AuditHead
			var err error
			if serverURL != "" {
				head, err = verifyOverAPI(ctx, o, serverURL)
			} else {
				head, err = verifyDatabase(ctx, o)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Audit log intact: %d records, head seq %d hash %s\n", head.Seq, head.Seq, head.Hash)
			return nil
		},
	}
	verify.Long = withExitCodes(verify.Long, "audit verify")
	o.addFlags(verify, "the server's data folder `DIR`")
	verify.Flags().StringVar(&serverURL, "server", "", "read the log from the Violet server at `URL` over its API (an admin's token in "+TokenEnv+")")
	audit.AddCommand(verify)
	return audit
}

// auditBroken is the exit of a chain that does not verify.
func auditBroken(b *store.AuditBreak, where string) error {
	return exitError{code: report.ExitFindings, msg: b.Error() + where}
}

// verifyDatabase verifies the chain in the store of o.
func verifyDatabase(ctx context.Context, o *storeOptions) (store.AuditHead, error) {
	st, err := o.open(ctx)
	if err != nil {
		return store.AuditHead{}, err
	}
	defer st.Close()
	head, err := st.VerifyAudit(ctx)
	var b *store.AuditBreak
	if errors.As(err, &b) {
		return head, auditBroken(b, "")
	}
	if err != nil {
		return head, usageError(err)
	}
	return head, nil
}

// verifyOverAPI reads the log of the server at serverURL page by page and
// verifies the chain here.
func verifyOverAPI(ctx context.Context, o *storeOptions, serverURL string) (store.AuditHead, error) {
	if o.data != "" || o.database != "" {
		return store.AuditHead{}, usageError(errors.New("--server reads the log over the API: give it without --data or --database"))
	}
	if p, err := url.Parse(serverURL); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return store.AuditHead{}, usageError(fmt.Errorf("--server %q: want http(s)://host[:port]", serverURL))
	}
	token := os.Getenv(TokenEnv)
	if token == "" {
		return store.AuditHead{}, usageError(fmt.Errorf("--server needs an API token of an admin of team admin in %s", TokenEnv))
	}
	head, err := (&server.Client{BaseURL: serverURL, Token: token}).VerifyAudit(ctx)
	var b *store.AuditBreak
	var ae *server.APIError
	switch {
	case errors.As(err, &b):
		return head, auditBroken(b, " (read from "+serverURL+")")
	case errors.As(err, &ae):
		return head, usageError(fmt.Errorf("the server refused to list its audit log: %d %s: %s", ae.Status, ae.Code, ae.Message))
	case err != nil:
		return head, usageError(err)
	}
	return head, nil
}
