package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mixopt/mixopt/dataset"
	"github.com/mixopt/mixopt/pipeline"
	"github.com/mixopt/mixopt/sampler"
	"github.com/spf13/cobra"
)

func formatNames() string {
	var names []string
	for _, f := range sampler.Formats() {
		names = append(names, f.Name)
	}
	return strings.Join(names, ", ")
}

func newExportCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write a sampler config in a trainer's own mixture format",
		Long: `export turns sampler.yaml into a file a trainer reads unchanged (` + formatNames() + `),
with a header stating what the weights mean there, and prints the realised epochs
per task for the planned budget with warnings for heavy repetition or tasks that
get less than one example. When the datasets the config names are present, their
content hashes are checked first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			path, _ := f.GetString("config")
			format, _ := f.GetString("format")
			out, _ := f.GetString("out")
			maxEpochs, _ := f.GetFloat64("max-epochs")
			sc, err := sampler.Load(path)
			if err != nil {
				return err
			}
			if err := verifyData(a, sc, path); err != nil {
				return err
			}
			formats := []string{format}
			if format == "all" {
				formats = nil
			}
			if out == "" {
				out = filepath.Join(filepath.Dir(path), pipeline.ExportsDir)
			}
			res, err := pipeline.Export(sc, out, formats, maxEpochs)
			if err != nil {
				return err
			}
			for _, p := range res.Files {
				fmt.Fprintln(a.stdout, "wrote", p)
			}
			return res.Report.WriteText(a.stdout)
		},
	}
	f := cmd.Flags()
	f.String("config", "sampler.yaml", "sampler config (sampler.yaml or .json)")
	f.String("format", "all", "export format: "+formatNames()+", or all")
	f.String("out", "", "output folder (default: exports/ beside the config)")
	f.Float64("max-epochs", 0, "warn where a task repeats more than this many epochs (0: 15)")
	_ = cmd.MarkFlagRequired("format")
	return cmd
}

// verifyData checks the config's content hashes against its datasets when
// they are present; a mismatch is an error, absent data a warning.
func verifyData(a *app, sc *sampler.Config, path string) error {
	for _, t := range sc.Tasks {
		if _, err := os.Stat(t.Source); err != nil {
			a.log.Warn("dataset not present here; content hashes not checked", "config", path, "task", t.Name, "source", t.Source)
			return nil
		}
	}
	if _, err := sampler.LoadSource(sc, dataset.TaskOptions{}); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	a.log.Info("datasets match the config's content hashes", "config", path, "tasks", len(sc.Tasks))
	return nil
}
