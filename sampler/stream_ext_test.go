package sampler_test

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mixopt/mixopt/sampler"
)

func TestPermutationIsBijection(t *testing.T) {
	sizes := []uint64{1, 2, 3, 4, 5, 7, 8, 13, 16, 17, 31, 64, 97, 127, 128, 1000, 1024, 4093, 4096, 65537}
	for _, n := range sizes {
		for _, key := range []uint64{0, 1, 0xdeadbeef} {
			t.Run(fmt.Sprintf("n=%d/key=%d", n, key), func(t *testing.T) {
				p := sampler.NewPermutation(n, key)
				require.Equal(t, n, p.Len())
				seen := make([]bool, n)
				for i := uint64(0); i < n; i++ {
					x := p.At(i)
					if x >= n || seen[x] {
						t.Fatalf("image %d of %d is out of range or hit twice", x, i)
					}
					seen[x] = true
				}
			})
		}
	}
}

func TestPermutationLargeDomain(t *testing.T) {
	// A billion-example task: the permutation needs no memory, and a sample
	// of inputs maps injectively into range.
	const n = 1_000_000_007
	p := sampler.NewPermutation(n, 99)
	seen := map[uint64]bool{}
	for i := uint64(0); i < 20_000; i++ {
		x := p.At(i * 49_999)
		require.Less(t, x, uint64(n))
		require.False(t, seen[x])
		seen[x] = true
	}
}

func TestPermutationKeysDiffer(t *testing.T) {
	a, b := sampler.NewPermutation(1000, 1), sampler.NewPermutation(1000, 2)
	same := 0
	for i := uint64(0); i < 1000; i++ {
		if a.At(i) == b.At(i) {
			same++
		}
	}
	assert.Less(t, same, 20, "two keys should give unrelated orders (about 1 fixed agreement expected)")
	identity := 0
	for i := uint64(0); i < 1000; i++ {
		if a.At(i) == i {
			identity++
		}
	}
	assert.Less(t, identity, 20, "a permutation should not be close to the identity")
}

func TestPermutationOutOfRangePanics(t *testing.T) {
	p := sampler.NewPermutation(5, 1)
	assert.Panics(t, func() { p.At(5) })
	var empty sampler.Permutation
	assert.Panics(t, func() { empty.At(0) })
}

func TestStreamEpochsArePermutations(t *testing.T) {
	cfg := syntheticConfig(t, []float64{3, 1, 1}, []int64{7, 50, 1}, sampler.Budget{Steps: 100, BatchSize: 10})
	s, err := sampler.NewStream(cfg)
	require.NoError(t, err)
	type key struct {
		task  int
		epoch int64
	}
	epochs := map[key][]int64{}
	for i := 0; i < 3000; i++ {
		p := s.Next()
		require.Equal(t, int64(i), p.Position)
		k := key{p.Task, p.Epoch}
		require.Equal(t, int64(len(epochs[k])), p.Offset, "offset within epoch")
		epochs[k] = append(epochs[k], p.Example)
	}
	orders := map[int]map[string]bool{}
	for k, ex := range epochs {
		n := cfg.Tasks[k.task].Examples
		if int64(len(ex)) < n {
			continue // the last, unfinished epoch
		}
		require.Len(t, ex, int(n))
		seen := make([]bool, n)
		for _, x := range ex {
			require.False(t, seen[x], "task %d epoch %d repeats example %d", k.task, k.epoch, x)
			seen[x] = true
		}
		if orders[k.task] == nil {
			orders[k.task] = map[string]bool{}
		}
		orders[k.task][fmt.Sprint(ex)] = true
	}
	assert.Greater(t, len(orders[0]), 100, "a 7-example task should be reshuffled every epoch")
	assert.Len(t, orders[2], 1, "a 1-example task has one order")
}

func TestStreamSeekEqualsReplay(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	cfg := syntheticConfig(t, randomWeights(rng, 12, "skewed"), []int64{3, 17, 1000, 2}, sampler.Budget{Steps: 1000, BatchSize: 100})
	ref, err := sampler.NewStream(cfg)
	require.NoError(t, err)
	const n = 2*sampler.SnapshotInterval + 777
	picks := make([]sampler.Pick, n)
	for i := range picks {
		picks[i] = ref.Next()
	}
	s, err := sampler.NewStream(cfg)
	require.NoError(t, err)
	targets := []int64{100_000, 3, sampler.SnapshotInterval, 0, n - 50, 65_535}
	for i := 0; i < 10; i++ {
		targets = append(targets, rng.Int64N(n-50))
	}
	for _, at := range targets {
		got, err := s.Seek(at, io.SeekStart)
		require.NoError(t, err)
		require.Equal(t, at, got)
		for i := int64(0); i < 50; i++ {
			require.Equal(t, picks[at+i], s.Next(), "seek %d then %d picks", at, i)
		}
	}
	last := targets[len(targets)-1] // the stream stands at last+50
	got, err := s.Seek(-10, io.SeekCurrent)
	require.NoError(t, err)
	assert.Equal(t, last+40, got)
	assert.Equal(t, picks[last+40], s.Next())
	_, err = s.Seek(0, io.SeekEnd)
	assert.ErrorContains(t, err, "no end")
	_, err = s.Seek(-1, io.SeekStart)
	assert.ErrorContains(t, err, "negative position")
}

func TestStreamResumeFromState(t *testing.T) {
	cfg := flameConfig(t)
	ref, err := sampler.NewStream(cfg)
	require.NoError(t, err)
	for i := 0; i < 33_333; i++ {
		ref.Next()
	}
	saved, err := json.Marshal(ref.State())
	require.NoError(t, err)

	var st sampler.State
	require.NoError(t, json.Unmarshal(saved, &st))
	s, err := sampler.NewStream(cfg)
	require.NoError(t, err)
	require.NoError(t, s.Resume(st))
	assert.Equal(t, int64(33_333), s.Position())
	for i := 0; i < 20_000; i++ {
		require.Equal(t, ref.Next(), s.Next(), "pick %d after resume", i)
	}
}

func TestStreamResumeRejects(t *testing.T) {
	cfg := flameConfig(t)
	s, err := sampler.NewStream(cfg)
	require.NoError(t, err)
	for i := 0; i < 100; i++ {
		s.Next()
	}
	good := s.State()
	other := syntheticConfig(t, []float64{1, 1}, []int64{10}, sampler.Budget{Steps: 10, BatchSize: 1})

	wrongConfig := good
	wrongConfig.Config = other.Fingerprint()
	assert.ErrorContains(t, s.Resume(wrongConfig), "state is for config")

	wrongSum := good
	wrongSum.Position++
	assert.ErrorContains(t, s.Resume(wrongSum), "counts sum to 100, not the position 101")

	skewed := good
	skewed.Counts = append([]int64(nil), good.Counts...)
	skewed.Counts[0] += 5
	skewed.Counts[1] -= 5
	assert.ErrorContains(t, s.Resume(skewed), "outside the bound")
}

// TestStreamTaskOrderIndependent checks that each task's example order
// depends on its name, not its place in the config.
func TestStreamTaskOrderIndependent(t *testing.T) {
	tasks := []sampler.TaskEntry{entry("a", "a", 11), entry("b", "b", 13), entry("c/pairs", "c", 5)}
	weights := []float64{0.5, 0.3, 0.2}
	budget := sampler.Budget{Steps: 10, BatchSize: 10}
	fwd, err := sampler.New(tasks, weights, budget, 9, sampler.Provenance{})
	require.NoError(t, err)
	rev, err := sampler.New([]sampler.TaskEntry{tasks[2], tasks[1], tasks[0]}, []float64{0.2, 0.3, 0.5}, budget, 9, sampler.Provenance{})
	require.NoError(t, err)
	perTask := func(cfg *sampler.Config) map[string][]int64 {
		s, err := sampler.NewStream(cfg)
		require.NoError(t, err)
		out := map[string][]int64{}
		for i := 0; i < 1000; i++ {
			p := s.Next()
			name := cfg.Tasks[p.Task].Name
			out[name] = append(out[name], p.Example)
		}
		return out
	}
	a, b := perTask(fwd), perTask(rev)
	for _, name := range []string{"a", "b", "c/pairs"} {
		n := min(len(a[name]), len(b[name]))
		assert.Equal(t, a[name][:n], b[name][:n], name)
	}
}

func TestStreamSeedChangesOrder(t *testing.T) {
	tasks := []sampler.TaskEntry{entry("a", "a", 1000)}
	budget := sampler.Budget{Steps: 10, BatchSize: 10}
	c1, err := sampler.New(tasks, []float64{1}, budget, 1, sampler.Provenance{})
	require.NoError(t, err)
	c2, err := sampler.New(tasks, []float64{1}, budget, 2, sampler.Provenance{})
	require.NoError(t, err)
	s1, err := sampler.NewStream(c1)
	require.NoError(t, err)
	s2, err := sampler.NewStream(c2)
	require.NoError(t, err)
	same := 0
	for i := 0; i < 1000; i++ {
		if s1.Next().Example == s2.Next().Example {
			same++
		}
	}
	assert.Less(t, same, 20)
}
