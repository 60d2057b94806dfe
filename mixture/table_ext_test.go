package mixture_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mixopt/mixopt/mixture"
	"github.com/mixopt/mixopt/tables"
)

func TestWriteTable(t *testing.T) {
	e := mixture.RandomEffects(41, 25, 5, 30)
	opts := mixture.Options{Budget: mixture.Budget{Steps: 5000, BatchSize: 8}, Constraints: mixture.Constraints{Cap: 0.2, MaxEpochs: 15}}
	sol, err := mixture.Solve(e, mixture.KL, opts)
	require.NoError(t, err)
	u, err := mixture.Bootstrap(e, sol, mixture.BootstrapOptions{})
	require.NoError(t, err)

	dir := t.TempDir()
	meta := map[string]string{"mixopt.version": "test"}
	require.NoError(t, mixture.WriteTable(dir, e, sol, u, meta))

	for _, name := range []string{"weights.arrow", "weights.parquet"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			var tbl arrow.Table
			if filepath.Ext(name) == ".arrow" {
				tbl, err = tables.ReadArrow(path)
			} else {
				tbl, err = tables.ReadParquet(path)
			}
			require.NoError(t, err)
			defer tbl.Release()
			require.EqualValues(t, len(e.Tasks), tbl.NumRows())
			for i, f := range mixture.WeightsSchema.Fields() {
				assert.Equal(t, f.Name, tbl.Schema().Field(i).Name)
				assert.True(t, arrow.TypeEqual(f.Type, tbl.Schema().Field(i).Type), f.Name)
			}
			md := tbl.Schema().Metadata()
			obj, _ := md.GetValue("mixopt.objective")
			assert.Equal(t, "kl", obj)
			ver, _ := md.GetValue("mixopt.version")
			assert.Equal(t, "test", ver)
			js, _ := md.GetValue("mixopt.settings")
			var st map[string]any
			require.NoError(t, json.Unmarshal([]byte(js), &st))
			assert.Equal(t, "mean", st["estimate"])
			assert.InDelta(t, mixture.DefaultLambda, st["lambda"], 1e-15)

			col := func(name string) arrow.Array {
				idx := tbl.Schema().FieldIndices(name)
				require.Len(t, idx, 1, name)
				c := tbl.Column(idx[0]).Data()
				require.Len(t, c.Chunks(), 1)
				return c.Chunk(0)
			}
			task := col("task").(*array.String)
			weight := col("weight").(*array.Float64)
			rate := col("rate").(*array.Float64)
			epochs := col("epochs").(*array.Float64)
			bundle := col("bundle_rate").(*array.Float64)
			scale := mixture.RateScale(e.Tasks, mixture.DefaultCap)
			for i := range e.Tasks {
				assert.Equal(t, e.Tasks[i].Name, task.Value(i))
				assert.Equal(t, sol.Weights[i], weight.Value(i))
				assert.InDelta(t, sol.Weights[i]*scale, rate.Value(i), 1e-9)
				assert.LessOrEqual(t, epochs.Value(i), 15+1e-9)
				assert.True(t, bundle.IsNull(i))
			}
		})
	}

	// The same inputs give byte-identical files.
	again := t.TempDir()
	require.NoError(t, mixture.WriteTable(again, e, sol, u, meta))
	for _, name := range []string{"weights.arrow", "weights.parquet"} {
		a, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join(again, name))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(a, b), "%s differs between runs", name)
	}
}

func TestRecordWithoutBootstrapHasNulls(t *testing.T) {
	e := mixture.RandomEffects(42, 5, 5, 0)
	sol, err := mixture.Solve(e, mixture.FlameBundles, mixture.Options{})
	require.NoError(t, err)
	rec, err := mixture.Record(e, sol, nil, nil)
	require.NoError(t, err)
	defer rec.Release()
	for _, name := range []string{"weight_low", "weight_high", "in_top_k", "epochs"} {
		idx := rec.Schema().FieldIndices(name)
		require.Len(t, idx, 1)
		assert.Equal(t, 5, rec.Column(idx[0]).NullN(), name)
	}
	idx := rec.Schema().FieldIndices("bundle_rate")
	assert.Zero(t, rec.Column(idx[0]).NullN())
}
