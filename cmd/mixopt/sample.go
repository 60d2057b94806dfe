package main

import (
	"fmt"

	"github.com/mixopt/mixopt/dataset"
	"github.com/mixopt/mixopt/sampler"
	"github.com/spf13/cobra"
)

func newSampleCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sample",
		Short: "Materialise the deterministic mixed stream into an Arrow file",
		Long: `sample writes stream positions [start, start+examples) of the sampler config's
deterministic mixing sampler to an Arrow IPC file: per row the position, task,
example id and the example's text fields. Every prefix holds each task within one
example of its share, and any position can be reproduced without the prefix.
Memory stays bounded whatever the number of examples.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			path, _ := f.GetString("config")
			out, _ := f.GetString("out")
			n, _ := f.GetInt64("examples")
			start, _ := f.GetInt64("start")
			if n <= 0 {
				return fmt.Errorf("--examples: %d must be positive", n)
			}
			if start < 0 {
				return fmt.Errorf("--start: %d must be >= 0", start)
			}
			sc, err := sampler.Load(path)
			if err != nil {
				return err
			}
			src, err := sampler.LoadSource(sc, dataset.TaskOptions{})
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			tr, done := a.tracker("sample")
			defer done()
			tr.SetTotal(1, 0)
			tr.Start("sample", out, n)
			err = sampler.Materialise(cmd.Context(), sc, src, out, sampler.MaterialiseOptions{
				Start: start, Examples: n,
				Progress: func(done, _ int64) { tr.Update("sample", done) },
			})
			tr.Finish("sample", err)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "wrote %s: positions %d to %d\n", out, start, start+n-1)
			return nil
		},
	}
	f := cmd.Flags()
	f.String("config", "sampler.yaml", "sampler config")
	f.Int64("examples", 0, "number of stream positions to write")
	f.Int64("start", 0, "first stream position")
	f.String("out", "mixed.arrow", "Arrow IPC file to write")
	_ = cmd.MarkFlagRequired("examples")
	return cmd
}
