package main

import (
	"fmt"
	"strconv"

	"github.com/mixopt/mixopt/experiments"
	"github.com/mixopt/mixopt/pipeline"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

var solveFlags = []flagKey{
	{"objective", "solve.objective"}, {"reference", "solve.reference"}, {"lambda", "solve.lambda"},
	{"target-effective-tasks", "solve.target_effective_tasks"}, {"floor", "solve.constraints.floor"},
	{"cap", "solve.constraints.cap"}, {"max-epochs", "solve.constraints.max_epochs"},
	{"run-steps", "run.steps"}, {"run-batch-size", "run.batch_size"},
}

func addSolveFlags(f *pflag.FlagSet) {
	f.String("objective", "", "linear, kl, maxmin, lcb (kl on lower confidence bounds) or flame-bundles")
	f.String("reference", "", "effects against the base checkpoint (base) or the control patch (control)")
	f.Float64("lambda", 0, "kl: points of predicted gain per nat of KL from the prior")
	f.Float64("target-effective-tasks", 0, "kl: choose λ so that exp(entropy) of the weights is this")
	f.Float64("floor", 0, "minimum weight of every task")
	f.Float64("cap", 0, "maximum weight of every task (0: none)")
	f.Float64("max-epochs", 0, "maximum passes over any task in the planned run")
	f.StringToString("category-floor", nil, "minimum predicted gain per category, e.g. Safety=-0.005")
	f.Int64("run-steps", 0, "steps of the planned training run")
	f.Int64("run-batch-size", 0, "batch size of the planned training run")
}

// applyCategoryFloors folds --category-floor into the config.
func applyCategoryFloors(cmd *cobra.Command, cfg *experiments.Config) error {
	m, err := cmd.Flags().GetStringToString("category-floor")
	if err != nil || len(m) == 0 {
		return err
	}
	if cfg.Solve.Constraints.CategoryFloors == nil {
		cfg.Solve.Constraints.CategoryFloors = map[string]float64{}
	}
	for k, v := range m {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("--category-floor %s=%s: %w", k, v, err)
		}
		cfg.Solve.Constraints.CategoryFloors[k] = x
	}
	return nil
}

func newSolveCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "solve",
		Short: "Solve for mixture weights from a run's measured effects",
		Long: `solve reads effects.arrow and effects_bootstrap.arrow from the run directory,
solves for mixture weights with the chosen objective and constraints, re-solves on
every bootstrap replicate for weight intervals, prints the explanation, and writes
weights.arrow/.parquet and the sampler config sampler.yaml.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := a.experiment(cmd, solveFlags)
			if err != nil {
				return err
			}
			if err := applyCategoryFloors(cmd, cfg); err != nil {
				return err
			}
			res, err := pipeline.Solve(cfg.Out, cfg, version)
			if err != nil {
				return err
			}
			if err := res.Explanation.WriteText(a.stdout); err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, "wrote:")
			for _, f := range res.Files {
				fmt.Fprintln(a.stdout, " ", f)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.String("run", "", "run directory (written by mixopt patch)")
	f.String("config", "", "experiment config (default: <run>/config.yaml)")
	f.String("target", "rewardbench", "target, when the run has no config.yaml")
	addSolveFlags(f)
	_ = cmd.MarkFlagRequired("run")
	return cmd
}
