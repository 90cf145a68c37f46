package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/ambx/ambx/kube/logfile"
	"github.com/ambx/ambx/kube/safe"
)

// newLogsCommand is `ambx logs [FILE|-]`: the ztunnel parser over a saved
// or piped log, without a cluster.
func newLogsCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "logs [FILE|-]",
		Short: "parse a saved or piped ztunnel log (kubectl logs, stern, Loki exports) into columns or JSON",
		Long: "Reads a ztunnel log from FILE, or from stdin when FILE is - or missing, and prints each line's\n" +
			"parsed columns (time, level, scope, connection, error) with a hint for known errors, or with\n" +
			"-o json one JSON array of parsed lines. Every ztunnel format is read: the Istio format (1.22+),\n" +
			"LOG_FORMAT=json, and the tracing format of 1.21 and earlier (with or without colours), each\n" +
			"with or without a kubectl --prefix, stern or Loki/Grafana prefix.",
		Example: "  kubectl logs -n istio-system ds/ztunnel | ambx logs -\n  ambx logs ztunnel.log -o json | jq '.[] | select(.hint)'",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			o := logfile.Options{}
			if len(args) == 1 {
				o.Path = args[0]
			}
			switch output {
			case "", "text", "wide":
			case "json":
				o.JSON = true
			default:
				return usageError{fmt.Errorf("-o %s: want text or json", safe.Line(output))}
			}
			if err := logfile.Run(o, stdin, stdout); err != nil {
				fmt.Fprintf(stderr, "ambx logs: %s\n", safe.Line(err.Error()))
				return exitCode(1)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
