package tailpatch

import (
	"math"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/mixopt/mixopt/tables"
	"github.com/mixopt/mixopt/target"
)

// Table names (files <name>.arrow and <name>.parquet in the run directory).
const (
	PatchesTable   = "patches"
	EffectsTable   = "effects"
	BootstrapTable = "effects_bootstrap"
	JobsTable      = "jobs"
)

// CategoryColumn is the column name of a category's score in the patches
// table: "score_" and the lower-cased name with spaces as underscores
// ("Chat Hard" → "score_chat_hard").
func CategoryColumn(category string) string {
	return "score_" + strings.ReplaceAll(strings.ToLower(category), " ", "_")
}

// PatchRow is one job of the patches table.
type PatchRow struct {
	JobID          string
	Kind           Kind
	Task           string
	Seed           uint64
	BaseCheckpoint string
	Checkpoint     string
	Steps          int64
	BatchSize      int
	LearningRate   float64
	FinalLoss      float64
	// Scores are the dev-split category scores, in category order.
	Scores []float64
}

func schemaWith(fields []arrow.Field, meta map[string]string) *arrow.Schema {
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	vals := make([]string, len(keys))
	for i, k := range keys {
		vals[i] = meta[k]
	}
	md := arrow.NewMetadata(keys, vals)
	return arrow.NewSchema(fields, &md)
}

// appendFloat appends v, or null for NaN.
func appendFloat(b *array.Float64Builder, v float64) {
	if math.IsNaN(v) {
		b.AppendNull()
	} else {
		b.Append(v)
	}
}

// WritePatches writes the patches table: one row per job (base, patches,
// controls) with its recipe and its dev-split category scores.
func WritePatches(dir string, rows []PatchRow, cats []target.Category, meta map[string]string) error {
	fields := []arrow.Field{
		{Name: "job_id", Type: arrow.BinaryTypes.String},
		{Name: "kind", Type: arrow.BinaryTypes.String},
		{Name: "task", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "seed", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "base_checkpoint", Type: arrow.BinaryTypes.String},
		{Name: "checkpoint", Type: arrow.BinaryTypes.String},
		{Name: "steps", Type: arrow.PrimitiveTypes.Int64},
		{Name: "batch_size", Type: arrow.PrimitiveTypes.Int32},
		{Name: "learning_rate", Type: arrow.PrimitiveTypes.Float64},
		{Name: "final_loss", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}
	for _, c := range cats {
		fields = append(fields, arrow.Field{Name: CategoryColumn(c.Name), Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schemaWith(fields, meta))
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.StringBuilder).Append(r.JobID)
		b.Field(1).(*array.StringBuilder).Append(string(r.Kind))
		if r.Task == "" {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.StringBuilder).Append(r.Task)
		}
		b.Field(3).(*array.Uint64Builder).Append(r.Seed)
		b.Field(4).(*array.StringBuilder).Append(r.BaseCheckpoint)
		b.Field(5).(*array.StringBuilder).Append(r.Checkpoint)
		b.Field(6).(*array.Int64Builder).Append(r.Steps)
		b.Field(7).(*array.Int32Builder).Append(int32(r.BatchSize))
		b.Field(8).(*array.Float64Builder).Append(r.LearningRate)
		if r.Kind == KindBase && r.Steps == 0 {
			b.Field(9).AppendNull()
		} else {
			appendFloat(b.Field(9).(*array.Float64Builder), r.FinalLoss)
		}
		for c := range cats {
			appendFloat(b.Field(10+c).(*array.Float64Builder), r.Scores[c])
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return tables.Write(dir, PatchesTable, rec)
}

// WriteEffects writes the effects table (one row per task × category) and
// the bootstrap replicates behind its intervals.
func WriteEffects(dir string, e *Effects, examples map[string]int64, meta map[string]string) error {
	fields := []arrow.Field{
		{Name: "task", Type: arrow.BinaryTypes.String},
		{Name: "category", Type: arrow.BinaryTypes.String},
		{Name: "section", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "tail_patch", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "delta", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "ci_low", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "ci_high", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "delta_vs_control", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "control_ci_low", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "control_ci_high", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "stability", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "p_nonpositive", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "n_seeds", Type: arrow.PrimitiveTypes.Int32},
		{Name: "base_score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "patched_score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "task_examples", Type: arrow.PrimitiveTypes.Int64},
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schemaWith(fields, meta))
	defer b.Release()
	nc := len(e.Categories)
	for i, r := range e.Rows {
		cat := e.Categories[i%nc]
		b.Field(0).(*array.StringBuilder).Append(r.Task)
		b.Field(1).(*array.StringBuilder).Append(r.Category)
		b.Field(2).(*array.BooleanBuilder).Append(cat.Section)
		b.Field(3).(*array.BooleanBuilder).Append(cat.TailPatch)
		for k, v := range []float64{r.Delta, r.Low, r.High, r.DeltaVsControl, r.ControlLow, r.ControlHigh, r.Stability, r.PNonPositive} {
			appendFloat(b.Field(4+k).(*array.Float64Builder), v)
		}
		b.Field(12).(*array.Int32Builder).Append(int32(r.Seeds))
		appendFloat(b.Field(13).(*array.Float64Builder), r.BaseScore)
		appendFloat(b.Field(14).(*array.Float64Builder), r.PatchedScore)
		b.Field(15).(*array.Int64Builder).Append(examples[r.Task])
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	if err := tables.Write(dir, EffectsTable, rec); err != nil {
		return err
	}

	bf := []arrow.Field{
		{Name: "replicate", Type: arrow.PrimitiveTypes.Int32},
		{Name: "task", Type: arrow.BinaryTypes.String},
		{Name: "category", Type: arrow.BinaryTypes.String},
		{Name: "delta", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "delta_vs_control", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}
	bb := array.NewRecordBuilder(memory.DefaultAllocator, schemaWith(bf, meta))
	defer bb.Release()
	for rep, vals := range e.Replicates {
		for i, v := range vals {
			bb.Field(0).(*array.Int32Builder).Append(int32(rep))
			bb.Field(1).(*array.StringBuilder).Append(e.Rows[i].Task)
			bb.Field(2).(*array.StringBuilder).Append(e.Rows[i].Category)
			appendFloat(bb.Field(3).(*array.Float64Builder), v)
			if e.ControlReplicates != nil {
				appendFloat(bb.Field(4).(*array.Float64Builder), e.ControlReplicates[rep][i])
			} else {
				bb.Field(4).AppendNull()
			}
		}
	}
	brec := bb.NewRecordBatch()
	defer brec.Release()
	return tables.Write(dir, BootstrapTable, brec)
}

// WriteJobs writes the operational jobs table: where and how long each job
// ran. Unlike the other tables it records execution, not results (endpoint,
// attempts, wall-clock times), so it differs between runs that give the same
// results; it is kept apart so that patches and effects stay byte-identical.
func WriteJobs(dir string, recs []JobRecord, meta map[string]string) error {
	fields := []arrow.Field{
		{Name: "job_id", Type: arrow.BinaryTypes.String},
		{Name: "kind", Type: arrow.BinaryTypes.String},
		{Name: "task", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "seed", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "state", Type: arrow.BinaryTypes.String},
		{Name: "endpoint", Type: arrow.BinaryTypes.String},
		{Name: "attempts", Type: arrow.PrimitiveTypes.Int32},
		{Name: "wall_time_s", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "submitted_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "finished_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "error", Type: arrow.BinaryTypes.String, Nullable: true},
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schemaWith(fields, meta))
	defer b.Release()
	for _, r := range recs {
		b.Field(0).(*array.StringBuilder).Append(r.ID)
		b.Field(1).(*array.StringBuilder).Append(string(r.Kind))
		if r.Task == "" {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.StringBuilder).Append(r.Task)
		}
		b.Field(3).(*array.Uint64Builder).Append(r.Seed)
		b.Field(4).(*array.StringBuilder).Append(string(r.State))
		b.Field(5).(*array.StringBuilder).Append(r.Endpoint)
		b.Field(6).(*array.Int32Builder).Append(int32(r.Attempts))
		if r.State == StateSucceeded {
			b.Field(7).(*array.Float64Builder).Append(r.WallSeconds)
		} else {
			b.Field(7).AppendNull()
		}
		for k, t := range []int64{r.FirstSubmit.UnixMicro(), r.FinishedAt.UnixMicro()} {
			tb := b.Field(8 + k).(*array.TimestampBuilder)
			if t <= 0 {
				tb.AppendNull()
			} else {
				tb.Append(arrow.Timestamp(t))
			}
		}
		if r.Error == "" {
			b.Field(10).AppendNull()
		} else {
			b.Field(10).(*array.StringBuilder).Append(r.Error)
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return tables.Write(dir, JobsTable, rec)
}
