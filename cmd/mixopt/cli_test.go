package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mixopt/mixopt/dataset"
	"github.com/mixopt/mixopt/internal/testenv"
	"github.com/mixopt/mixopt/sampler"
	"github.com/mixopt/mixopt/tables"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cli runs the real command tree in-process and returns stdout, stderr and
// the error.
func cli(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := NewRootCommand(&stdout, &stderr)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(t.Context())
	return stdout.String(), stderr.String(), err
}

func TestHelpListsCommands(t *testing.T) {
	out, _, err := cli(t, "--help")
	require.NoError(t, err)
	for _, c := range []string{"plan", "patch", "solve", "export", "sample", "validate", "report", "trainer"} {
		assert.Contains(t, out, c)
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "exp.yaml")
	require.NoError(t, os.WriteFile(path, []byte("target: rewardbench\npatch:\n  steps: 10\n  batchsize: 4\n"), 0o644))
	_, _, err := cli(t, "patch", "--config", path, "--out", t.TempDir())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "batchsize")
	assert.Contains(t, err.Error(), path)

	_, _, err = cli(t, "patch", "--target", "nosuchtarget", "--out", t.TempDir())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "rewardbench", "the error lists the shipped experiments")

	_, _, err = cli(t, "patch", "--out", t.TempDir(), "--on-interrupt", "sometimes")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "on_interrupt")
}

func TestSolveNeedsPatches(t *testing.T) {
	_, _, err := cli(t, "solve", "--run", t.TempDir())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "mixopt patch")
}

func TestTrainerServeRejectsBadListen(t *testing.T) {
	_, _, err := cli(t, "trainer", "serve", "--listen", "nonsense", "--data", t.TempDir(), "--state", t.TempDir())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--listen")
}

// samplerConfig writes a sampler config over two real datasets.
func samplerConfig(t *testing.T) string {
	t.Helper()
	data := testenv.DataDir(t)
	var datasets []*dataset.Dataset
	var tasks []dataset.Task
	for _, f := range []string{"train/pairwise/safetext.jsonl", "train/pairwise/quixbugs_python.jsonl"} {
		d, err := dataset.LoadFile(filepath.Join(data, f), dataset.LoadOptions{})
		require.NoError(t, err)
		ts, err := dataset.Tasks(d, dataset.TaskOptions{})
		require.NoError(t, err)
		datasets = append(datasets, d)
		tasks = append(tasks, ts...)
	}
	entries, err := sampler.Entries(datasets, tasks)
	require.NoError(t, err)
	sc, err := sampler.New(entries, []float64{0.75, 0.25}, sampler.Budget{Steps: 100, BatchSize: 8}, 7, sampler.Provenance{RunID: "run-test"})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "sampler.yaml")
	require.NoError(t, sc.WriteYAML(path))
	return path
}

func TestExportAndSample(t *testing.T) {
	path := samplerConfig(t)
	out, _, err := cli(t, "export", "--config", path, "--format", "all", "--progress", "never")
	require.NoError(t, err)
	assert.Contains(t, out, "seqio.py")
	assert.Contains(t, out, "epochs", "the realised-epochs table is printed")
	assert.Contains(t, out, "quixbugs_python")
	entries, err := os.ReadDir(filepath.Join(filepath.Dir(path), "exports"))
	require.NoError(t, err)
	assert.Len(t, entries, len(sampler.Formats()))

	_, _, err = cli(t, "export", "--config", path, "--format", "nope")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "seqio", "the error lists the formats")

	arrowPath := filepath.Join(t.TempDir(), "mixed.arrow")
	_, _, err = cli(t, "sample", "--config", path, "--examples", "1000", "--out", arrowPath, "--progress", "never")
	require.NoError(t, err)
	tbl, err := tables.ReadArrow(arrowPath)
	require.NoError(t, err)
	defer tbl.Release()
	assert.EqualValues(t, 1000, tbl.NumRows())
	idx := tbl.Schema().FieldIndices("task")
	require.Len(t, idx, 1)
	counts := map[string]int{}
	for _, chunk := range tbl.Column(idx[0]).Data().Chunks() {
		for i := range chunk.Len() {
			counts[chunk.ValueStr(i)]++
		}
	}
	assert.InDelta(t, 750, counts["safetext"], 1, "counts follow the weights within one")
	assert.InDelta(t, 250, counts["quixbugs_python"], 1)

	_, _, err = cli(t, "sample", "--config", path, "--examples", "0", "--out", arrowPath)
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "--examples"))
}
