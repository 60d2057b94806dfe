package tables_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/mixopt/mixopt/tables"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func record(t *testing.T) arrow.RecordBatch {
	t.Helper()
	md := arrow.MetadataFrom(map[string]string{"mixopt.run_id": "run-1", "mixopt.version": "test"})
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "task", Type: arrow.BinaryTypes.String},
		{Name: "weight", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, &md)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"a", "b", "c"}, nil)
	b.Field(1).(*array.Float64Builder).AppendValues([]float64{0.5, 0, 0.5}, []bool{true, false, true})
	return b.NewRecordBatch()
}

func TestWriteReadBack(t *testing.T) {
	dir := t.TempDir()
	rec := record(t)
	defer rec.Release()
	require.NoError(t, tables.Write(dir, "weights", rec))

	for _, read := range []func(string) (arrow.Table, error){
		func(d string) (arrow.Table, error) { return tables.ReadArrow(filepath.Join(d, "weights.arrow")) },
		func(d string) (arrow.Table, error) { return tables.ReadParquet(filepath.Join(d, "weights.parquet")) },
	} {
		tbl, err := read(dir)
		require.NoError(t, err)
		assert.EqualValues(t, 3, tbl.NumRows())
		v, ok := tbl.Schema().Metadata().GetValue("mixopt.run_id")
		assert.True(t, ok, "schema metadata survives")
		assert.Equal(t, "run-1", v)
		w := tbl.Column(1).Data().Chunk(0).(*array.Float64)
		assert.True(t, w.IsNull(1), "nulls survive")
		assert.Equal(t, 0.5, w.Value(2))
		tbl.Release()
	}

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 2, "no temporary files are left behind")
}

func TestWriteIsDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	rec := record(t)
	defer rec.Release()
	require.NoError(t, tables.Write(a, "x", rec))
	require.NoError(t, tables.Write(b, "x", rec))
	for _, name := range []string{"x.arrow", "x.parquet"} {
		ba, err := os.ReadFile(filepath.Join(a, name))
		require.NoError(t, err)
		bb, err := os.ReadFile(filepath.Join(b, name))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(ba, bb), name)
	}
}

func TestReadErrorsNameTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.arrow")
	require.NoError(t, os.WriteFile(path, []byte("not arrow"), 0o644))
	_, err := tables.ReadArrow(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bad.arrow")
	_, err = tables.ReadParquet(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bad.arrow")
}

// TestParquetFooterIsDeterministic writes a column with more distinct values
// than a dictionary page holds, the case where arrow-go's footer listed
// page encodings in map order, and checks that every write gives the same
// bytes.
func TestParquetFooterIsDeterministic(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Float64}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range 300_000 {
		b.Field(0).(*array.Float64Builder).Append(float64(i) / 7)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	dir := t.TempDir()
	var first []byte
	for i := range 12 {
		path := filepath.Join(dir, "x.parquet")
		require.NoError(t, tables.WriteParquet(path, rec))
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		if i == 0 {
			first = got
			continue
		}
		require.True(t, bytes.Equal(first, got), "write %d differs from the first", i)
	}
}
