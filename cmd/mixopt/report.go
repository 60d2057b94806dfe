package main

import (
	"fmt"

	"github.com/mixopt/mixopt/pipeline"
	"github.com/mixopt/mixopt/report"
	"github.com/spf13/cobra"
)

// reporter returns the report stage of plan.
func (a *app) reporter() pipeline.Reporter {
	return func(dir string) ([]string, error) {
		r, err := report.Write(dir, report.Options{Version: version})
		if err != nil {
			return nil, err
		}
		for _, n := range r.Notes {
			a.log.Warn("report", "note", n)
		}
		return r.Files, nil
	}
}

func newReportCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Write report.html and the figures of a run",
		Long: `report reads the tables of a run directory and writes report.html, one
self-contained page that opens offline: the effects heatmap (task × category, with
intervals), the weights against the prior with intervals, predicted gains, and the
validation comparison; plus the same figures as PNG and SVG under figures/.
Sections whose tables are missing say which command makes them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, _ := cmd.Flags().GetString("run")
			title, _ := cmd.Flags().GetString("title")
			maxTasks, _ := cmd.Flags().GetInt("max-tasks")
			r, err := report.Write(dir, report.Options{Title: title, MaxTasks: maxTasks, Version: version})
			if err != nil {
				return err
			}
			for _, n := range r.Notes {
				fmt.Fprintln(a.stderr, "note:", n)
			}
			for _, f := range r.Files {
				fmt.Fprintln(a.stdout, "wrote", f)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.String("run", "", "run directory")
	f.String("title", "", "page title (default: mixopt report: <run id>)")
	f.Int("max-tasks", 0, "rows of the heatmap figure (0: all tasks)")
	_ = cmd.MarkFlagRequired("run")
	return cmd
}
