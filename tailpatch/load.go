package tailpatch

import (
	"fmt"
	"math"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/mixopt/mixopt/tables"
	"github.com/mixopt/mixopt/target"
)

// LoadedEffects is the effects table of a run read back, with the examples
// per task and the tables' provenance metadata.
type LoadedEffects struct {
	*Effects
	// Examples is each task's number of training examples.
	Examples map[string]int64
	// Meta is the effects table's schema metadata (mixopt.*).
	Meta map[string]string
}

// LoadEffects reads effects.arrow and effects_bootstrap.arrow from a run
// directory: the stage boundary between tail patching and solving.
func LoadEffects(dir string) (*LoadedEffects, error) {
	path := filepath.Join(dir, EffectsTable+".arrow")
	tbl, err := tables.ReadArrow(path)
	if err != nil {
		return nil, fmt.Errorf("effects of run %s: %w (run `mixopt patch` first)", dir, err)
	}
	defer tbl.Release()
	cols, err := columns(tbl, path, "task", "category", "section", "tail_patch", "delta", "ci_low", "ci_high",
		"delta_vs_control", "control_ci_low", "control_ci_high", "stability", "p_nonpositive", "n_seeds",
		"base_score", "patched_score", "task_examples")
	if err != nil {
		return nil, err
	}
	out := &LoadedEffects{Effects: &Effects{}, Examples: map[string]int64{}, Meta: map[string]string{}}
	md := tbl.Schema().Metadata()
	for i, k := range md.Keys() {
		out.Meta[k] = md.Values()[i]
	}
	n := int(tbl.NumRows())
	str := func(c, i int) string { return cols[c].(*array.String).Value(i) }
	flt := func(c, i int) float64 {
		a := cols[c].(*array.Float64)
		if a.IsNull(i) {
			return math.NaN()
		}
		return a.Value(i)
	}
	taskIdx := map[string]int{}
	catIdx := map[string]int{}
	for i := range n {
		task, cat := str(0, i), str(1, i)
		if _, ok := taskIdx[task]; !ok {
			taskIdx[task] = len(out.Tasks)
			out.Tasks = append(out.Tasks, task)
		}
		if _, ok := catIdx[cat]; !ok {
			catIdx[cat] = len(out.Categories)
			out.Categories = append(out.Categories, target.Category{
				Name: cat, Section: cols[2].(*array.Boolean).Value(i), TailPatch: cols[3].(*array.Boolean).Value(i),
			})
		}
		out.Rows = append(out.Rows, Effect{
			Task: task, Category: cat,
			Delta: flt(4, i), Low: flt(5, i), High: flt(6, i),
			DeltaVsControl: flt(7, i), ControlLow: flt(8, i), ControlHigh: flt(9, i),
			Stability: flt(10, i), PNonPositive: flt(11, i), Seeds: int(cols[12].(*array.Int32).Value(i)),
			BaseScore: flt(13, i), PatchedScore: flt(14, i),
		})
		out.Examples[task] = cols[15].(*array.Int64).Value(i)
	}
	nc := len(out.Categories)
	if nc == 0 || len(out.Rows) != len(out.Tasks)*nc {
		return nil, fmt.Errorf("%s: %d rows for %d tasks × %d categories", path, len(out.Rows), len(out.Tasks), nc)
	}
	for i, r := range out.Rows {
		if taskIdx[r.Task] != i/nc || catIdx[r.Category] != i%nc {
			return nil, fmt.Errorf("%s: row %d (%s, %s) out of task-major order", path, i, r.Task, r.Category)
		}
	}
	if err := out.loadReplicates(dir, taskIdx, catIdx); err != nil {
		return nil, err
	}
	return out, nil
}

func (e *LoadedEffects) loadReplicates(dir string, taskIdx, catIdx map[string]int) error {
	path := filepath.Join(dir, BootstrapTable+".arrow")
	tbl, err := tables.ReadArrow(path)
	if err != nil {
		return err
	}
	defer tbl.Release()
	cols, err := columns(tbl, path, "replicate", "task", "category", "delta", "delta_vs_control")
	if err != nil {
		return err
	}
	cells := len(e.Tasks) * len(e.Categories)
	for i := range int(tbl.NumRows()) {
		rep := int(cols[0].(*array.Int32).Value(i))
		t, okT := taskIdx[cols[1].(*array.String).Value(i)]
		c, okC := catIdx[cols[2].(*array.String).Value(i)]
		if !okT || !okC || rep < 0 {
			return fmt.Errorf("%s: row %d names an unknown task, category or replicate", path, i)
		}
		for rep >= len(e.Replicates) {
			e.Replicates = append(e.Replicates, nanSlice(cells))
		}
		val := func(a *array.Float64) float64 {
			if a.IsNull(i) {
				return math.NaN()
			}
			return a.Value(i)
		}
		e.Replicates[rep][t*len(e.Categories)+c] = val(cols[3].(*array.Float64))
		if ctl := cols[4].(*array.Float64); !ctl.IsNull(i) {
			for rep >= len(e.ControlReplicates) {
				e.ControlReplicates = append(e.ControlReplicates, nanSlice(cells))
			}
			e.ControlReplicates[rep][t*len(e.Categories)+c] = ctl.Value(i)
		}
	}
	return nil
}

func nanSlice(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = math.NaN()
	}
	return s
}

// columns returns the named columns of a single-chunk table, checking they
// exist.
func columns(tbl arrow.Table, path string, names ...string) ([]arrow.Array, error) {
	out := make([]arrow.Array, len(names))
	for k, name := range names {
		idx := tbl.Schema().FieldIndices(name)
		if len(idx) != 1 {
			return nil, fmt.Errorf("%s: no column %q", path, name)
		}
		col := tbl.Column(idx[0]).Data()
		if len(col.Chunks()) != 1 {
			return nil, fmt.Errorf("%s: column %q has %d chunks, want 1", path, name, len(col.Chunks()))
		}
		out[k] = col.Chunk(0)
	}
	return out, nil
}
