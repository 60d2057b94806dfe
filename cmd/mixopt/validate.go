package main

import (
	"fmt"
	"path/filepath"

	"github.com/mixopt/mixopt/experiments"
	"github.com/mixopt/mixopt/pipeline"
	"github.com/mixopt/mixopt/sampler"
	"github.com/mixopt/mixopt/tailpatch"
	"github.com/mixopt/mixopt/validation"
	"github.com/spf13/cobra"
)

var validateFlags = []flagKey{
	{"steps", "validate.steps"}, {"batch-size", "validate.batch_size"}, {"learning-rate", "validate.learning_rate"},
	{"seeds", "validate.seeds"}, {"start", "validate.start"}, {"trainer", "trainers"}, {"data", "data"},
	{"on-interrupt", "scheduler.on_interrupt"},
}

func newValidateCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the optimised mixture against baselines on the held-out test split",
		Long: `validate trains fresh runs from the same start with the examples-proportional
(capped) mixture, the uniform mixture and the optimised mixture of <run>/sampler.yaml
for S steps, and the optimised mixture for S/6 steps (the paper's 30K vs 5K), several
seeds each; scores every run on the target's test split, which solving never saw;
prints the comparison with bootstrap intervals; and writes validation.arrow/.parquet.
Finished runs are recorded in the ledger and not repeated.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := a.experiment(cmd, validateFlags)
			if err != nil {
				return err
			}
			res, err := a.runValidation(cmd, cfg)
			if err != nil {
				return err
			}
			if err := res.WriteText(a.stdout); err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, "wrote", validation.Path(cfg.Out))
			return nil
		},
	}
	f := cmd.Flags()
	f.String("run", "", "run directory (with sampler.yaml from mixopt solve)")
	f.String("config", "", "experiment config (default: <run>/config.yaml)")
	f.String("target", "rewardbench", "target, when the run has no config.yaml")
	f.Int64("steps", 0, "S: steps of the baseline and full optimised runs")
	f.Int("batch-size", 0, "batch size of the validation runs")
	f.Float64("learning-rate", 0, "learning rate of the validation runs")
	f.UintSlice("seeds", nil, "seeds of every arm")
	f.String("start", "", "start checkpoint: init, base or a checkpoint id")
	f.StringArray("trainer", nil, "trainer endpoint host:port (repeatable; none: in-process reference trainer)")
	f.String("data", "", "data directory of the in-process reference trainer")
	f.String("on-interrupt", "", "on Ctrl-C: drain, cancel or detach")
	_ = cmd.MarkFlagRequired("run")
	return cmd
}

// runValidation runs the validation stage of the run in cfg.Out.
func (a *app) runValidation(cmd *cobra.Command, cfg *experiments.Config) (*validation.Result, error) {
	sc, err := sampler.Load(filepath.Join(cfg.Out, pipeline.SamplerFile))
	if err != nil {
		return nil, fmt.Errorf("%w (run `mixopt solve --run %s` first)", err, cfg.Out)
	}
	tr, done := a.tracker("validation runs")
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
	return pipeline.Validate(cmd.Context(), cfg.Out, cfg, sc, tailpatch.RunOptions{
		Dir: cfg.Out, Endpoints: eps, Scheduler: sched, Version: version, Logger: a.log,
	})
}
