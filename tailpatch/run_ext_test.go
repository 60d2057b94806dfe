package tailpatch_test

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/mixopt/mixopt/internal/testenv"
	"github.com/mixopt/mixopt/reftrainer"
	"github.com/mixopt/mixopt/tables"
	"github.com/mixopt/mixopt/tailpatch"
	"github.com/mixopt/mixopt/trainer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// realTasks are four real tasks of different kinds and sizes.
var realTasks = []string{"hh_rlhf_harmless_base", "mrben_math", "quixbugs_python", "tulu1_human_eval"}

func realConfig() tailpatch.Config {
	cfg := tailpatch.DefaultConfig()
	cfg.Tasks = realTasks
	cfg.Base.Steps = 60
	cfg.Patch.Steps = 40
	cfg.Seeds = []uint64{1, 2}
	cfg.EvalEvery = 10
	cfg.Effects.Replicates = 200
	return cfg
}

// TestRealRun runs tail patching against the reference trainer on the real
// data: the effects have real confidence intervals, every table reads back
// from Arrow and Parquet with the documented columns, and a second run on
// the same directory runs nothing and rewrites every table byte for byte.
func TestRealRun(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on the real data")
	}
	local, err := reftrainer.StartLocal(reftrainer.Config{DataDir: testenv.DataDir(t), StateDir: t.TempDir()})
	require.NoError(t, err)
	defer local.Close()
	c, err := trainer.Dial(local.Addr)
	require.NoError(t, err)
	defer c.Close()
	opts := tailpatch.RunOptions{Dir: t.TempDir(), Endpoints: []tailpatch.Endpoint{{Name: "inproc", Trainer: c}}, Version: "test"}
	cfg := realConfig()

	start := time.Now()
	sum, err := tailpatch.Run(t.Context(), cfg, opts)
	require.NoError(t, err)
	t.Logf("first run: %d jobs in %v", sum.Ran, time.Since(start).Round(time.Millisecond))
	require.Equal(t, 1+len(realTasks)*len(cfg.Seeds)+len(cfg.Seeds), sum.Jobs)
	assert.Equal(t, sum.Jobs, sum.Ran)

	checkEffects(t, sum.Effects)
	checkTables(t, opts.Dir, cfg, sum)

	before := readFiles(t, opts.Dir, append(resultTables, tailpatch.JobsTable))
	again, err := tailpatch.Run(t.Context(), cfg, opts)
	require.NoError(t, err)
	assert.Zero(t, again.Ran, "a rerun runs nothing")
	assert.Equal(t, sum.RunID, again.RunID)
	after := readFiles(t, opts.Dir, append(resultTables, tailpatch.JobsTable))
	for name, b := range before {
		// jobs.* too: it is built from the ledger, which a run without new
		// work does not change.
		assert.Equal(t, b, after[name], "%s is rewritten byte for byte", name)
	}
}

// checkEffects checks that the intervals are real intervals: not
// degenerate, containing their point estimates, ordered.
func checkEffects(t *testing.T, e *tailpatch.Effects) {
	t.Helper()
	var open, contain, n int
	for _, r := range e.Rows {
		require.False(t, math.IsNaN(r.Delta), "%s/%s", r.Task, r.Category)
		assert.LessOrEqual(t, r.Low, r.High, "%s/%s", r.Task, r.Category)
		assert.LessOrEqual(t, r.ControlLow, r.ControlHigh, "%s/%s", r.Task, r.Category)
		n++
		if r.Low < r.High {
			open++
		}
		if r.Low <= r.Delta && r.Delta <= r.High {
			contain++
		}
	}
	t.Logf("effects: %d rows, %d with ci_low < ci_high, %d containing delta", n, open, contain)
	assert.Greater(t, float64(open), 0.75*float64(n), "most intervals have width")
	assert.Greater(t, float64(contain), 0.9*float64(n), "most intervals contain their point estimate")
}

// col is one expected column.
type col struct {
	name     string
	typ      arrow.DataType
	nullable bool
}

var (
	str  = arrow.BinaryTypes.String
	f64  = arrow.PrimitiveTypes.Float64
	i32  = arrow.PrimitiveTypes.Int32
	i64  = arrow.PrimitiveTypes.Int64
	u64  = arrow.PrimitiveTypes.Uint64
	bln  = arrow.FixedWidthTypes.Boolean
	tsUS = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
)

// metaKeys are the provenance keys every table carries.
var metaKeys = []string{
	"mixopt.run_id", "mixopt.target", "mixopt.version", "mixopt.trainer", "mixopt.config",
	"mixopt.suite", "mixopt.suite_hash", "mixopt.split", "mixopt.base_checkpoint", "mixopt.categories", "mixopt.deviations",
}

// readBoth reads a table from its Arrow and its Parquet file, checks that
// they hold the same schema, metadata and values, and returns the Arrow one.
func readBoth(t *testing.T, dir, name string, want []col, rows int) arrow.Table {
	t.Helper()
	a, err := tables.ReadArrow(filepath.Join(dir, name+".arrow"))
	require.NoError(t, err)
	t.Cleanup(a.Release)
	p, err := tables.ReadParquet(filepath.Join(dir, name+".parquet"))
	require.NoError(t, err)
	t.Cleanup(p.Release)
	for _, tbl := range []arrow.Table{a, p} {
		fields := tbl.Schema().Fields()
		require.Len(t, fields, len(want), "%s: columns", name)
		for i, w := range want {
			f := fields[i]
			assert.Equal(t, w.name, f.Name, "%s: column %d", name, i)
			assert.True(t, arrow.TypeEqual(w.typ, f.Type), "%s.%s: type %v, want %v", name, w.name, f.Type, w.typ)
			assert.Equal(t, w.nullable, f.Nullable, "%s.%s: nullable", name, w.name)
			if !w.nullable {
				assert.Zero(t, tbl.Column(i).Data().NullN(), "%s.%s: nulls in a non-nullable column", name, w.name)
			}
		}
		assert.EqualValues(t, rows, tbl.NumRows(), "%s: rows", name)
		md := tbl.Schema().Metadata()
		for _, k := range metaKeys {
			i := md.FindKey(k)
			if assert.GreaterOrEqual(t, i, 0, "%s: metadata %s", name, k) && k != "mixopt.deviations" {
				assert.NotEmpty(t, md.Values()[i], "%s: metadata %s", name, k)
			}
		}
	}
	assert.True(t, sameValues(a, p), "%s: Arrow and Parquet hold the same values", name)
	am, pm := a.Schema().Metadata(), p.Schema().Metadata()
	for _, k := range metaKeys {
		assert.Equal(t, am.Values()[am.FindKey(k)], pm.Values()[pm.FindKey(k)], "%s: metadata %s", name, k)
	}
	return a
}

// sameValues reports whether two tables have the same column names, types
// and values. Unlike array.TableEqual it ignores field metadata, which
// Parquet adds (PARQUET:field_id).
func sameValues(a, b arrow.Table) bool {
	if a.NumCols() != b.NumCols() || a.NumRows() != b.NumRows() {
		return false
	}
	for i := range int(a.NumCols()) {
		ca, cb := a.Column(i), b.Column(i)
		if ca.Name() != cb.Name() || !arrow.TypeEqual(ca.DataType(), cb.DataType()) || !array.ChunkedEqual(ca.Data(), cb.Data()) {
			return false
		}
	}
	return true
}

// column helpers: values of a column across chunks; nulls as "" / NaN / -1.
func strs(tbl arrow.Table, name string) (vals []string, valid []bool) {
	for _, ch := range column(tbl, name).Chunks() {
		a := ch.(*array.String)
		for i := range a.Len() {
			vals, valid = append(vals, a.Value(i)), append(valid, a.IsValid(i))
		}
	}
	return vals, valid
}

func floats(tbl arrow.Table, name string) []float64 {
	var out []float64
	for _, ch := range column(tbl, name).Chunks() {
		a := ch.(*array.Float64)
		for i := range a.Len() {
			v := a.Value(i)
			if a.IsNull(i) {
				v = math.NaN()
			}
			out = append(out, v)
		}
	}
	return out
}

func ints(tbl arrow.Table, name string) []int64 {
	var out []int64
	for _, ch := range column(tbl, name).Chunks() {
		for i := range ch.Len() {
			switch a := ch.(type) {
			case *array.Int32:
				out = append(out, int64(a.Value(i)))
			case *array.Int64:
				out = append(out, a.Value(i))
			case *array.Uint64:
				out = append(out, int64(a.Value(i)))
			case *array.Timestamp:
				out = append(out, int64(a.Value(i)))
			}
			if ch.IsNull(i) {
				out[len(out)-1] = -1
			}
		}
	}
	return out
}

func bools(tbl arrow.Table, name string) []bool {
	var out []bool
	for _, ch := range column(tbl, name).Chunks() {
		a := ch.(*array.Boolean)
		for i := range a.Len() {
			out = append(out, a.Value(i))
		}
	}
	return out
}

func column(tbl arrow.Table, name string) *arrow.Chunked {
	idx := tbl.Schema().FieldIndices(name)
	if len(idx) != 1 {
		panic(fmt.Sprintf("no column %q", name))
	}
	return tbl.Column(idx[0]).Data()
}

// checkTables reads every table back and checks every column.
func checkTables(t *testing.T, dir string, cfg tailpatch.Config, sum *tailpatch.Summary) {
	t.Helper()
	cats := sum.Effects.Categories
	nTasks, nSeeds, nCats := len(cfg.Tasks), len(cfg.Seeds), len(cats)
	nJobs := 1 + nTasks*nSeeds + nSeeds

	// patches: one row per job.
	pcols := []col{
		{"job_id", str, false}, {"kind", str, false}, {"task", str, true}, {"seed", u64, false},
		{"base_checkpoint", str, false}, {"checkpoint", str, false}, {"steps", i64, false},
		{"batch_size", i32, false}, {"learning_rate", f64, false}, {"final_loss", f64, true},
	}
	for _, c := range cats {
		pcols = append(pcols, col{tailpatch.CategoryColumn(c.Name), f64, true})
	}
	p := readBoth(t, dir, tailpatch.PatchesTable, pcols, nJobs)
	ids, _ := strs(p, "job_id")
	kinds, _ := strs(p, "kind")
	tasks, taskValid := strs(p, "task")
	bases, _ := strs(p, "base_checkpoint")
	ckpts, _ := strs(p, "checkpoint")
	steps, seeds := ints(p, "steps"), ints(p, "seed")
	lrs, losses := floats(p, "learning_rate"), floats(p, "final_loss")
	assert.Len(t, slices.Compact(slices.Sorted(slices.Values(ids))), nJobs, "job ids are unique")
	kindCount := map[string]int{}
	for i, k := range kinds {
		kindCount[k]++
		assert.Equal(t, k == string(tailpatch.KindPatch), taskValid[i], "row %d (%s): task is set exactly for patches", i, k)
		assert.False(t, math.IsNaN(losses[i]), "row %d: a trained job has a final loss", i)
		assert.Regexp(t, `^ck-[0-9a-f]{32}$`, ckpts[i], "row %d", i)
		switch k {
		case string(tailpatch.KindBase):
			assert.Equal(t, 0, i, "the base comes first")
			assert.Equal(t, "init", bases[i])
			assert.Equal(t, cfg.Base.Steps, steps[i])
			assert.Equal(t, sum.BaseCheckpoint, ckpts[i])
		default:
			assert.Equal(t, sum.BaseCheckpoint, bases[i], "row %d starts from the base", i)
			assert.Equal(t, cfg.Patch.Steps, steps[i])
			assert.Equal(t, cfg.Patch.LearningRate, lrs[i])
			assert.Contains(t, []int64{1, 2}, seeds[i])
		}
	}
	assert.Equal(t, map[string]int{"base": 1, "patch": nTasks * nSeeds, "control": nSeeds}, kindCount)
	scores := map[string][]float64{}
	for _, c := range cats {
		scores[c.Name] = floats(p, tailpatch.CategoryColumn(c.Name))
		for i, v := range scores[c.Name] {
			assert.True(t, v >= 0 && v <= 1, "%s row %d: score %v in [0, 1]", c.Name, i, v)
		}
	}

	// effects: one row per task and category, task-major.
	e := readBoth(t, dir, tailpatch.EffectsTable, []col{
		{"task", str, false}, {"category", str, false}, {"section", bln, false}, {"tail_patch", bln, false},
		{"delta", f64, true}, {"ci_low", f64, true}, {"ci_high", f64, true},
		{"delta_vs_control", f64, true}, {"control_ci_low", f64, true}, {"control_ci_high", f64, true},
		{"stability", f64, true}, {"p_nonpositive", f64, true}, {"n_seeds", i32, false},
		{"base_score", f64, true}, {"patched_score", f64, true}, {"task_examples", i64, false},
	}, nTasks*nCats)
	etask, _ := strs(e, "task")
	ecat, _ := strs(e, "category")
	section, tailPatch := bools(e, "section"), bools(e, "tail_patch")
	nseeds, examples := ints(e, "n_seeds"), ints(e, "task_examples")
	vals := map[string][]float64{}
	for _, n := range []string{"delta", "ci_low", "ci_high", "delta_vs_control", "control_ci_low", "control_ci_high", "stability", "p_nonpositive", "base_score", "patched_score"} {
		vals[n] = floats(e, n)
		for i, v := range vals[n] {
			assert.False(t, math.IsNaN(v), "effects.%s row %d: null (every category has subsets, there are controls and trajectories)", n, i)
		}
	}
	for i := range etask {
		task, c := slices.Sorted(slices.Values(cfg.Tasks))[i/nCats], cats[i%nCats]
		assert.Equal(t, task, etask[i], "row %d", i)
		assert.Equal(t, c.Name, ecat[i], "row %d", i)
		assert.Equal(t, c.Section, section[i], "row %d", i)
		assert.Equal(t, c.TailPatch, tailPatch[i], "row %d", i)
		assert.EqualValues(t, nSeeds, nseeds[i])
		assert.Positive(t, examples[i])
		for _, n := range []string{"stability", "p_nonpositive"} {
			assert.True(t, vals[n][i] >= 0 && vals[n][i] <= 1, "%s row %d: %v in [0, 1]", n, i, vals[n][i])
		}
		// Cross-table: base and patched scores are those of the patches
		// table, and delta is their difference.
		var sumPatched float64
		for r := range kinds {
			if kinds[r] == string(tailpatch.KindPatch) && tasks[r] == task {
				sumPatched += scores[c.Name][r]
			}
		}
		assert.InDelta(t, scores[c.Name][0], vals["base_score"][i], 1e-12, "row %d: base score", i)
		assert.InDelta(t, sumPatched/float64(nSeeds), vals["patched_score"][i], 1e-12, "row %d: patched score", i)
		assert.InDelta(t, vals["patched_score"][i]-vals["base_score"][i], vals["delta"][i], 1e-12, "row %d: delta", i)
	}

	// effects_bootstrap: one row per replicate, task and category.
	reps := sum.Effects.Options.Replicates
	b := readBoth(t, dir, tailpatch.BootstrapTable, []col{
		{"replicate", i32, false}, {"task", str, false}, {"category", str, false},
		{"delta", f64, true}, {"delta_vs_control", f64, true},
	}, reps*nTasks*nCats)
	rep := ints(b, "replicate")
	btask, _ := strs(b, "task")
	bcat, _ := strs(b, "category")
	bdelta, bctl := floats(b, "delta"), floats(b, "delta_vs_control")
	cells := nTasks * nCats
	for i := range rep {
		assert.EqualValues(t, i/cells, rep[i])
		assert.Equal(t, etask[i%cells], btask[i])
		assert.Equal(t, ecat[i%cells], bcat[i])
		assert.False(t, math.IsNaN(bdelta[i]) || math.IsNaN(bctl[i]), "bootstrap row %d: null", i)
	}

	// jobs: one row per job, all finished.
	j := readBoth(t, dir, tailpatch.JobsTable, []col{
		{"job_id", str, false}, {"kind", str, false}, {"task", str, true}, {"seed", u64, false},
		{"state", str, false}, {"endpoint", str, false}, {"attempts", i32, false},
		{"wall_time_s", f64, true}, {"submitted_at", tsUS, true}, {"finished_at", tsUS, true}, {"error", str, true},
	}, nJobs)
	jids, _ := strs(j, "job_id")
	assert.ElementsMatch(t, ids, jids, "jobs lists the jobs of patches")
	jstates, _ := strs(j, "state")
	jeps, _ := strs(j, "endpoint")
	_, errValid := strs(j, "error")
	attempts, wall := ints(j, "attempts"), floats(j, "wall_time_s")
	submitted, finished := ints(j, "submitted_at"), ints(j, "finished_at")
	for i := range jids {
		assert.Equal(t, "succeeded", jstates[i], "job %s", jids[i])
		assert.Equal(t, "inproc", jeps[i])
		assert.False(t, errValid[i], "job %s: no error", jids[i])
		assert.GreaterOrEqual(t, attempts[i], int64(1))
		assert.GreaterOrEqual(t, wall[i], 0.0, "job %s: wall time", jids[i])
		assert.Positive(t, submitted[i], "job %s: submitted_at", jids[i])
		assert.GreaterOrEqual(t, finished[i], submitted[i], "job %s: finished after it was submitted", jids[i])
	}
}
