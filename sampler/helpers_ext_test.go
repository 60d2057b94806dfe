package sampler_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mixopt/mixopt/sampler"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	assert.Equal(t, string(want), string(got), "golden file %s (go test -update rewrites it)", path)
}

// entry returns a task entry with plausible hashes and paths.
func entry(name, ds string, examples int64) sampler.TaskEntry {
	return sampler.TaskEntry{
		Name:        name,
		Dataset:     ds,
		Source:      "data/train/" + ds + ".jsonl",
		TaskHash:    "sha256:task-" + name,
		DatasetHash: "sha256:dataset-" + ds,
		Examples:    examples,
	}
}

// flameConfig is a small config shaped like a FLAMe-Opt-RM mixture: a
// pairwise task, a pointwise task with its derived pairs, a tiny code task
// that repeats many epochs and a task at weight zero.
func flameConfig(t testing.TB) *sampler.Config {
	t.Helper()
	tasks := []sampler.TaskEntry{
		entry("hh_rlhf_harmless_base", "hh_rlhf_harmless_base", 2306),
		entry("conala_human_grades", "conala_human_grades", 2360),
		entry("conala_human_grades/pairs", "conala_human_grades", 5120),
		entry("quixbugs_python", "quixbugs_python", 40),
		entry("mrben_math", "mrben_math", 918),
	}
	weights := []float64{100_000, 30_000, 30_000, 3_000, 0} // FLAMe-style rates
	cfg, err := sampler.New(tasks, weights, sampler.Budget{Steps: 5000, BatchSize: 8}, 1234, sampler.Provenance{
		RunID:          "run-7",
		Objective:      "rewardbench-dev",
		Solver:         "flame-bundles",
		SolverSettings: map[string]string{"tau_chat": "0.95", "helpful_rate": "100000"},
		MixoptVersion:  "v0.1.0",
	})
	require.NoError(t, err)
	return cfg
}

// syntheticConfig has k tasks of the given weights, task d holding
// examples[d % len(examples)] examples.
func syntheticConfig(t testing.TB, weights []float64, examples []int64, budget sampler.Budget) *sampler.Config {
	t.Helper()
	tasks := make([]sampler.TaskEntry, len(weights))
	for d := range tasks {
		name := fmt.Sprintf("task_%03d", d)
		tasks[d] = entry(name, name, examples[d%len(examples)])
	}
	cfg, err := sampler.New(tasks, weights, budget, 42, sampler.Provenance{})
	require.NoError(t, err)
	return cfg
}

// benchConfig has k tasks of skewed weights and n examples each.
func benchConfig(t testing.TB, k int, n int64) *sampler.Config {
	return syntheticConfig(t, benchWeights(k), []int64{n}, sampler.Budget{Steps: 1_000_000, BatchSize: 1024})
}

// python3 returns the path of python3, skipping the test without it.
func python3(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found")
	}
	return p
}

// dataDir returns the shared real data directory, skipping without it.
func dataDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("MIXOPT_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "data")
	}
	if _, err := os.Stat(filepath.Join(dir, "train")); err != nil {
		t.Skipf("no real data at %s (set MIXOPT_DATA): %v", dir, err)
	}
	return dir
}
