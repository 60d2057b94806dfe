package dataset_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"
)

// obj is one JSON Lines row in a fixture.
type obj = map[string]any

// writeFile writes content to dir/name, creating parent folders.
func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

// jsonl encodes rows one per line.
func jsonl(t testing.TB, rows ...obj) string {
	t.Helper()
	var b strings.Builder
	for _, r := range rows {
		line, err := json.Marshal(r)
		require.NoError(t, err)
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.String()
}

func gzipBytes(t testing.TB, content string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write([]byte(content))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.String()
}

// column describes one Arrow column of a fixture: the row key it takes its
// values from and its type. A row without the key gives a null.
type column struct {
	name string
	typ  arrow.DataType
}

var dictUTF8 = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}

// record builds an Arrow record batch of rows.
func record(t testing.TB, cols []column, rows []obj) arrow.RecordBatch {
	t.Helper()
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.name, Type: c.typ, Nullable: true}
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
	defer b.Release()
	for i, c := range cols {
		for _, r := range rows {
			v, ok := r[c.name]
			if !ok || v == nil {
				b.Field(i).AppendNull()
				continue
			}
			appendValue(t, b.Field(i), v)
		}
	}
	return b.NewRecordBatch()
}

func appendValue(t testing.TB, b array.Builder, v any) {
	t.Helper()
	switch b := b.(type) {
	case *array.StringBuilder:
		b.Append(v.(string))
	case *array.LargeStringBuilder:
		b.Append(v.(string))
	case *array.StringViewBuilder:
		b.Append(v.(string))
	case *array.BinaryDictionaryBuilder:
		require.NoError(t, b.AppendString(v.(string)))
	case *array.Int64Builder:
		b.Append(int64(toFloat(t, v)))
	case *array.Int32Builder:
		b.Append(int32(toFloat(t, v)))
	case *array.Float64Builder:
		b.Append(toFloat(t, v))
	case *array.Float32Builder:
		b.Append(float32(toFloat(t, v)))
	case *array.BooleanBuilder:
		b.Append(v.(bool))
	default:
		t.Fatalf("fixture: no appender for %T", b)
	}
}

func toFloat(t testing.TB, v any) float64 {
	t.Helper()
	switch v := v.(type) {
	case int:
		return float64(v)
	case float64:
		return v
	case string:
		var f float64
		_, err := fmt.Sscan(v, &f)
		require.NoError(t, err)
		return f
	}
	t.Fatalf("fixture: not a number: %#v", v)
	return 0
}

// writeTable writes rows as an Arrow IPC file (".arrow", ".feather"), Arrow
// IPC stream (".arrows") or Parquet file (".parquet"), chosen by name. The
// rows are split into two record batches (Arrow) or several row groups
// (Parquet), so that row numbers must carry across them.
func writeTable(t testing.TB, dir, name string, cols []column, rows []obj) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	f, err := os.Create(p)
	require.NoError(t, err)
	defer f.Close()
	if filepath.Ext(name) == ".parquet" {
		// Parquet has no string_view; its readers return plain utf8.
		cols = slices.Clone(cols)
		for i, c := range cols {
			if c.typ.ID() == arrow.STRING_VIEW {
				cols[i].typ = arrow.BinaryTypes.String
			}
		}
	}
	// Two slices of one record share its dictionaries, which the IPC file
	// format requires (it allows no dictionary replacement).
	all := record(t, cols, rows)
	defer all.Release()
	half := int64(len(rows)+1) / 2
	batches := []arrow.RecordBatch{all.NewSlice(0, half), all.NewSlice(half, int64(len(rows)))}
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	schema := batches[0].Schema()
	switch filepath.Ext(name) {
	case ".arrow", ".feather":
		w, err := ipc.NewFileWriter(f, ipc.WithSchema(schema))
		require.NoError(t, err)
		for _, b := range batches {
			require.NoError(t, w.Write(b))
		}
		require.NoError(t, w.Close())
	case ".arrows":
		w := ipc.NewWriter(f, ipc.WithSchema(schema))
		for _, b := range batches {
			require.NoError(t, w.Write(b))
		}
		require.NoError(t, w.Close())
	case ".parquet":
		// At least two row groups, so that row numbers must carry across
		// them, but not so many that big fixtures crawl.
		props := parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(int64(max(2, (len(rows)+2)/3))))
		w, err := pqarrow.NewFileWriter(schema, nopCloser{f}, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
		require.NoError(t, err)
		for _, b := range batches {
			require.NoError(t, w.Write(b))
		}
		require.NoError(t, w.Close())
	default:
		t.Fatalf("fixture: unknown table extension in %s", name)
	}
	return p
}

type nopCloser struct{ *os.File }

func (nopCloser) Close() error { return nil }

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}
