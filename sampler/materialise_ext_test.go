package sampler_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mixopt/mixopt/dataset"
	"github.com/mixopt/mixopt/sampler"
)

// row is one row of a materialised file.
type row struct {
	Position         int64
	Task, ID, Prompt string
	Epoch, Index     int64
	Chosen, Rejected *string
	Response         *string
	Target           *float64
}

func readRows(t *testing.T, path string, mem memory.Allocator) ([]row, *arrow.Schema) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(mem))
	require.NoError(t, err)
	defer r.Close()
	var rows []row
	str := func(a arrow.Array, i int) *string {
		if a.IsNull(i) {
			return nil
		}
		s := a.(*array.String).Value(i)
		return &s
	}
	for b := 0; b < r.NumRecords(); b++ {
		rec, err := r.RecordBatch(b)
		require.NoError(t, err)
		cols := rec.Columns()
		for i := 0; i < int(rec.NumRows()); i++ {
			x := row{
				Position: cols[0].(*array.Int64).Value(i),
				Task:     cols[1].(*array.String).Value(i),
				ID:       cols[2].(*array.String).Value(i),
				Epoch:    cols[3].(*array.Int64).Value(i),
				Index:    cols[4].(*array.Int64).Value(i),
				Prompt:   cols[5].(*array.String).Value(i),
				Chosen:   str(cols[6], i),
				Rejected: str(cols[7], i),
				Response: str(cols[8], i),
			}
			if !cols[9].IsNull(i) {
				v := cols[9].(*array.Float64).Value(i)
				x.Target = &v
			}
			rows = append(rows, x)
		}
	}
	return rows, r.Schema()
}

// syntheticTasks returns a pairwise and a pointwise task of the given sizes
// and the config mixing them (with a zero-weight third task absent from the
// data).
func syntheticTasks(t *testing.T, pairs, points int) ([]dataset.Task, *sampler.Config) {
	t.Helper()
	pt := dataset.Task{Name: "prefs", Dataset: "prefs", Objective: dataset.ObjPairwise, ContentHash: "sha256:p"}
	for i := 0; i < pairs; i++ {
		pt.Pairs = append(pt.Pairs, dataset.Pair{ID: fmt.Sprintf("p%d", i), Prompt: fmt.Sprintf("prompt %d", i), Chosen: fmt.Sprintf("good %d", i), Rejected: fmt.Sprintf("bad %d", i)})
	}
	rt := dataset.Task{Name: "ratings", Dataset: "ratings", Objective: dataset.ObjPointwise, ContentHash: "sha256:r"}
	for i := 0; i < points; i++ {
		rt.Points = append(rt.Points, dataset.Point{ID: fmt.Sprintf("r%d", i), Prompt: fmt.Sprintf("question %d", i), Response: fmt.Sprintf("answer %d", i), Target: float64(i) / float64(points)})
	}
	entries := []sampler.TaskEntry{entry("prefs", "prefs", int64(pairs)), entry("ratings", "ratings", int64(points)), entry("absent", "absent", 5)}
	entries[0].TaskHash, entries[1].TaskHash = "sha256:p", "sha256:r"
	cfg, err := sampler.New(entries, []float64{0.7, 0.3, 0}, sampler.Budget{Steps: 100, BatchSize: 32}, 11, sampler.Provenance{RunID: "m"})
	require.NoError(t, err)
	return []dataset.Task{pt, rt}, cfg
}

func TestMaterialise(t *testing.T) {
	tasks, cfg := syntheticTasks(t, 37, 101)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	path := filepath.Join(dir, "mixed.arrow")
	const n = 5000
	var calls, last int64
	err := sampler.Materialise(t.Context(), cfg, sampler.TaskSource(tasks), path, sampler.MaterialiseOptions{
		Examples:  n,
		BatchRows: 512,
		Allocator: mem,
		Progress: func(done, total int64) {
			calls++
			assert.Greater(t, done, last)
			assert.Equal(t, int64(n), total)
			last = done
		},
	})
	require.NoError(t, err)
	assert.Equal(t, int64(10), calls, "one progress call per batch")
	assert.Equal(t, int64(n), last)

	rows, schema := readRows(t, path, mem)
	require.Len(t, rows, n)
	md := schema.Metadata()
	assert.Equal(t, cfg.Fingerprint(), md.Values()[md.FindKey("mixopt.sampler.config")])
	assert.Equal(t, "11", md.Values()[md.FindKey("mixopt.sampler.seed")])

	stream, err := sampler.NewStream(cfg)
	require.NoError(t, err)
	counts := map[string]float64{}
	for i, r := range rows {
		p := stream.Next()
		require.Equal(t, int64(i), r.Position)
		require.Equal(t, cfg.Tasks[p.Task].Name, r.Task)
		require.Equal(t, p.Example, r.Index)
		require.Equal(t, p.Epoch, r.Epoch)
		switch r.Task {
		case "prefs":
			pair := tasks[0].Pairs[r.Index]
			assert.Equal(t, pair.ID, r.ID)
			assert.Equal(t, pair.Prompt, r.Prompt)
			require.NotNil(t, r.Chosen)
			assert.Equal(t, pair.Chosen, *r.Chosen)
			assert.Equal(t, pair.Rejected, *r.Rejected)
			assert.Nil(t, r.Response)
			assert.Nil(t, r.Target)
		case "ratings":
			pt := tasks[1].Points[r.Index]
			assert.Equal(t, pt.ID, r.ID)
			require.NotNil(t, r.Response)
			assert.Equal(t, pt.Response, *r.Response)
			assert.Equal(t, pt.Target, *r.Target)
			assert.Nil(t, r.Chosen)
		default:
			t.Fatalf("row %d has task %q", i, r.Task)
		}
		// Every prefix holds each task within one example of its share.
		counts[r.Task]++
		for _, task := range cfg.Tasks {
			dev := math.Abs(counts[task.Name] - task.Probability*float64(i+1))
			require.Less(t, dev, 1.0, "task %s after %d rows", task.Name, i+1)
		}
	}

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "only the final file remains")
}

func TestMaterialiseSeekReproducesRows(t *testing.T) {
	tasks, cfg := syntheticTasks(t, 13, 29)
	dir := t.TempDir()
	full := filepath.Join(dir, "full.arrow")
	part := filepath.Join(dir, "part.arrow")
	src := sampler.TaskSource(tasks)
	require.NoError(t, sampler.Materialise(t.Context(), cfg, src, full, sampler.MaterialiseOptions{Examples: 3000}))
	require.NoError(t, sampler.Materialise(t.Context(), cfg, src, part, sampler.MaterialiseOptions{Start: 1234, Examples: 700, BatchRows: 100}))
	all, _ := readRows(t, full, memory.DefaultAllocator)
	got, _ := readRows(t, part, memory.DefaultAllocator)
	assert.Equal(t, all[1234:1934], got)
}

// peakAllocator records the most bytes outstanding at once.
type peakAllocator struct {
	memory.Allocator
	cur, peak atomic.Int64
}

func (a *peakAllocator) Allocate(n int) []byte {
	if c := a.cur.Add(int64(n)); c > a.peak.Load() {
		a.peak.Store(c)
	}
	return a.Allocator.Allocate(n)
}

func (a *peakAllocator) Reallocate(n int, b []byte) []byte {
	if c := a.cur.Add(int64(n - len(b))); c > a.peak.Load() {
		a.peak.Store(c)
	}
	return a.Allocator.Reallocate(n, b)
}

func (a *peakAllocator) Free(b []byte) {
	a.cur.Add(-int64(len(b)))
	a.Allocator.Free(b)
}

func TestMaterialiseMemoryIsBounded(t *testing.T) {
	tasks, cfg := syntheticTasks(t, 50, 50)
	peak := func(n int64) int64 {
		mem := &peakAllocator{Allocator: memory.NewGoAllocator()}
		path := filepath.Join(t.TempDir(), "mixed.arrow")
		require.NoError(t, sampler.Materialise(t.Context(), cfg, sampler.TaskSource(tasks), path,
			sampler.MaterialiseOptions{Examples: n, BatchRows: 256, Allocator: mem}))
		return mem.peak.Load()
	}
	small, large := peak(1_000), peak(40_000)
	t.Logf("peak Arrow memory: %d bytes for 1k rows, %d for 40k", small, large)
	assert.Less(t, large, 2*small, "peak Arrow memory grows with the row count: %d bytes for 1k rows, %d for 40k", small, large)
}

func TestMaterialiseRejects(t *testing.T) {
	tasks, cfg := syntheticTasks(t, 10, 10)
	path := filepath.Join(t.TempDir(), "mixed.arrow")
	src := sampler.TaskSource(tasks)

	err := sampler.Materialise(t.Context(), cfg, src, path, sampler.MaterialiseOptions{})
	assert.ErrorContains(t, err, "examples 0: must be positive")

	short := sampler.TaskSource(tasks[:1])
	err = sampler.Materialise(t.Context(), cfg, short, path, sampler.MaterialiseOptions{Examples: 10})
	assert.ErrorContains(t, err, `task "ratings" is not in the data`)

	resized := []dataset.Task{tasks[0], tasks[1]}
	resized[1].Points = resized[1].Points[:5]
	err = sampler.Materialise(t.Context(), cfg, sampler.TaskSource(resized), path, sampler.MaterialiseOptions{Examples: 10})
	assert.ErrorContains(t, err, `task "ratings" has 5 examples in the data, 10 in the config`)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err = sampler.Materialise(ctx, cfg, src, path, sampler.MaterialiseOptions{Examples: 10})
	assert.ErrorIs(t, err, context.Canceled)
	_, statErr := os.Stat(path)
	assert.True(t, os.IsNotExist(statErr), "no file after a failed write")
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Empty(t, entries, "no temporary file left behind")
}

// TestMaterialiseRealData mixes three real datasets of the shared corpus
// through the dataset package, verifies the config against them and checks
// the written rows against the data.
func TestMaterialiseRealData(t *testing.T) {
	dir := dataDir(t)
	var datasets []*dataset.Dataset
	var tasks []dataset.Task
	for _, f := range []string{"pairwise/quixbugs_python.jsonl", "classification/mrben_coding.jsonl", "pointwise/frank_factuality.jsonl"} {
		d, err := dataset.LoadFile(filepath.Join(dir, "train", f), dataset.LoadOptions{})
		require.NoError(t, err)
		ts, err := dataset.Tasks(d, dataset.TaskOptions{})
		require.NoError(t, err)
		datasets = append(datasets, d)
		tasks = append(tasks, ts...)
	}
	entries, err := sampler.Entries(datasets, tasks)
	require.NoError(t, err)
	weights := make([]float64, len(entries))
	for i := range weights {
		weights[i] = float64(i + 1)
	}
	cfg, err := sampler.New(entries, weights, sampler.Budget{Steps: 500, BatchSize: 8}, 3, sampler.Provenance{})
	require.NoError(t, err)
	unchecked, err := cfg.Verify(entries)
	require.NoError(t, err)
	assert.Empty(t, unchecked)

	// What "mixopt sample" does: load the config's data by its source
	// paths, verify it and materialise.
	src, err := sampler.LoadSource(cfg, dataset.TaskOptions{})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "mixed.arrow")
	require.NoError(t, sampler.Materialise(t.Context(), cfg, src, path,
		sampler.MaterialiseOptions{Examples: cfg.Budget.Examples()}))
	rows, _ := readRows(t, path, memory.DefaultAllocator)
	require.Len(t, rows, 4000)
	byName := map[string]*dataset.Task{}
	for i := range tasks {
		byName[tasks[i].Name] = &tasks[i]
	}
	seen := map[string]int{}
	for _, r := range rows {
		task := byName[r.Task]
		require.NotNil(t, task, r.Task)
		seen[r.Task]++
		if task.Objective == dataset.ObjPairwise {
			assert.Equal(t, task.Pairs[r.Index].ID, r.ID)
			assert.Equal(t, task.Pairs[r.Index].Chosen, *r.Chosen)
		} else {
			assert.Equal(t, task.Points[r.Index].ID, r.ID)
			assert.Equal(t, task.Points[r.Index].Target, *r.Target)
		}
	}
	for i, task := range cfg.Tasks {
		assert.InDelta(t, task.Probability*4000, float64(seen[task.Name]), 1, "task %d %s", i, task.Name)
	}
}

func TestLoadSourceRejectsChangedData(t *testing.T) {
	dir := dataDir(t)
	d, err := dataset.LoadFile(filepath.Join(dir, "train", "pointwise", "frank_factuality.jsonl"), dataset.LoadOptions{})
	require.NoError(t, err)
	tasks, err := dataset.Tasks(d, dataset.TaskOptions{})
	require.NoError(t, err)
	entries, err := sampler.Entries([]*dataset.Dataset{d}, tasks)
	require.NoError(t, err)
	weights := make([]float64, len(entries))
	for i := range weights {
		weights[i] = 1
	}
	cfg, err := sampler.New(entries, weights, sampler.Budget{Steps: 10, BatchSize: 8}, 1, sampler.Provenance{})
	require.NoError(t, err)

	// Deriving the pairs with another cap changes the pairs task.
	_, err = sampler.LoadSource(cfg, dataset.TaskOptions{MaxPairsPerPrompt: 1})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "data does not match the sampler config")
	assert.Contains(t, err.Error(), "frank_factuality/pairs")

	cfg.Tasks[0].Source = filepath.Join(t.TempDir(), "gone.jsonl")
	_, err = sampler.LoadSource(cfg, dataset.TaskOptions{})
	assert.ErrorContains(t, err, "gone.jsonl")
}
