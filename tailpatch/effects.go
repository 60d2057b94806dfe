package tailpatch

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/mixopt/mixopt/target"
	"github.com/mixopt/mixopt/trainer"
)

// EffectOptions tunes the effect statistics. Zero values take the defaults
// noted.
type EffectOptions struct {
	// Replicates is the number of bootstrap resamples B (default 1000).
	Replicates int `mapstructure:"replicates" json:"replicates"`
	// Seed seeds the bootstrap.
	Seed uint64 `mapstructure:"seed" json:"seed"`
	// Level is the confidence level of the intervals (default 0.95).
	Level float64 `mapstructure:"level" json:"level"`
	// StabilityWindow is how many of a patch's last evaluations stability
	// looks at (default 3).
	StabilityWindow int `mapstructure:"stability_window" json:"stability_window"`
}

func (o *EffectOptions) setDefaults() {
	if o.Replicates <= 0 {
		o.Replicates = 1000
	}
	if o.Level <= 0 || o.Level >= 1 {
		o.Level = 0.95
	}
	if o.StabilityWindow <= 0 {
		o.StabilityWindow = 3
	}
}

// JobOutcome is what the effect computation needs of one finished job.
type JobOutcome struct {
	Seed uint64
	// Correct holds the final evaluation's outcome per suite example, in
	// suite order.
	Correct []bool
	// Trajectory holds the evaluations during training (on the dev split).
	Trajectory []EvalPoint
}

// EffectInput is the measured material of a tail-patch run.
type EffectInput struct {
	Scorer *target.Scorer
	// Groups lists, per scorer subset, the suite indices of the dev split's
	// examples (target.Split.BySubset(target.Dev)).
	Groups [][]int
	Base   []bool
	// Tasks lists the patched tasks in report order; Patches[i] holds task
	// i's jobs, one per seed, in seed order.
	Tasks   []string
	Patches [][]JobOutcome
	// Controls holds the control patches in seed order (may be empty).
	Controls []JobOutcome
}

// Effect is one task's effect on one category.
type Effect struct {
	Task     string
	Category string
	// Delta is the patched score minus the base score, averaged over
	// seeds, on the dev split, as a fraction (0.01 = one point).
	Delta float64
	// Low and High bound Delta's paired bootstrap interval.
	Low, High float64
	// DeltaVsControl is the patched score minus the control patch's score
	// of the same seed, averaged over seeds (NaN without controls).
	DeltaVsControl          float64
	ControlLow, ControlHigh float64
	// Stability is the share of the last evaluations along the patch's
	// trajectory (over all seeds) whose delta against the base has the sign
	// of Delta: 1 means the effect held, 0 that it never showed.
	Stability float64
	// PNonPositive is the share of bootstrap replicates with delta <= 0.
	PNonPositive float64
	Seeds        int
	BaseScore    float64
	PatchedScore float64
}

// Effects is the effect of every task on every category.
type Effects struct {
	Tasks      []string
	Categories []target.Category
	// Rows is task-major: Rows[t*len(Categories)+c].
	Rows []Effect
	// Replicates[b][t*len(Categories)+c] is bootstrap replicate b of Delta;
	// ControlReplicates likewise for DeltaVsControl (nil without controls).
	Replicates        [][]float64
	ControlReplicates [][]float64
	Options           EffectOptions
}

// Row returns the effect of task t on category c.
func (e *Effects) Row(t, c int) *Effect { return &e.Rows[t*len(e.Categories)+c] }

// ComputeEffects turns outcomes into effects with a paired bootstrap: every
// replicate resamples the dev examples within each subset (the same draw for
// the base, every patch and every control, which is what makes the deltas
// paired) and resamples the seeds (the same draw for every task), then
// scores each resample with the target's own formula.
func ComputeEffects(in EffectInput, opts EffectOptions) (*Effects, error) {
	opts.setDefaults()
	sc := in.Scorer
	nc := sc.NumCategories()
	if len(in.Groups) != sc.NumSubsets() {
		return nil, fmt.Errorf("effects: %d subset groups for %d subsets", len(in.Groups), sc.NumSubsets())
	}
	if len(in.Tasks) != len(in.Patches) {
		return nil, fmt.Errorf("effects: %d tasks, %d patch lists", len(in.Tasks), len(in.Patches))
	}
	seeds := -1
	for i, ps := range in.Patches {
		if seeds == -1 {
			seeds = len(ps)
		}
		if len(ps) == 0 || len(ps) != seeds {
			return nil, fmt.Errorf("effects: task %s has %d seeds, want %d (>0)", in.Tasks[i], len(ps), seeds)
		}
	}
	if len(in.Tasks) == 0 {
		return nil, errors.New("effects: no tasks")
	}
	if len(in.Controls) != 0 && len(in.Controls) != seeds {
		return nil, fmt.Errorf("effects: %d controls for %d seeds", len(in.Controls), seeds)
	}

	// Flatten: job 0 is the base, then controls, then patches task-major.
	jobs := [][]bool{in.Base}
	for _, c := range in.Controls {
		jobs = append(jobs, c.Correct)
	}
	for _, ps := range in.Patches {
		for _, p := range ps {
			jobs = append(jobs, p.Correct)
		}
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x626f6f7473747261))
	boot, err := BootstrapScores(sc, in.Groups, jobs, opts.Replicates, rng)
	if err != nil {
		return nil, fmt.Errorf("effects: %w", err)
	}
	ctrl0, patch0 := 1, 1+len(in.Controls)
	nt := len(in.Tasks)
	cells := nt * nc
	hasCtl := len(in.Controls) > 0

	// deltas computes, for one set of job scores and a seed draw, the delta
	// vs base and vs control of every (task, category).
	deltas := func(scores [][]float64, draw []int, dst, dstCtl []float64) {
		for t := range nt {
			for c := range nc {
				var d, dc float64
				for _, k := range draw {
					p := scores[patch0+t*seeds+k][c]
					d += p - scores[0][c]
					if dstCtl != nil {
						dc += p - scores[ctrl0+k][c]
					}
				}
				dst[t*nc+c] = d / float64(len(draw))
				if dstCtl != nil {
					dstCtl[t*nc+c] = dc / float64(len(draw))
				}
			}
		}
	}
	newCells := func() []float64 {
		if !hasCtl {
			return nil
		}
		return make([]float64, cells)
	}

	identity := make([]int, seeds)
	for k := range identity {
		identity[k] = k
	}
	point, pointCtl := make([]float64, cells), newCells()
	deltas(boot.Point, identity, point, pointCtl)
	baseScores := boot.Point[0]
	patched := make([]float64, cells)
	for t := range nt {
		for c := range nc {
			var sum float64
			for k := range seeds {
				sum += boot.Point[patch0+t*seeds+k][c]
			}
			patched[t*nc+c] = sum / float64(seeds)
		}
	}

	// Each replicate also resamples the seeds, the same draw for every task.
	reps := make([][]float64, opts.Replicates)
	var repsCtl [][]float64
	if hasCtl {
		repsCtl = make([][]float64, opts.Replicates)
	}
	draw := make([]int, seeds)
	for b := range opts.Replicates {
		for k := range draw {
			draw[k] = rng.IntN(seeds)
		}
		reps[b] = make([]float64, cells)
		var ctl []float64
		if hasCtl {
			repsCtl[b] = make([]float64, cells)
			ctl = repsCtl[b]
		}
		deltas(boot.Replicates[b], draw, reps[b], ctl)
	}

	out := &Effects{Tasks: slices.Clone(in.Tasks), Categories: sc.Categories(), Rows: make([]Effect, cells),
		Replicates: reps, ControlReplicates: repsCtl, Options: opts}
	alpha := (1 - opts.Level) / 2
	col := make([]float64, opts.Replicates)
	for t := range nt {
		for c := range nc {
			i := t*nc + c
			e := &out.Rows[i]
			e.Task, e.Category, e.Seeds = in.Tasks[t], out.Categories[c].Name, seeds
			e.Delta, e.BaseScore, e.PatchedScore = point[i], baseScores[c], patched[i]
			for b := range reps {
				col[b] = reps[b][i]
			}
			e.Low, e.High = PercentileInterval(col, alpha)
			e.PNonPositive = shareAtMost(col, 0)
			e.DeltaVsControl, e.ControlLow, e.ControlHigh = math.NaN(), math.NaN(), math.NaN()
			if hasCtl {
				e.DeltaVsControl = pointCtl[i]
				for b := range repsCtl {
					col[b] = repsCtl[b][i]
				}
				e.ControlLow, e.ControlHigh = PercentileInterval(col, alpha)
			}
		}
	}
	if err := stability(out, in, baseScores, opts.StabilityWindow); err != nil {
		return nil, err
	}
	return out, nil
}

// stability fills Effect.Stability from the patches' trajectories.
func stability(out *Effects, in EffectInput, base []float64, window int) error {
	sc := in.Scorer
	nc := len(out.Categories)
	correct := make([]float64, sc.NumSubsets())
	total := make([]float64, sc.NumSubsets())
	scores := make([]float64, nc)
	for t, ps := range in.Patches {
		agree := make([]float64, nc)
		var points int
		for _, p := range ps {
			traj := p.Trajectory
			if len(traj) > window {
				traj = traj[len(traj)-window:]
			}
			for _, pt := range traj {
				if err := countsInto(sc, pt.Counts, correct, total); err != nil {
					return fmt.Errorf("task %s seed %d step %d: %w", in.Tasks[t], p.Seed, pt.Step, err)
				}
				sc.ScoreInto(scores, correct, total)
				points++
				for c := range nc {
					d := scores[c] - base[c]
					e := out.Row(t, c).Delta
					if (d > 0 && e > 0) || (d < 0 && e < 0) {
						agree[c]++
					}
				}
			}
		}
		for c := range nc {
			e := out.Row(t, c)
			switch {
			case math.IsNaN(e.Delta):
				e.Stability = math.NaN()
			case points == 0:
				e.Stability = math.NaN()
			default:
				e.Stability = agree[c] / float64(points)
			}
		}
	}
	return nil
}

// countsInto maps an evaluation's per-subset counts onto scorer order. A
// subset the evaluation lacks gets zero counts, which makes the categories
// that need it NaN.
func countsInto(sc *target.Scorer, counts []trainer.SubsetCount, correct, total []float64) error {
	clear(correct)
	clear(total)
	for _, c := range counts {
		i := sc.SubsetIndex(c.Subset)
		if i < 0 {
			return fmt.Errorf("evaluation has unknown subset %q", c.Subset)
		}
		correct[i], total[i] = float64(c.Correct), float64(c.Total)
	}
	return nil
}

// PercentileInterval returns the alpha and 1-alpha percentiles of xs
// (linear interpolation between order statistics), or NaNs if any x is NaN.
// It sorts xs in place.
func PercentileInterval(xs []float64, alpha float64) (lo, hi float64) {
	for _, x := range xs {
		if math.IsNaN(x) {
			return math.NaN(), math.NaN()
		}
	}
	slices.Sort(xs)
	return quantile(xs, alpha), quantile(xs, 1-alpha)
}

func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(sorted)-1)
	i := int(math.Floor(pos))
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	f := pos - float64(i)
	return sorted[i]*(1-f) + sorted[i+1]*f
}

func shareAtMost(xs []float64, v float64) float64 {
	var n int
	for _, x := range xs {
		if x <= v {
			n++
		}
	}
	return float64(n) / float64(len(xs))
}

// ScoreBootstrap holds category scores of several jobs on one suite split,
// on the original examples and on paired bootstrap resamples.
type ScoreBootstrap struct {
	// Point[j] are job j's category scores on the original examples.
	Point [][]float64
	// Replicates[b][j] are job j's category scores on resample b. Every job
	// is scored on the same resample, which pairs their differences.
	Replicates [][][]float64
}

// BootstrapScores scores jobs (outcomes per suite example, in suite order)
// on the examples listed in groups (per scorer subset, suite indices) and on
// b resamples that draw, within each subset, as many examples as it has,
// with replacement. Scores use the target's own formula (scorer).
func BootstrapScores(sc *target.Scorer, groups [][]int, jobs [][]bool, b int, rng *rand.Rand) (*ScoreBootstrap, error) {
	if len(groups) != sc.NumSubsets() {
		return nil, fmt.Errorf("%d subset groups for %d subsets", len(groups), sc.NumSubsets())
	}
	nc := sc.NumCategories()
	for i, j := range jobs {
		if len(j) != len(jobs[0]) {
			return nil, fmt.Errorf("job %d has %d outcomes, job 0 has %d", i, len(j), len(jobs[0]))
		}
	}
	// corr[j][s][k] is job j's outcome on the k-th example of subset s.
	corr := make([][][]float64, len(jobs))
	for j, c := range jobs {
		corr[j] = make([][]float64, len(groups))
		for s, g := range groups {
			v := make([]float64, len(g))
			for k, idx := range g {
				if idx < 0 || idx >= len(c) {
					return nil, fmt.Errorf("subset %d lists example %d of %d", s, idx, len(c))
				}
				if c[idx] {
					v[k] = 1
				}
			}
			corr[j][s] = v
		}
	}
	correct := make([]float64, len(groups))
	total := make([]float64, len(groups))
	for s, g := range groups {
		total[s] = float64(len(g))
	}
	score := func(mult [][]float64) [][]float64 {
		out := make([][]float64, len(jobs))
		for j := range jobs {
			for s := range groups {
				var sum float64
				if mult == nil {
					for _, x := range corr[j][s] {
						sum += x
					}
				} else {
					m := mult[s]
					for k, x := range corr[j][s] {
						sum += m[k] * x
					}
				}
				correct[s] = sum
			}
			out[j] = make([]float64, nc)
			sc.ScoreInto(out[j], correct, total)
		}
		return out
	}
	res := &ScoreBootstrap{Point: score(nil), Replicates: make([][][]float64, b)}
	mult := make([][]float64, len(groups))
	for s, g := range groups {
		mult[s] = make([]float64, len(g))
	}
	for r := range b {
		for s, g := range groups {
			m := mult[s]
			clear(m)
			for range len(g) {
				m[rng.IntN(len(g))]++
			}
		}
		res.Replicates[r] = score(mult)
	}
	return res, nil
}
