package validation

import (
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/mixopt/mixopt/tables"
)

// WriteTable writes validation.arrow and validation.parquet: one row per arm
// and category with its test-split score (baseline null), then one row per
// optimised arm, baseline and category with the difference (verdict set).
//
//	arm       utf8     proportional, uniform, optimised, optimised_short
//	baseline  utf8?    the arm compared against (comparison rows only)
//	category  utf8     Chat, Chat Hard, Safety, Reasoning, Math, Coding, Overall
//	steps     int64    training steps of the arm
//	examples  int64    steps × batch size
//	value     float64? score (0–1) or score difference
//	ci_low    float64? bootstrap interval of value
//	ci_high   float64?
//	n_seeds   int32
//	verdict   utf8?    better / worse / no clear difference (comparison rows)
func WriteTable(dir string, r *Result, meta map[string]string) error {
	fields := []arrow.Field{
		{Name: "arm", Type: arrow.BinaryTypes.String},
		{Name: "baseline", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "category", Type: arrow.BinaryTypes.String},
		{Name: "steps", Type: arrow.PrimitiveTypes.Int64},
		{Name: "examples", Type: arrow.PrimitiveTypes.Int64},
		{Name: "value", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "ci_low", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "ci_high", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "n_seeds", Type: arrow.PrimitiveTypes.Int32},
		{Name: "verdict", Type: arrow.BinaryTypes.String, Nullable: true},
	}
	md := arrow.MetadataFrom(meta)
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, &md))
	defer b.Release()
	f := func(i int, v float64) {
		if math.IsNaN(v) {
			b.Field(i).AppendNull()
		} else {
			b.Field(i).(*array.Float64Builder).Append(v)
		}
	}
	steps := map[string]ArmScore{}
	for _, s := range r.Scores {
		steps[s.Arm] = s
		b.Field(0).(*array.StringBuilder).Append(s.Arm)
		b.Field(1).AppendNull()
		b.Field(2).(*array.StringBuilder).Append(s.Category)
		b.Field(3).(*array.Int64Builder).Append(s.Steps)
		b.Field(4).(*array.Int64Builder).Append(s.Examples)
		f(5, s.Score)
		f(6, s.Low)
		f(7, s.High)
		b.Field(8).(*array.Int32Builder).Append(int32(s.Seeds))
		b.Field(9).AppendNull()
	}
	for _, c := range r.Comparisons {
		a := steps[c.Arm]
		b.Field(0).(*array.StringBuilder).Append(c.Arm)
		b.Field(1).(*array.StringBuilder).Append(c.Baseline)
		b.Field(2).(*array.StringBuilder).Append(c.Category)
		b.Field(3).(*array.Int64Builder).Append(a.Steps)
		b.Field(4).(*array.Int64Builder).Append(a.Examples)
		f(5, c.Diff)
		f(6, c.Low)
		f(7, c.High)
		b.Field(8).(*array.Int32Builder).Append(int32(a.Seeds))
		b.Field(9).(*array.StringBuilder).Append(c.Verdict)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return tables.Write(dir, TableName, rec)
}

func pct(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", 100*x)
}

func signedPct(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return fmt.Sprintf("%+.1f", 100*x)
}

// WriteText prints the comparison: each arm's test-split score per section
// and overall with its interval, then each optimised arm against each
// baseline on Overall and every section, with the verdict.
func (r *Result) WriteText(w io.Writer) error {
	cats := []string{}
	for _, c := range r.Categories {
		if c.Section || c.Name == "Overall" {
			cats = append(cats, c.Name)
		}
	}
	fmt.Fprintf(w, "test split: %d examples; %.0f%% intervals from a paired bootstrap over test examples and seeds\n", r.TestExamples, 100*r.Level)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "arm\tsteps\texamples")
	for _, c := range cats {
		fmt.Fprintf(tw, "\t%s", c)
	}
	fmt.Fprintln(tw)
	byArm := map[string]map[string]ArmScore{}
	var order []string
	for _, s := range r.Scores {
		if byArm[s.Arm] == nil {
			byArm[s.Arm] = map[string]ArmScore{}
			order = append(order, s.Arm)
		}
		byArm[s.Arm][s.Category] = s
	}
	for _, a := range order {
		first := byArm[a][cats[0]]
		fmt.Fprintf(tw, "%s\t%d\t%d", a, first.Steps, first.Examples)
		for _, c := range cats {
			s := byArm[a][c]
			fmt.Fprintf(tw, "\t%s [%s, %s]", pct(s.Score), pct(s.Low), pct(s.High))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "comparison\tcategory\tdifference (pts)\tinterval\tverdict")
	for _, c := range r.Comparisons {
		if !slices.Contains(cats, c.Category) {
			continue
		}
		fmt.Fprintf(tw, "%s vs %s\t%s\t%s\t[%s, %s]\t%s\n", c.Arm, c.Baseline, c.Category, signedPct(c.Diff), signedPct(c.Low), signedPct(c.High), c.Verdict)
	}
	return tw.Flush()
}
