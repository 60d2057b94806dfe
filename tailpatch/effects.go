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
	n := len(in.Base)
	for i, j := range jobs {
		if len(j) != n {
			return nil, fmt.Errorf("effects: job %d has %d outcomes, the base %d", i, len(j), n)
		}
	}
	// corr[j][s][k] is job j's outcome on the k-th dev example of subset s.
	corr := make([][][]float64, len(jobs))
	for j, c := range jobs {
		corr[j] = make([][]float64, len(in.Groups))
		for s, g := range in.Groups {
			v := make([]float64, len(g))
			for k, idx := range g {
				if c[idx] {
					v[k] = 1
				}
			}
			corr[j][s] = v
		}
	}
	ctrl0, patch0 := 1, 1+len(in.Controls)

	// scores[j] are job j's category scores under multiplicities mult.
	scores := make([][]float64, len(jobs))
	for j := range scores {
		scores[j] = make([]float64, nc)
	}
	correct := make([]float64, len(in.Groups))
	total := make([]float64, len(in.Groups))
	scoreAll := func(mult [][]float64) {
		for s, g := range in.Groups {
			total[s] = float64(len(g))
		}
		for j := range jobs {
			for s := range in.Groups {
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
			sc.ScoreInto(scores[j], correct, total)
		}
	}

	nt := len(in.Tasks)
	cells := nt * nc
	// deltas computes, for a seed draw, delta vs base and vs control of
	// every (task, category) from the current scores.
	deltas := func(draw []int, dst, dstCtl []float64) {
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

	identity := make([]int, seeds)
	for k := range identity {
		identity[k] = k
	}
	hasCtl := len(in.Controls) > 0
	point := make([]float64, cells)
	var pointCtl []float64
	if hasCtl {
		pointCtl = make([]float64, cells)
	}
	scoreAll(nil)
	deltas(identity, point, pointCtl)
	baseScores := slices.Clone(scores[0])
	patched := make([]float64, cells)
	for t := range nt {
		for c := range nc {
			var sum float64
			for k := range seeds {
				sum += scores[patch0+t*seeds+k][c]
			}
			patched[t*nc+c] = sum / float64(seeds)
		}
	}

	rng := rand.New(rand.NewPCG(opts.Seed, 0x626f6f7473747261))
	mult := make([][]float64, len(in.Groups))
	for s, g := range in.Groups {
		mult[s] = make([]float64, len(g))
	}
	draw := make([]int, seeds)
	reps := make([][]float64, opts.Replicates)
	var repsCtl [][]float64
	if hasCtl {
		repsCtl = make([][]float64, opts.Replicates)
	}
	for b := range opts.Replicates {
		for s, g := range in.Groups {
			m := mult[s]
			clear(m)
			for range len(g) {
				m[rng.IntN(len(g))]++
			}
		}
		for k := range draw {
			draw[k] = rng.IntN(seeds)
		}
		scoreAll(mult)
		reps[b] = make([]float64, cells)
		if hasCtl {
			repsCtl[b] = make([]float64, cells)
			deltas(draw, reps[b], repsCtl[b])
		} else {
			deltas(draw, reps[b], nil)
		}
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
			e.Low, e.High = interval(col, alpha)
			e.PNonPositive = shareAtMost(col, 0)
			e.DeltaVsControl, e.ControlLow, e.ControlHigh = math.NaN(), math.NaN(), math.NaN()
			if hasCtl {
				e.DeltaVsControl = pointCtl[i]
				for b := range repsCtl {
					col[b] = repsCtl[b][i]
				}
				e.ControlLow, e.ControlHigh = interval(col, alpha)
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

// interval returns the alpha and 1-alpha percentiles of xs (linear
// interpolation between order statistics). xs is reordered.
func interval(xs []float64, alpha float64) (lo, hi float64) {
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
