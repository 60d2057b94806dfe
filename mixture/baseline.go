package mixture

import (
	"math"
)

// DefaultCap is the per-task example cap of FLAMe's examples-proportional
// mixture, 2^16.
const DefaultCap = 1 << 16

// Uniform returns equal weights over tasks.
func Uniform(tasks []Task) []float64 {
	w := make([]float64, len(tasks))
	for i := range w {
		w[i] = 1 / float64(len(tasks))
	}
	return w
}

// Proportional returns examples-proportional weights with a per-task cap:
// w_d ∝ min(n_d, cap). A cap ≤ 0 means no cap. FLAMe's vanilla mixture is
// Proportional(tasks, DefaultCap).
func Proportional(tasks []Task, cap int64) ([]float64, error) {
	return Temperature(tasks, cap, 1)
}

// Temperature returns temperature-scaled weights with seqio's semantics
// (seqio.mixing_rate_num_examples): clip each task's example count at cap,
// then raise it to 1/T, w_d ∝ min(n_d, cap)^(1/T). T = 1 is Proportional;
// larger T flattens the mixture towards Uniform. A cap ≤ 0 means no cap.
func Temperature(tasks []Task, cap int64, t float64) ([]float64, error) {
	if len(tasks) == 0 {
		return nil, invalidf("temperature: no tasks")
	}
	if !(t > 0) || math.IsInf(t, 0) {
		return nil, invalidf("temperature: T = %v, want a positive finite value", t)
	}
	logs := make([]float64, len(tasks))
	for i, task := range tasks {
		if task.Examples < 1 {
			return nil, invalidf("temperature: task %q: examples %d, want at least 1", task.Name, task.Examples)
		}
		n := task.Examples
		if cap > 0 && n > cap {
			n = cap
		}
		logs[i] = math.Log(float64(n)) / t
	}
	return softmaxLog(logs), nil
}

// softmaxLog returns exp(x_i)/Σ exp(x_j), computed stably.
func softmaxLog(x []float64) []float64 {
	top := math.Inf(-1)
	for _, v := range x {
		top = math.Max(top, v)
	}
	w := make([]float64, len(x))
	sum := 0.0
	for i, v := range x {
		w[i] = math.Exp(v - top)
		sum += w[i]
	}
	for i := range w {
		w[i] /= sum
	}
	return w
}

// EffectiveTasks returns exp of the Shannon entropy of w, the effective
// number of tasks: n for uniform weights over n tasks, 1 for a single task.
func EffectiveTasks(w []float64) float64 {
	h := 0.0
	for _, v := range w {
		if v > 0 {
			h -= v * math.Log(v)
		}
	}
	return math.Exp(h)
}

// RateScale returns Σ_d min(n_d, cap), the total rate of the capped
// examples-proportional mixture (cap ≤ 0: no cap). A weight w_d corresponds to
// the seqio-style mixing rate w_d·RateScale, so that the capped
// examples-proportional mixture has rate exactly min(n_d, cap), and the paper's
// bundle rates (3K, 30K, 100K, 200K) are on the same scale.
func RateScale(tasks []Task, cap int64) float64 {
	s := 0.0
	for _, t := range tasks {
		n := t.Examples
		if cap > 0 && n > cap {
			n = cap
		}
		s += float64(n)
	}
	return s
}

// Epochs returns how many passes over task d's examples a run with the given
// budget makes when sampling it with weight w: w·budget.Examples()/n_d.
func Epochs(w float64, task Task, budget Budget) float64 {
	return w * float64(budget.Examples()) / float64(task.Examples)
}
