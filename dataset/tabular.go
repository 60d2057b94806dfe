package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// batchReader yields record batches; each batch stays valid until the next
// call.
type batchReader interface {
	schema() *arrow.Schema
	nextBatch() (arrow.RecordBatch, error)
	close() error
}

// tableSource turns record batches into rows. It looks columns up by name,
// so column order does not matter and unknown columns are ignored.
type tableSource struct {
	path  string
	br    batchReader
	cols  [numStrFields + 1]int // column index per field, -1 when absent
	batch arrow.RecordBatch
	// get reads field f of row i of the current batch.
	get  [numStrFields + 1]func(i int) (string, float64, bool)
	i, n int
	row  int
}

func newTableSource(path string, br batchReader) (*tableSource, error) {
	t := &tableSource{path: path, br: br}
	sc := br.schema()
	for f := range t.cols {
		t.cols[f] = -1
		if idx := sc.FieldIndices(field(f).String()); len(idx) > 0 {
			t.cols[f] = idx[0]
			if err := checkColumnType(field(f), sc.Field(idx[0]).Type); err != nil {
				return nil, &Error{Path: path, Field: field(f).String(), Msg: err.Error()}
			}
		}
	}
	return t, nil
}

func (t *tableSource) rows() bool { return true }

func (t *tableSource) close() error { return t.br.close() }

func (t *tableSource) next(r *row) error {
	for t.i >= t.n {
		b, err := t.br.nextBatch()
		if errors.Is(err, io.EOF) {
			return io.EOF
		}
		if err != nil {
			return &Error{Path: t.path, Line: t.row + 1, Row: true, Msg: "read failed", Err: err}
		}
		t.batch, t.i, t.n = b, 0, int(b.NumRows())
		for f, c := range t.cols {
			t.get[f] = nil
			if c >= 0 {
				t.get[f] = columnGetter(b.Column(c))
			}
		}
	}
	t.row++
	*r = row{line: t.row}
	for f, get := range t.get {
		if get == nil {
			continue
		}
		s, v, ok := get(t.i)
		if !ok {
			continue
		}
		if field(f) == fScore {
			r.setScore(v)
		} else {
			r.set(field(f), s)
		}
	}
	t.i++
	return nil
}

// checkColumnType accepts the Arrow types a field may have: text in any
// string encoding, plus integers for id (RewardBench uses int64 ids) and any
// integer or floating-point type for score.
func checkColumnType(f field, dt arrow.DataType) error {
	if f == fScore {
		if isNumeric(dt) {
			return nil
		}
		return fmt.Errorf("column type %s not supported; want an integer or floating-point type", dt)
	}
	if isString(dt) {
		return nil
	}
	if d, ok := dt.(*arrow.DictionaryType); ok && isString(d.ValueType) {
		return nil
	}
	if f == fID && isInteger(dt) {
		return nil
	}
	want := "utf8, large_utf8, string_view or dictionary<utf8>"
	if f == fID {
		want += " or an integer type"
	}
	return fmt.Errorf("column type %s not supported; want %s", dt, want)
}

func isString(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return true
	}
	return false
}

func isInteger(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return true
	}
	return false
}

func isNumeric(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.FLOAT32, arrow.FLOAT64:
		return true
	}
	return isInteger(dt)
}

// columnGetter returns a reader for one column of a batch, for a type that
// checkColumnType accepted. Strings are cloned because Arrow's string values
// alias the batch's buffers, which are reused after the batch is released.
func columnGetter(a arrow.Array) func(i int) (string, float64, bool) {
	switch a := a.(type) {
	case *array.String:
		return func(i int) (string, float64, bool) { return strings.Clone(a.Value(i)), 0, a.IsValid(i) }
	case *array.LargeString:
		return func(i int) (string, float64, bool) { return strings.Clone(a.Value(i)), 0, a.IsValid(i) }
	case *array.StringView:
		return func(i int) (string, float64, bool) { return strings.Clone(a.Value(i)), 0, a.IsValid(i) }
	case *array.Dictionary:
		values := columnGetter(a.Dictionary())
		return func(i int) (string, float64, bool) {
			if !a.IsValid(i) {
				return "", 0, false
			}
			return values(a.GetValueIndex(i))
		}
	case *array.Float64:
		return func(i int) (string, float64, bool) { return "", a.Value(i), a.IsValid(i) }
	case *array.Float32:
		return func(i int) (string, float64, bool) { return "", float64(a.Value(i)), a.IsValid(i) }
	}
	// Integers serve both id (as decimal text) and score (as a float).
	var get func(i int) (int64, uint64, bool)
	switch a := a.(type) {
	case *array.Int8:
		get = func(i int) (int64, uint64, bool) { return int64(a.Value(i)), 0, true }
	case *array.Int16:
		get = func(i int) (int64, uint64, bool) { return int64(a.Value(i)), 0, true }
	case *array.Int32:
		get = func(i int) (int64, uint64, bool) { return int64(a.Value(i)), 0, true }
	case *array.Int64:
		get = func(i int) (int64, uint64, bool) { return a.Value(i), 0, true }
	case *array.Uint8:
		get = func(i int) (int64, uint64, bool) { return 0, uint64(a.Value(i)), false }
	case *array.Uint16:
		get = func(i int) (int64, uint64, bool) { return 0, uint64(a.Value(i)), false }
	case *array.Uint32:
		get = func(i int) (int64, uint64, bool) { return 0, uint64(a.Value(i)), false }
	case *array.Uint64:
		get = func(i int) (int64, uint64, bool) { return 0, a.Value(i), false }
	default:
		// Unreachable: checkColumnType rejected every other type.
		panic(fmt.Sprintf("dataset: no getter for Arrow type %s", a.DataType()))
	}
	return func(i int) (string, float64, bool) {
		if !a.IsValid(i) {
			return "", 0, false
		}
		s, u, signed := get(i)
		if signed {
			return strconv.FormatInt(s, 10), float64(s), true
		}
		return strconv.FormatUint(u, 10), float64(u), true
	}
}

// ipcFileReader reads the Arrow IPC file format (Feather V2).
type ipcFileReader struct {
	r *ipc.FileReader
	i int
}

func (r *ipcFileReader) schema() *arrow.Schema { return r.r.Schema() }

func (r *ipcFileReader) nextBatch() (arrow.RecordBatch, error) {
	if r.i >= r.r.NumRecords() {
		return nil, io.EOF
	}
	b, err := r.r.RecordBatch(r.i)
	r.i++
	return b, err
}

func (r *ipcFileReader) close() error { return r.r.Close() }

// recordReader adapts the Arrow IPC stream reader and Parquet's record reader,
// which share array.RecordReader.
type recordReader struct {
	r array.RecordReader
}

func (r *recordReader) schema() *arrow.Schema { return r.r.Schema() }

func (r *recordReader) nextBatch() (arrow.RecordBatch, error) {
	if r.r.Next() {
		return r.r.RecordBatch(), nil
	}
	if err := r.r.Err(); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return nil, io.EOF
}

func (r *recordReader) close() error {
	r.r.Release()
	return nil
}

func openIPCFile(f *os.File) (batchReader, error) {
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return nil, err
	}
	return &ipcFileReader{r: r}, nil
}

func openIPCStream(f *os.File) (batchReader, error) {
	r, err := ipc.NewReader(f, ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return nil, err
	}
	return &recordReader{r: r}, nil
}

// parquetBatchRows bounds the memory a Parquet read holds at once.
const parquetBatchRows = 4096

func openParquet(f *os.File) (batchReader, error) {
	// Hide f's Close from the Parquet reader: LoadFile owns and closes f.
	pf, err := file.NewParquetReader(struct {
		io.ReaderAt
		io.Seeker
	}{f, f})
	if err != nil {
		return nil, err
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: parquetBatchRows}, memory.DefaultAllocator)
	if err != nil {
		return nil, err
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return nil, err
	}
	return &recordReader{r: rr}, nil
}
