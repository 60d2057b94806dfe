// Package mixture turns measured tail-patch effects into multitask mixture
// weights: baselines (uniform, examples-proportional with a cap,
// temperature-scaled), objectives solved with gonum under combinable
// constraints, bootstrap uncertainty on every weight, explanations, and the
// weights table.
//
// The model behind every objective is first order: a mixture w is predicted
// to move category k of the target by Σ_d w_d·Δ[d][k], the weighted average of
// the tail-patch effects Δ (mixopt measures each task's effect by patching a
// partially trained checkpoint with that task alone). The α-weighted predicted
// gain is Σ_d w_d·g_d with g_d = Σ_k α_k·Δ[d][k]. Effects are in score units
// on a 0–1 scale: +0.012 is +1.2 points.
package mixture

import (
	"errors"
	"fmt"
	"math"
)

// RewardBenchCategories are the five tail-patch categories of RewardBench
// (its Reasoning section split into Math and Coding, Prior Sets excluded), in
// the order the paper lists them.
var RewardBenchCategories = []string{"Chat", "Chat Hard", "Math", "Coding", "Safety"}

// rewardBenchOverall gives each tail-patch category its weight in the
// RewardBench overall score: the plain mean of Chat, Chat Hard, Safety and
// Reasoning, with Reasoning = ½·Math + ½·Coding.
var rewardBenchOverall = map[string]float64{
	"Chat": 0.25, "Chat Hard": 0.25, "Safety": 0.25, "Math": 0.125, "Coding": 0.125,
}

// Task is one training task of the mixture.
type Task struct {
	// Name identifies the task; names are unique within an Effects.
	Name string
	// Examples is the number of training examples the task has (at least 1).
	// It sets the examples-proportional prior and the epoch caps.
	Examples int64
}

// Effects holds what the tail-patch stage measured, per task × category. Every
// matrix is indexed [task][category] in the order of Tasks and Categories.
// Mean, Low and High are required; the other fields are optional and nil when
// not measured.
type Effects struct {
	Tasks      []Task
	Categories []string

	// Mean is the task's effect: the patched checkpoint's score minus the
	// unpatched checkpoint's, averaged over seeds, in score units (0–1 scale).
	Mean [][]float64
	// Low and High bound the paired bootstrap confidence interval of Mean.
	Low, High [][]float64
	// Level is the confidence level of [Low, High], e.g. 0.95. It is carried
	// into reports; zero means not stated.
	Level float64

	// Control is the effect against a control patch (the base mixture trained
	// for the same steps) instead of the unpatched checkpoint. Options.Reference
	// selects it.
	Control [][]float64
	// Stability is the share, in [0, 1], of the patch's last evaluations that
	// kept the sign of the final effect. The flame-bundles rating reads it.
	Stability [][]float64
	// Score is the patched checkpoint's absolute score per category (0–1), which
	// the flame-bundles τ thresholds read.
	Score [][]float64
	// Seeds is the number of seeds behind each task's Mean.
	Seeds []int
	// Replicates are bootstrap replicates of Mean, indexed
	// [replicate][task][category], from the tail-patch bootstrap. Bootstrap
	// re-solves on each.
	Replicates [][][]float64
}

// Budget is the planned training run that consumes the mixture.
type Budget struct {
	Steps     int64 `json:"steps"`
	BatchSize int64 `json:"batch_size"`
}

// Examples returns the number of examples the run draws, Steps × BatchSize.
func (b Budget) Examples() int64 { return b.Steps * b.BatchSize }

// ErrInvalid is wrapped by every error about malformed input.
var ErrInvalid = errors.New("invalid input")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// Validate checks that e is well formed: unique non-empty names, positive
// example counts, matrices of the right shape with finite entries,
// Low ≤ High, Stability in [0, 1].
func (e *Effects) Validate() error {
	if e == nil {
		return invalidf("effects: nil")
	}
	n, k := len(e.Tasks), len(e.Categories)
	if n == 0 {
		return invalidf("effects: no tasks")
	}
	if k == 0 {
		return invalidf("effects: no categories")
	}
	seen := make(map[string]bool, n)
	for i, t := range e.Tasks {
		if t.Name == "" {
			return invalidf("effects: task %d: empty name", i)
		}
		if seen[t.Name] {
			return invalidf("effects: task %d: duplicate name %q", i, t.Name)
		}
		seen[t.Name] = true
		if t.Examples < 1 {
			return invalidf("effects: task %q: examples %d, want at least 1", t.Name, t.Examples)
		}
	}
	cats := make(map[string]bool, k)
	for j, c := range e.Categories {
		if c == "" {
			return invalidf("effects: category %d: empty name", j)
		}
		if cats[c] {
			return invalidf("effects: category %d: duplicate name %q", j, c)
		}
		cats[c] = true
	}
	check := func(field string, m [][]float64, required bool, lo, hi float64) error {
		if m == nil {
			if required {
				return invalidf("effects: %s: missing", field)
			}
			return nil
		}
		if len(m) != n {
			return invalidf("effects: %s: %d rows, want %d (one per task)", field, len(m), n)
		}
		for i, row := range m {
			if len(row) != k {
				return invalidf("effects: %s: task %q: %d values, want %d (one per category)", field, e.Tasks[i].Name, len(row), k)
			}
			for j, v := range row {
				if math.IsNaN(v) || v < lo || v > hi {
					return invalidf("effects: %s: task %q, category %q: value %v outside [%v, %v]", field, e.Tasks[i].Name, e.Categories[j], v, lo, hi)
				}
			}
		}
		return nil
	}
	for _, f := range []struct {
		name     string
		m        [][]float64
		required bool
		lo, hi   float64
	}{
		{"mean", e.Mean, true, -1, 1},
		{"low", e.Low, true, -1, 1},
		{"high", e.High, true, -1, 1},
		{"control", e.Control, false, -1, 1},
		{"stability", e.Stability, false, 0, 1},
		{"score", e.Score, false, 0, 1},
	} {
		if err := check(f.name, f.m, f.required, f.lo, f.hi); err != nil {
			return err
		}
	}
	for i := range e.Low {
		for j := range e.Low[i] {
			if e.Low[i][j] > e.High[i][j] {
				return invalidf("effects: task %q, category %q: ci low %v above high %v", e.Tasks[i].Name, e.Categories[j], e.Low[i][j], e.High[i][j])
			}
		}
	}
	if e.Seeds != nil && len(e.Seeds) != n {
		return invalidf("effects: seeds: %d values, want %d (one per task)", len(e.Seeds), n)
	}
	for b, rep := range e.Replicates {
		if err := check(fmt.Sprintf("replicate %d", b), rep, true, -1, 1); err != nil {
			return err
		}
	}
	if e.Level < 0 || e.Level >= 1 {
		return invalidf("effects: level %v outside [0, 1)", e.Level)
	}
	return nil
}

// taskIndex maps task names to their index.
func (e *Effects) taskIndex() map[string]int {
	m := make(map[string]int, len(e.Tasks))
	for i, t := range e.Tasks {
		m[t.Name] = i
	}
	return m
}

// categoryIndex returns the index of the named category or -1.
func (e *Effects) categoryIndex(name string) int {
	for j, c := range e.Categories {
		if c == name {
			return j
		}
	}
	return -1
}

// view is one realisation of the effects that a solve reads: the measured
// effects, or one bootstrap replicate, after choosing the reference.
type view struct {
	point, low, high [][]float64
	score, stability [][]float64
}

// newView builds the view for replicate rep (-1 for the measured effects).
//
// With ReferenceControl the point estimate is Control, and the interval and
// replicates are shifted by Control − Mean: this treats the control patch's
// score as fixed, so those intervals omit the control's own noise. A
// replicate r moves every field by r − Mean, so its interval keeps the
// measured width and its patched score moves with its effect.
func (e *Effects) newView(ref Reference, rep int) (*view, error) {
	if ref == ReferenceControl && e.Control == nil {
		return nil, invalidf("reference control: effects have no control deltas")
	}
	n, k := len(e.Tasks), len(e.Categories)
	v := &view{point: newMatrix(n, k), low: newMatrix(n, k), high: newMatrix(n, k), stability: e.Stability}
	if e.Score != nil {
		v.score = newMatrix(n, k)
	}
	for i := range n {
		for j := range k {
			shift := 0.0
			if ref == ReferenceControl {
				shift = e.Control[i][j] - e.Mean[i][j]
			}
			moved := 0.0
			if rep >= 0 {
				moved = e.Replicates[rep][i][j] - e.Mean[i][j]
			}
			v.point[i][j] = e.Mean[i][j] + shift + moved
			v.low[i][j] = e.Low[i][j] + shift + moved
			v.high[i][j] = e.High[i][j] + shift + moved
			if v.score != nil {
				v.score[i][j] = e.Score[i][j] + moved
			}
		}
	}
	return v, nil
}

// estimate returns the matrix the objectives optimise: the point estimate or
// the lower confidence bound.
func (v *view) estimate(est Estimate) [][]float64 {
	if est == EstimateLower {
		return v.low
	}
	return v.point
}

func newMatrix(n, k int) [][]float64 {
	flat := make([]float64, n*k)
	m := make([][]float64, n)
	for i := range m {
		m[i] = flat[i*k : (i+1)*k : (i+1)*k]
	}
	return m
}
