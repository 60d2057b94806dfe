package main

import (
	"fmt"

	"github.com/mixopt/mixopt/experiments"
	"github.com/mixopt/mixopt/tailpatch"
	"github.com/spf13/cobra"
)

func newPatchCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "patch",
		Short: "Run tail patches and measure each task's effect on the target",
		Long: `patch trains (or adopts) a base checkpoint, runs one short fine-tune per task
and seed from it plus a control patch per seed, evaluates every checkpoint on the
target, and writes patches, effects and effects_bootstrap (.arrow and .parquet)
and jobs.arrow into the run directory. Rerunning it on the same directory resumes:
finished jobs are never run again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, v, err := a.experiment(cmd, experimentFlags)
			if err != nil {
				return err
			}
			if err := saveConfig(v, cfg.Out); err != nil {
				return err
			}
			sum, err := a.runPatches(cmd, cfg)
			if err != nil {
				return err
			}
			return printPatchSummary(a.stdout, sum)
		},
	}
	addExperimentFlags(cmd.Flags())
	return cmd
}

// runPatches runs the tail-patch stage of cfg.
func (a *app) runPatches(cmd *cobra.Command, cfg *experiments.Config) (*tailpatch.Summary, error) {
	tr, done := a.tracker("tail patches")
	defer done()
	eps, release, err := a.endpoints(cfg)
	if err != nil {
		return nil, err
	}
	defer release()
	sched, err := a.schedulerConfig(cmd, cfg, tr)
	if err != nil {
		return nil, err
	}
	sum, err := tailpatch.Run(cmd.Context(), cfg.TailPatch, tailpatch.RunOptions{
		Dir: cfg.Out, Endpoints: eps, Scheduler: sched, Version: version, Logger: a.log,
	})
	if err != nil {
		return nil, fmt.Errorf("patch %s: %w", cfg.Out, err)
	}
	return sum, nil
}
