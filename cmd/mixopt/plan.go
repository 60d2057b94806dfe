package main

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/mixopt/mixopt/experiments"
	"github.com/mixopt/mixopt/pipeline"
	"github.com/mixopt/mixopt/tailpatch"
	"github.com/mixopt/mixopt/validation"
	"github.com/spf13/cobra"
)

func newPlanCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Run the whole method: tail patches → effects → weights → sampler config, exports, validation, report",
		Long: `plan is mixopt end to end. With --target rewardbench and nothing else it starts the
reference trainer in-process on ../shared/data, trains a base checkpoint on the
examples-proportional mixture, runs a tail patch per task and seed plus control
patches, measures every task's effect on the dev split of the target with bootstrap
intervals, solves for mixture weights, writes sampler.yaml and the trainer exports,
validates the optimised mixture against the baselines on the test split, and writes
report.html — all in runs/rewardbench (or --out).

It is resumable: rerunning it reuses the ledger (no job runs twice) and rewrites
byte-identical tables. Press Ctrl-C once to stop cleanly, twice to stop at once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, v, err := a.experiment(cmd, append(append([]flagKey{}, experimentFlags...), solveFlags...))
			if err != nil {
				return err
			}
			if err := applyCategoryFloors(cmd, cfg); err != nil {
				return err
			}
			if skip, _ := cmd.Flags().GetBool("no-validate"); skip {
				cfg.Stages.Validate = false
			}
			if err := saveConfig(v, cfg.Out); err != nil {
				return err
			}
			tr, done := a.tracker("jobs")
			defer done()
			eps, release, err := a.endpoints(cfg)
			if err != nil {
				return err
			}
			defer release()
			sched, err := a.schedulerConfig(cmd, cfg, tr)
			if err != nil {
				return err
			}
			res, err := pipeline.Plan(cmd.Context(), cfg, tailpatch.RunOptions{
				Dir: cfg.Out, Endpoints: eps, Scheduler: sched, Version: version, Logger: a.log,
			}, a.reporter())
			done()
			if err != nil {
				return fmt.Errorf("plan %s: %w", cfg.Out, err)
			}
			return printPlanSummary(a.stdout, cfg, res)
		},
	}
	f := cmd.Flags()
	addExperimentFlags(f)
	addSolveFlags(f)
	f.Bool("no-validate", false, "skip the validation runs")
	return cmd
}

// printPlanSummary prints the short summary plan ends with.
func printPlanSummary(w io.Writer, cfg *experiments.Config, res *pipeline.PlanResult) error {
	p, s := res.Patches, res.Solve
	fmt.Fprintf(w, "mixopt plan: run %s, target %s, %d tasks × %d seeds, %d jobs (%d trained now)\n\n",
		p.RunID, cfg.TailPatch.Target, len(p.Effects.Tasks), len(cfg.TailPatch.Seeds), p.Jobs, p.Ran)

	if devs := p.Scorer.Deviations(); len(devs) > 0 {
		fmt.Fprintln(w, "Target subsets that differ from the definition (substitutes are weighted by their rows):")
		for _, d := range devs {
			fmt.Fprintf(w, "  %-22s %-9s %-20s weight %g\n", d.Name, d.Section, d.Reason, d.Weight)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "Most helpful and harmful tasks per category (dev split, points vs the base checkpoint):")
	printTopEffects(w, p.Effects, 2)

	sol, unc := s.Solution, s.Uncertainty
	fmt.Fprintf(w, "\nWeights (%s) against the examples-proportional prior, top 10 of %d tasks:\n", cfg.Solve.Objective, len(sol.Weights))
	idx := make([]int, len(sol.Weights))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case sol.Weights[a] > sol.Weights[b]:
			return -1
		case sol.Weights[a] < sol.Weights[b]:
			return 1
		}
		return 0
	})
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "task\tweight\t95% CI\tprior")
	for _, i := range idx[:min(10, len(idx))] {
		fmt.Fprintf(tw, "%s\t%.3f\t[%.3f, %.3f]\t%.3f\n", s.Effects.Tasks[i].Name, sol.Weights[i], unc.WeightLow[i], unc.WeightHigh[i], sol.Prior[i])
	}
	tw.Flush()

	fmt.Fprintln(w, "\nPredicted gain of the mixture per category (points, first-order, with bootstrap CI):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for c, cat := range s.Effects.Categories {
		fmt.Fprintf(tw, "%s\t%s\t[%s, %s]\n", cat, pts(sol.Gains[c]), pts(unc.GainLow[c]), pts(unc.GainHigh[c]))
	}
	tw.Flush()

	if v := res.Validation; v != nil {
		fmt.Fprintf(w, "\nValidation on the held-out test split (%d examples), Overall:\n", v.TestExamples)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, sc := range v.Scores {
			if sc.Category == "Overall" {
				fmt.Fprintf(tw, "%s\t%d steps\t%.1f\t[%.1f, %.1f]\n", sc.Arm, sc.Steps, 100*sc.Score, 100*sc.Low, 100*sc.High)
			}
		}
		for _, c := range v.Comparisons {
			if c.Category == "Overall" && c.Arm == validation.ArmOptimised {
				fmt.Fprintf(tw, "optimised vs %s\t\t%s\t[%s, %s]\t%s\n", c.Baseline, pts(c.Diff), pts(c.Low), pts(c.High), c.Verdict)
			}
		}
		tw.Flush()
	}

	fmt.Fprintln(w, "\nFiles:")
	files := append(append([]string{}, p.Files...), s.Files...)
	files = append(files, res.Exports.Files...)
	if res.Validation != nil {
		files = append(files, validation.Path(cfg.Out))
	}
	files = append(files, res.ReportFiles...)
	for _, f := range files {
		fmt.Fprintln(w, " ", f)
	}
	fmt.Fprint(w, "\nStage times:")
	var total float64
	for _, t := range res.Timings {
		fmt.Fprintf(w, " %s %.1fs,", t.Stage, t.Seconds)
		total += t.Seconds
	}
	fmt.Fprintf(w, " total %.1fs\n", total)
	return nil
}
