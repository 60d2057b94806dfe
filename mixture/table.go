package mixture

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/mixopt/mixopt/tables"
)

// TableName is the base name of the weights table: weights.arrow and
// weights.parquet.
const TableName = "weights"

// WeightsSchema is the schema of the weights table, one row per task in task
// order. Columns (a stable contract, documented in the README):
//
//	task          utf8     task name
//	weight        float64  mixture weight; the column sums to 1
//	weight_low    float64  bootstrap interval of the weight (null without a bootstrap)
//	weight_high   float64
//	in_top_k      float64  share of bootstrap replicates in which the task is among
//	                       the k largest weights; k is in the metadata (null without)
//	prior_weight  float64  examples-proportional weight, capped at the prior cap
//	rate          float64  the weight on the 2^16 scale: weight × Σ_d min(n_d, cap),
//	                       so the capped examples-proportional mixture has rate
//	                       min(n_d, cap), like seqio rates and the paper's bundles
//	epochs        float64  passes over the task's examples in the planned run
//	                       (null without a budget)
//	lower, upper  float64  the task's effective bounds after all constraints
//	bundle_rate   float64  flame-bundles rate before normalisation (null for
//	                       other objectives)
//	reason        utf8     why the task has its weight (see Solution.Reasons)
//
// Schema metadata: mixopt.objective (e.g. "kl"), mixopt.settings (JSON: the
// estimate, reference, category weights α, constraints, budget, prior cap,
// λ, flame-bundles settings, bootstrap level and top-k), plus every key the
// caller passes.
var WeightsSchema = arrow.NewSchema([]arrow.Field{
	{Name: "task", Type: arrow.BinaryTypes.String},
	{Name: "weight", Type: arrow.PrimitiveTypes.Float64},
	{Name: "weight_low", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "weight_high", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "in_top_k", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "prior_weight", Type: arrow.PrimitiveTypes.Float64},
	{Name: "rate", Type: arrow.PrimitiveTypes.Float64},
	{Name: "epochs", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "lower", Type: arrow.PrimitiveTypes.Float64},
	{Name: "upper", Type: arrow.PrimitiveTypes.Float64},
	{Name: "bundle_rate", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "reason", Type: arrow.BinaryTypes.String},
}, nil)

// settings is the JSON form of a solution's options in the table metadata.
type settings struct {
	Estimate        string             `json:"estimate"`
	Reference       string             `json:"reference"`
	CategoryWeights map[string]float64 `json:"category_weights"`
	Constraints     Constraints        `json:"constraints"`
	Budget          Budget             `json:"budget"`
	PriorCap        int64              `json:"prior_cap"`
	Lambda          float64            `json:"lambda,omitempty"`
	TargetEffective float64            `json:"target_effective_tasks,omitempty"`
	Flame           *flameJSON         `json:"flame,omitempty"`
	BootstrapLevel  float64            `json:"bootstrap_level,omitempty"`
	TopK            int                `json:"top_k,omitempty"`
}

type flameJSON struct {
	FlameSettings
	TopMode string `json:"top_mode"`
}

// Record builds the weights table (see WeightsSchema) for sol, which Solve
// returned for e; unc may be nil. meta adds schema metadata keys. The caller
// releases the record.
func Record(e *Effects, sol *Solution, unc *Uncertainty, meta map[string]string) (arrow.RecordBatch, error) {
	n := len(e.Tasks)
	if sol == nil || len(sol.Weights) != n {
		return nil, invalidf("weights table: solution does not match %d tasks", n)
	}
	if unc != nil && len(unc.WeightLow) != n {
		return nil, invalidf("weights table: uncertainty does not match %d tasks", n)
	}
	st := settings{
		Estimate: sol.Options.Estimate.String(), Reference: sol.Options.Reference.String(),
		CategoryWeights: map[string]float64{}, Constraints: sol.Options.Constraints, Budget: sol.Options.Budget,
		PriorCap: sol.Options.priorCap(), Lambda: sol.Lambda, TargetEffective: sol.Options.KL.TargetEffectiveTasks,
	}
	for j, c := range e.Categories {
		st.CategoryWeights[c] = sol.Alpha[j]
	}
	if sol.Objective == FlameBundles {
		fs := sol.Options.Flame.withDefaults()
		st.Flame = &flameJSON{FlameSettings: fs, TopMode: fs.TopMode.String()}
	}
	if unc != nil {
		st.BootstrapLevel, st.TopK = unc.Level, unc.TopK
	}
	js, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("weights table: settings: %w", err)
	}
	md := map[string]string{}
	for k, v := range meta {
		md[k] = v
	}
	md["mixopt.objective"] = sol.Objective.String()
	md["mixopt.settings"] = string(js)
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	vals := make([]string, len(keys))
	for i, k := range keys {
		vals[i] = md[k]
	}
	meta2 := arrow.NewMetadata(keys, vals)
	schema := arrow.NewSchema(WeightsSchema.Fields(), &meta2)

	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	scale := RateScale(e.Tasks, sol.Options.priorCap())
	f64 := func(col int) *array.Float64Builder { return b.Field(col).(*array.Float64Builder) }
	opt := func(col int, v float64, ok bool) {
		if ok && !math.IsNaN(v) {
			f64(col).Append(v)
		} else {
			f64(col).AppendNull()
		}
	}
	budget := sol.Options.Budget.Examples() > 0
	for i, t := range e.Tasks {
		b.Field(0).(*array.StringBuilder).Append(t.Name)
		f64(1).Append(sol.Weights[i])
		var lo, hi, top float64
		if unc != nil {
			lo, hi, top = unc.WeightLow[i], unc.WeightHigh[i], unc.InTopK[i]
		}
		opt(2, lo, unc != nil)
		opt(3, hi, unc != nil)
		opt(4, top, unc != nil)
		f64(5).Append(sol.Prior[i])
		f64(6).Append(sol.Weights[i] * scale)
		ep := 0.0
		if budget {
			ep = Epochs(sol.Weights[i], t, sol.Options.Budget)
		}
		opt(7, ep, budget)
		f64(8).Append(sol.Lower[i])
		f64(9).Append(sol.Upper[i])
		var br float64
		if sol.Rates != nil {
			br = sol.Rates[i]
		}
		opt(10, br, sol.Rates != nil)
		b.Field(11).(*array.StringBuilder).Append(sol.Reasons[i])
	}
	return b.NewRecordBatch(), nil
}

// WriteTable writes the weights table as dir/weights.arrow and
// dir/weights.parquet (see WeightsSchema), atomically.
func WriteTable(dir string, e *Effects, sol *Solution, unc *Uncertainty, meta map[string]string) error {
	rec, err := Record(e, sol, unc, meta)
	if err != nil {
		return err
	}
	defer rec.Release()
	return tables.Write(dir, TableName, rec)
}
