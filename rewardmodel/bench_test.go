package rewardmodel_test

import (
	"context"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mixopt/mixopt/dataset"
	"github.com/mixopt/mixopt/internal/testenv"
	"github.com/mixopt/mixopt/rewardmodel"
)

func loadPairs(b *testing.B) []dataset.Pair {
	b.Helper()
	d, err := dataset.LoadFile(filepath.Join(testenv.DataDir(b), "train", "pairwise", "hh_rlhf_harmless_base.jsonl"), dataset.LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return d.Pairs
}

func pairBytes(ps []dataset.Pair) int64 {
	var n int64
	for _, p := range ps {
		n += int64(len(p.Prompt) + len(p.Chosen) + len(p.Rejected))
	}
	return n
}

// BenchmarkFeaturize compares the featurizer (one pass over bytes, hashing
// tokens in place, sorted slices) with the textbook baseline (split into
// strings, lower-case copies, maps of n-gram counts), on real HH-RLHF text.
// Throughput counts prompt and both responses.
func BenchmarkFeaturize(b *testing.B) {
	pairs := loadPairs(b)
	f := rewardmodel.NewFeaturizer(rewardmodel.DefaultDim)
	b.Run("mixopt", func(b *testing.B) {
		b.SetBytes(pairBytes(pairs))
		var sc rewardmodel.Scratch
		var v rewardmodel.Vector
		for b.Loop() {
			for _, p := range pairs {
				f.Featurize(&sc, p.Prompt, p.Chosen, &v)
				f.Featurize(&sc, p.Prompt, p.Rejected, &v)
			}
		}
	})
	b.Run("baseline-maps", func(b *testing.B) {
		b.SetBytes(pairBytes(pairs))
		for b.Loop() {
			for _, p := range pairs {
				naiveFeaturize(p.Prompt, p.Chosen)
				naiveFeaturize(p.Prompt, p.Rejected)
			}
		}
	})
}

// naiveFeaturize is the straightforward way to hash unigrams and bigrams.
func naiveFeaturize(prompt, response string) map[uint32]float64 {
	inPrompt := map[string]bool{}
	for _, w := range strings.Fields(strings.ToLower(prompt)) {
		inPrompt[w] = true
	}
	counts := map[string]int{}
	words := strings.Fields(strings.ToLower(response))
	for i, w := range words {
		counts["u:"+w]++
		if i > 0 {
			counts["b:"+words[i-1]+" "+w]++
		}
	}
	out := map[uint32]float64{}
	var norm float64
	for k, c := range counts {
		h := fnv.New32a()
		h.Write([]byte(k))
		v := 1 + math.Log(float64(c))
		out[h.Sum32()&(rewardmodel.DefaultDim-1)] += v
		norm += v * v
	}
	for k := range out {
		out[k] /= math.Sqrt(norm)
	}
	return out
}

// BenchmarkTrain compares lazy Adam (moments touched only where the batch
// has gradient) with dense Adam (every weight, every step) on the same
// featurised real pairs; it reports training examples per second.
func BenchmarkTrain(b *testing.B) {
	f := rewardmodel.NewFeaturizer(rewardmodel.DefaultDim)
	td := rewardmodel.FeaturizeTask(f, &dataset.Task{Name: "hh", Objective: dataset.ObjPairwise, Pairs: loadPairs(b)}, nil)
	const steps, batch = 200, 16
	b.Run("mixopt-lazy-adam", func(b *testing.B) {
		for b.Loop() {
			if _, err := rewardmodel.Train(context.Background(), rewardmodel.NewModel(f.Dim()), []*rewardmodel.TaskData{td}, []float64{1},
				rewardmodel.TrainConfig{Steps: steps, BatchSize: batch, LearningRate: 0.01, Seed: 1}, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(steps*batch*b.N)/b.Elapsed().Seconds(), "examples/s")
	})
	b.Run("baseline-dense-adam", func(b *testing.B) {
		for b.Loop() {
			denseAdam(td, f.Dim(), steps, batch, 0.01)
		}
		b.ReportMetric(float64(steps*batch*b.N)/b.Elapsed().Seconds(), "examples/s")
	})
}

// denseAdam is textbook Adam on the Bradley–Terry loss: a dense gradient and
// an update of every weight every step.
func denseAdam(td *rewardmodel.TaskData, dim, steps, batch int, lr float64) []float64 {
	w := make([]float64, dim)
	m := make([]float64, dim)
	v := make([]float64, dim)
	g := make([]float64, dim)
	rng := rand.New(rand.NewPCG(1, 1))
	for step := 1; step <= steps; step++ {
		clear(g)
		for range batch {
			x := &td.X[rng.IntN(td.Len())]
			var s float64
			for i, j := range x.Idx {
				s += w[j] * float64(x.Val[i])
			}
			coef := -1 / (1 + math.Exp(s)) / float64(batch)
			for i, j := range x.Idx {
				g[j] += coef * float64(x.Val[i])
			}
		}
		bc1, bc2 := 1-math.Pow(0.9, float64(step)), 1-math.Pow(0.999, float64(step))
		for j := range w {
			m[j] = 0.9*m[j] + 0.1*g[j]
			v[j] = 0.999*v[j] + 0.001*g[j]*g[j]
			w[j] -= lr * (m[j] / bc1) / (math.Sqrt(v[j]/bc2) + 1e-8)
		}
	}
	return w
}
