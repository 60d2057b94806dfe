// Package validation checks an optimised mixture the way FLAMe-Opt-RM was
// checked against FLAMe, but honestly: fresh training runs from the same
// start with the examples-proportional (capped) mixture, the uniform mixture,
// and the optimised mixture (for the full budget and for a sixth of it, the
// paper's 30K vs 5K steps), several seeds each, scored on the target's test
// split, which the optimisation never saw.
package validation

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"

	"github.com/mixopt/mixopt/tailpatch"
	"github.com/mixopt/mixopt/target"
	"github.com/mixopt/mixopt/trainer"
)

// Config is the validation experiment.
type Config struct {
	// Steps is S, the budget of the baseline and full optimised runs.
	Steps        int64   `mapstructure:"steps" json:"steps"`
	BatchSize    int     `mapstructure:"batch_size" json:"batch_size"`
	LearningRate float64 `mapstructure:"learning_rate" json:"learning_rate"`
	// Seeds are the training seeds of every arm.
	Seeds []uint64 `mapstructure:"seeds" json:"seeds"`
	// Start is "init" (the untrained model, like FLAMe-Opt-RM restarting
	// from the instruction-tuned base), "base" (the tail patches' base
	// checkpoint) or a checkpoint id.
	Start string `mapstructure:"start" json:"start"`
	// ShortDivisor sets the short optimised arm's steps, S/ShortDivisor
	// (default 6: 30K vs 5K in the paper).
	ShortDivisor int64 `mapstructure:"short_divisor" json:"short_divisor"`
	// Cap is the per-task cap of the examples-proportional baseline
	// (default 2^16).
	Cap int64 `mapstructure:"cap" json:"cap"`
	// Replicates, Seed and Level configure the bootstrap intervals
	// (defaults 1000, 0, 0.95).
	Replicates int     `mapstructure:"replicates" json:"replicates"`
	Seed       uint64  `mapstructure:"seed" json:"seed"`
	Level      float64 `mapstructure:"level" json:"level"`
}

func (c *Config) setDefaults() {
	if c.Start == "" {
		c.Start = "init"
	}
	if c.ShortDivisor <= 0 {
		c.ShortDivisor = 6
	}
	if c.Cap <= 0 {
		c.Cap = tailpatch.DefaultCap
	}
	if c.Replicates <= 0 {
		c.Replicates = 1000
	}
	if c.Level <= 0 || c.Level >= 1 {
		c.Level = 0.95
	}
}

// Validate checks the config, naming the first bad field.
func (c *Config) Validate() error {
	switch {
	case c.Steps < 1:
		return fmt.Errorf("validate.steps: %d must be >= 1", c.Steps)
	case c.BatchSize < 1:
		return fmt.Errorf("validate.batch_size: %d must be >= 1", c.BatchSize)
	case !(c.LearningRate > 0) || math.IsInf(c.LearningRate, 0):
		return fmt.Errorf("validate.learning_rate: %v must be finite and > 0", c.LearningRate)
	case len(c.Seeds) == 0:
		return errors.New("validate.seeds: at least one seed required")
	}
	return nil
}

// Arm names.
const (
	ArmProportional   = "proportional"
	ArmUniform        = "uniform"
	ArmOptimised      = "optimised"
	ArmOptimisedShort = "optimised_short"
)

// Arm is one mixture trained for a number of steps.
type Arm struct {
	Name    string
	Steps   int64
	Mixture []trainer.Component
}

// Arms builds the four arms over tasks: the optimised probabilities (one per
// task, zero allowed), the capped examples-proportional and the uniform
// mixture over the same tasks.
func Arms(tasks []trainer.TaskInfo, optimised []float64, cfg Config) ([]Arm, error) {
	cfg.setDefaults()
	if len(tasks) != len(optimised) {
		return nil, fmt.Errorf("validation: %d tasks, %d weights", len(tasks), len(optimised))
	}
	mix := func(w func(i int) float64) []trainer.Component {
		var out []trainer.Component
		for i, t := range tasks {
			if x := w(i); x > 0 {
				out = append(out, trainer.Component{Task: t.Name, Weight: x, ContentHash: t.ContentHash})
			}
		}
		return out
	}
	opt := mix(func(i int) float64 { return optimised[i] })
	if len(opt) == 0 {
		return nil, errors.New("validation: the optimised mixture has no task with positive weight")
	}
	short := max(1, cfg.Steps/cfg.ShortDivisor)
	return []Arm{
		{Name: ArmProportional, Steps: cfg.Steps, Mixture: mix(func(i int) float64 { return float64(min(tasks[i].TrainExamples, cfg.Cap)) })},
		{Name: ArmUniform, Steps: cfg.Steps, Mixture: mix(func(int) float64 { return 1 })},
		{Name: ArmOptimised, Steps: cfg.Steps, Mixture: opt},
		{Name: ArmOptimisedShort, Steps: short, Mixture: opt},
	}, nil
}

// ArmScore is an arm's test-split score on one category.
type ArmScore struct {
	Arm      string
	Steps    int64
	Examples int64
	Category string
	// Score is the mean over seeds; Low and High bound it.
	Score, Low, High float64
	Seeds            int
}

// Comparison is an optimised arm against a baseline on one category.
type Comparison struct {
	Arm, Baseline string
	Category      string
	// Diff is the arm's score minus the baseline's (mean over seeds, on the
	// same test examples); Low and High bound it.
	Diff, Low, High float64
	// Verdict is "better" or "worse" when the interval excludes zero,
	// otherwise "no clear difference".
	Verdict string
}

// Result is a finished validation.
type Result struct {
	Categories  []target.Category
	Scores      []ArmScore
	Comparisons []Comparison
	// TestExamples is the size of the test split.
	TestExamples int
	Level        float64
	Jobs, Ran    int
}

// Input is what a validation needs from the earlier stages.
type Input struct {
	Def   *target.Definition
	Suite trainer.SuiteInfo
	// BaseOutcomes is the tail-patch base's full evaluation (it fixes the
	// suite's example order).
	BaseOutcomes []trainer.ExampleOutcome
	// BaseCheckpoint is used when Config.Start is "base".
	BaseCheckpoint string
	Tasks          []trainer.TaskInfo
	// Optimised are the optimised probabilities, one per task.
	Optimised []float64
}

// Run trains every arm and seed (resuming from the ledger: finished runs are
// not repeated) and scores them on the test split.
func Run(ctx context.Context, in Input, cfg Config, ledger *tailpatch.Ledger, sched *tailpatch.Scheduler) (*Result, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	scorer, split, err := tailpatch.ResolveTarget(in.Def, in.Suite, in.BaseOutcomes)
	if err != nil {
		return nil, err
	}
	arms, err := Arms(in.Tasks, in.Optimised, cfg)
	if err != nil {
		return nil, err
	}
	start := cfg.Start
	if start == "base" {
		start = in.BaseCheckpoint
	}
	var jobs []tailpatch.Job
	for _, a := range arms {
		for _, seed := range cfg.Seeds {
			jobs = append(jobs, tailpatch.SpecJob(tailpatch.KindValidation, a.Name, trainer.JobSpec{
				Base: start, Mixture: a.Mixture, Steps: a.Steps, BatchSize: cfg.BatchSize,
				LearningRate: cfg.LearningRate, Seed: seed, Purpose: trainer.PurposeValidation,
			}))
		}
	}
	before, err := succeeded(ledger, jobs)
	if err != nil {
		return nil, err
	}
	if err := ledger.Plan(jobs); err != nil {
		return nil, err
	}
	ids := make([]string, len(in.BaseOutcomes))
	for i, o := range in.BaseOutcomes {
		ids[i] = o.ID
	}
	if err := sched.Run(ctx, jobs, in.Def.Suite, tailpatch.SameExamples(ids)); err != nil {
		return nil, err
	}
	correct := make([][]bool, len(jobs))
	for i, j := range jobs {
		outs, err := ledger.Outcomes(j.ID)
		if err != nil {
			return nil, err
		}
		correct[i] = make([]bool, len(outs))
		for k, o := range outs {
			correct[i][k] = o.Correct
		}
	}
	res, err := score(scorer, split.BySubset(target.Test), arms, cfg, correct)
	if err != nil {
		return nil, err
	}
	res.TestExamples = len(split.Indices(target.Test))
	res.Jobs, res.Ran = len(jobs), len(jobs)-before
	return res, nil
}

func succeeded(ledger *tailpatch.Ledger, jobs []tailpatch.Job) (int, error) {
	n := 0
	for _, j := range jobs {
		rec, ok, err := ledger.Job(j.ID)
		if err != nil {
			return 0, err
		}
		if ok && rec.State == tailpatch.StateSucceeded {
			n++
		}
	}
	return n, nil
}

// score computes arm scores and comparisons on the test split with a paired
// bootstrap: every replicate resamples test examples within subsets (shared
// by all jobs) and seeds (shared by all arms).
func score(sc *target.Scorer, groups [][]int, arms []Arm, cfg Config, correct [][]bool) (*Result, error) {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x76616c6964617465))
	boot, err := tailpatch.BootstrapScores(sc, groups, correct, cfg.Replicates, rng)
	if err != nil {
		return nil, err
	}
	ns := len(cfg.Seeds)
	job := func(a, k int) int { return a*ns + k }
	// mean returns arm a's seed-mean score on category c under a draw.
	mean := func(scores [][]float64, a, c int, draw []int) float64 {
		var s float64
		for _, k := range draw {
			s += scores[job(a, k)][c]
		}
		return s / float64(len(draw))
	}
	identity := make([]int, ns)
	for k := range identity {
		identity[k] = k
	}
	draws := make([][]int, cfg.Replicates)
	for b := range draws {
		draws[b] = make([]int, ns)
		for k := range draws[b] {
			draws[b][k] = rng.IntN(ns)
		}
	}
	alpha := (1 - cfg.Level) / 2
	res := &Result{Categories: sc.Categories(), Level: cfg.Level}
	col := make([]float64, cfg.Replicates)
	for a, arm := range arms {
		for c, cat := range res.Categories {
			for b := range col {
				col[b] = mean(boot.Replicates[b], a, c, draws[b])
			}
			lo, hi := tailpatch.PercentileInterval(col, alpha)
			res.Scores = append(res.Scores, ArmScore{
				Arm: arm.Name, Steps: arm.Steps, Examples: arm.Steps * int64(cfg.BatchSize), Category: cat.Name,
				Score: mean(boot.Point, a, c, identity), Low: lo, High: hi, Seeds: ns,
			})
		}
	}
	for a, arm := range arms {
		if arm.Name != ArmOptimised && arm.Name != ArmOptimisedShort {
			continue
		}
		for bl, base := range arms {
			if base.Name != ArmProportional && base.Name != ArmUniform {
				continue
			}
			for c, cat := range res.Categories {
				for b := range col {
					col[b] = mean(boot.Replicates[b], a, c, draws[b]) - mean(boot.Replicates[b], bl, c, draws[b])
				}
				lo, hi := tailpatch.PercentileInterval(col, alpha)
				cmp := Comparison{Arm: arm.Name, Baseline: base.Name, Category: cat.Name,
					Diff: mean(boot.Point, a, c, identity) - mean(boot.Point, bl, c, identity), Low: lo, High: hi}
				switch {
				case lo > 0:
					cmp.Verdict = "better"
				case hi < 0:
					cmp.Verdict = "worse"
				default:
					cmp.Verdict = "no clear difference"
				}
				res.Comparisons = append(res.Comparisons, cmp)
			}
		}
	}
	return res, nil
}

// TableName is the validation table's file name (without extension).
const TableName = "validation"

// Path returns the validation table's Arrow path in a run directory.
func Path(dir string) string { return filepath.Join(dir, TableName+".arrow") }
