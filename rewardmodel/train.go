package rewardmodel

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/mixopt/mixopt/dataset"
)

// TaskData is a task featurised once for training: pairwise tasks keep the
// difference φ(chosen) − φ(rejected), which is all the Bradley–Terry loss
// needs; pointwise and classification tasks keep φ(response) plus the task's
// intercept slot, and the target value in [0, 1].
type TaskData struct {
	Name      string
	Objective dataset.Objective
	IDs       []string
	X         []Vector
	// Targets is nil for pairwise tasks.
	Targets []float32
}

// Len returns the number of training units.
func (t *TaskData) Len() int { return len(t.X) }

// FeaturizeTask featurises the units of t for which keep returns true (all
// when keep is nil), in task order, using all CPUs.
func FeaturizeTask(f *Featurizer, t *dataset.Task, keep func(id string) bool) *TaskData {
	td := &TaskData{Name: t.Name, Objective: t.Objective}
	var idx []int
	for i := 0; i < t.Len(); i++ {
		id := unitID(t, i)
		if keep == nil || keep(id) {
			idx = append(idx, i)
			td.IDs = append(td.IDs, id)
		}
	}
	td.X = make([]Vector, len(idx))
	if t.Objective != dataset.ObjPairwise {
		td.Targets = make([]float32, len(idx))
	}
	bias := f.BiasSlot(t.Name)
	parallelFor(len(idx), func(lo, hi int) {
		var sc Scratch
		var a, b Vector
		for k := lo; k < hi; k++ {
			i := idx[k]
			if t.Objective == dataset.ObjPairwise {
				p := &t.Pairs[i]
				f.Featurize(&sc, p.Prompt, p.Chosen, &a)
				f.Featurize(&sc, p.Prompt, p.Rejected, &b)
				td.X[k] = Sub(&a, &b)
				continue
			}
			p := &t.Points[i]
			f.Featurize(&sc, p.Prompt, p.Response, &a)
			v := Vector{Idx: append([]uint32(nil), a.Idx...), Val: append([]float32(nil), a.Val...)}
			addSlot(&v, bias, 1)
			td.X[k] = v
			td.Targets[k] = float32(p.Target)
		}
	})
	return td
}

func unitID(t *dataset.Task, i int) string {
	if t.Objective == dataset.ObjPairwise {
		return t.Pairs[i].ID
	}
	return t.Points[i].ID
}

// Sub returns a − b as a new vector.
func Sub(a, b *Vector) Vector {
	out := Vector{Idx: make([]uint32, 0, len(a.Idx)+len(b.Idx)), Val: make([]float32, 0, len(a.Idx)+len(b.Idx))}
	i, j := 0, 0
	for i < len(a.Idx) || j < len(b.Idx) {
		switch {
		case j == len(b.Idx) || (i < len(a.Idx) && a.Idx[i] < b.Idx[j]):
			out.Idx, out.Val = append(out.Idx, a.Idx[i]), append(out.Val, a.Val[i])
			i++
		case i == len(a.Idx) || b.Idx[j] < a.Idx[i]:
			out.Idx, out.Val = append(out.Idx, b.Idx[j]), append(out.Val, -b.Val[j])
			j++
		default:
			if d := a.Val[i] - b.Val[j]; d != 0 {
				out.Idx, out.Val = append(out.Idx, a.Idx[i]), append(out.Val, d)
			}
			i++
			j++
		}
	}
	return out
}

// parallelFor splits [0, n) into contiguous chunks, one per CPU. Each index is
// handled by exactly one call, so results written by index are deterministic.
func parallelFor(n int, fn func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), max(1, n/64))
	if workers <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, min(n, lo+chunk))
	}
	wg.Wait()
}

// TrainConfig is one training recipe. Zero Beta1, Beta2 and Epsilon take the
// usual Adam defaults.
type TrainConfig struct {
	Steps        int64
	BatchSize    int
	LearningRate float64
	Seed         uint64
	Beta1        float64 // default 0.9
	Beta2        float64 // default 0.999
	Epsilon      float64 // default 1e-8
}

// StepFunc is called after every optimiser step with the step number (from
// 1), the mean loss of that step's batch and the model as it stands (valid
// only during the call; it must not be modified). Returning an error stops
// training with that error.
type StepFunc func(step int64, loss float64, current *Model) error

// ErrNoData reports a mixture whose tasks have no training units.
var ErrNoData = errors.New("no training examples")

// Train fine-tunes a copy of m on a mixture of tasks and returns it. Every
// example is drawn from task i with probability weights[i]/Σweights, then
// without replacement within an epoch from that task's units (a fresh
// seeded shuffle each epoch). The optimiser is lazy Adam: moments and weights
// change only where a batch has non-zero gradient, with bias correction by
// the global step, and its state starts fresh (a fine-tune does not inherit
// the parent's optimiser state). The result depends only on m, the tasks,
// the weights and cfg.
func Train(ctx context.Context, m *Model, tasks []*TaskData, weights []float64, cfg TrainConfig, onStep StepFunc) (*Model, error) {
	if len(tasks) != len(weights) || len(tasks) == 0 {
		return nil, fmt.Errorf("train: %d tasks with %d weights", len(tasks), len(weights))
	}
	if cfg.Steps < 1 || cfg.BatchSize < 1 || !(cfg.LearningRate > 0) {
		return nil, fmt.Errorf("train: steps, batch size and learning rate must be positive")
	}
	beta1, beta2, eps := orDefault(cfg.Beta1, 0.9), orDefault(cfg.Beta2, 0.999), orDefault(cfg.Epsilon, 1e-8)

	cum := make([]float64, len(tasks))
	var total float64
	for i, t := range tasks {
		w := weights[i]
		if t.Len() == 0 {
			w = 0
		}
		total += w
		cum[i] = total
	}
	if !(total > 0) {
		return nil, fmt.Errorf("train: %w in the mixture", ErrNoData)
	}

	out := m.Clone()
	w := out.W
	dim := len(w)
	mom := make([]float32, dim)
	vel := make([]float32, dim)
	grad := make([]float64, dim)
	touched := make([]uint32, 0, 4096)
	seen := make([]bool, dim)

	rng := rand.New(rand.NewPCG(cfg.Seed, 0x6d69786f70742d74))
	orders := make([]epochOrder, len(tasks))
	inv := 1 / float64(cfg.BatchSize)

	for step := int64(1); step <= cfg.Steps; step++ {
		if step&15 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		var loss float64
		for b := 0; b < cfg.BatchSize; b++ {
			ti := pick(cum, rng.Float64()*total)
			t := tasks[ti]
			k := orders[ti].next(rng, t.Len())
			x := &t.X[k]
			s := x.Dot(w)
			var g float64 // d loss / d score
			if t.Targets == nil {
				// Bradley–Terry: loss = softplus(−margin).
				loss += softplus(-s)
				g = -sigmoid(-s)
			} else {
				// Logistic loss with a soft target y ∈ [0, 1].
				y := float64(t.Targets[k])
				loss += softplus(s) - y*s
				g = sigmoid(s) - y
			}
			g *= inv
			for i, j := range x.Idx {
				if !seen[j] {
					seen[j] = true
					touched = append(touched, j)
				}
				grad[j] += g * float64(x.Val[i])
			}
		}
		bc1 := 1 - math.Pow(beta1, float64(step))
		bc2 := 1 - math.Pow(beta2, float64(step))
		lr := cfg.LearningRate * math.Sqrt(bc2) / bc1
		for _, j := range touched {
			g := grad[j]
			mj := beta1*float64(mom[j]) + (1-beta1)*g
			vj := beta2*float64(vel[j]) + (1-beta2)*g*g
			mom[j], vel[j] = float32(mj), float32(vj)
			w[j] -= float32(lr * mj / (math.Sqrt(vj) + eps))
			grad[j], seen[j] = 0, false
		}
		touched = touched[:0]
		if onStep != nil {
			if err := onStep(step, loss*inv, out); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func orDefault(x, def float64) float64 {
	if x == 0 {
		return def
	}
	return x
}

// pick returns the first index whose cumulative weight exceeds u.
func pick(cum []float64, u float64) int {
	lo, hi := 0, len(cum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if cum[mid] > u {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// epochOrder walks a task's units in a fresh random order each epoch.
type epochOrder struct {
	perm []int32
	pos  int
}

func (o *epochOrder) next(rng *rand.Rand, n int) int {
	if o.perm == nil {
		o.perm = make([]int32, n)
		for i := range o.perm {
			o.perm[i] = int32(i)
		}
		o.pos = n
	}
	if o.pos == n {
		rng.Shuffle(n, func(i, j int) { o.perm[i], o.perm[j] = o.perm[j], o.perm[i] })
		o.pos = 0
	}
	k := o.perm[o.pos]
	o.pos++
	return int(k)
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// softplus is log(1 + e^x), computed without overflow.
func softplus(x float64) float64 {
	if x > 30 {
		return x
	}
	return math.Log1p(math.Exp(x))
}

// Scores returns W·φ for a featurised response.
func (m *Model) Score(x *Vector) float64 { return x.Dot(m.W) }

// FeaturizeAll featurises n responses, the i-th given by get, using all CPUs.
func FeaturizeAll(f *Featurizer, n int, get func(i int) (prompt, response string)) []Vector {
	out := make([]Vector, n)
	parallelFor(n, func(lo, hi int) {
		var sc Scratch
		for i := lo; i < hi; i++ {
			p, r := get(i)
			f.Featurize(&sc, p, r, &out[i])
		}
	})
	return out
}
