// Package tables writes mixopt's result tables as Arrow IPC files and Parquet
// files, atomically, so that notebooks and other Arrow implementations can read
// them and never see a half-written file.
package tables

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/mixopt/mixopt/internal/atomicfile"
)

// Write writes rec to dir/name.arrow (Arrow IPC file format, uncompressed so
// that every Arrow implementation reads it) and dir/name.parquet (zstd), each
// through a temporary file and a rename. The schema's metadata travels with
// both files. The output depends only on rec: the same record gives the same
// bytes.
func Write(dir, name string, rec arrow.RecordBatch) error {
	if err := WriteArrow(filepath.Join(dir, name+".arrow"), rec); err != nil {
		return err
	}
	return WriteParquet(filepath.Join(dir, name+".parquet"), rec)
}

// WriteArrow writes rec as an Arrow IPC file at path, atomically.
func WriteArrow(path string, rec arrow.RecordBatch) error {
	return atomicfile.Write(path, func(f io.Writer) error {
		w, err := ipc.NewFileWriter(f, ipc.WithSchema(rec.Schema()), ipc.WithAllocator(memory.DefaultAllocator))
		if err != nil {
			return err
		}
		if err := w.Write(rec); err != nil {
			_ = w.Close()
			return err
		}
		return w.Close()
	})
}

// WriteParquet writes rec as a zstd-compressed Parquet file at path,
// atomically, with the Arrow schema stored so that readers restore types and
// metadata.
func WriteParquet(path string, rec arrow.RecordBatch) error {
	return atomicfile.Write(path, func(f io.Writer) error {
		// No dictionary encoding: arrow-go v18.8.0 lists a column chunk's
		// page encoding stats in Go map order, so a column that falls back
		// from dictionary to plain pages gets a footer whose bytes vary from
		// run to run. zstd recovers most of what dictionaries would save.
		props := parquet.NewWriterProperties(
			parquet.WithCompression(compress.Codecs.Zstd),
			parquet.WithDictionaryDefault(false),
			parquet.WithCreatedBy("mixopt"),
		)
		w, err := pqarrow.NewFileWriter(rec.Schema(), nopCloser{f}, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
		if err != nil {
			return err
		}
		if err := w.Write(rec); err != nil {
			_ = w.Close()
			return err
		}
		return w.Close()
	})
}

// nopCloser keeps pqarrow's writer from closing the file, which atomicfile
// syncs and closes itself.
type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// ReadArrow reads every record batch of the Arrow IPC file at path into one
// table. The caller releases it.
func ReadArrow(path string) (arrow.Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer r.Close()
	recs := make([]arrow.RecordBatch, 0, r.NumRecords())
	for i := 0; i < r.NumRecords(); i++ {
		rec, err := r.RecordBatch(i)
		if err != nil {
			return nil, fmt.Errorf("read %s: batch %d: %w", path, i, err)
		}
		rec.Retain()
		recs = append(recs, rec)
	}
	tbl := array.NewTableFromRecords(r.Schema(), recs)
	for _, rec := range recs {
		rec.Release()
	}
	return tbl, nil
}

// ReadParquet reads the Parquet file at path into a table whose schema carries
// the file's stored Arrow metadata. The caller releases it.
func ReadParquet(path string) (arrow.Table, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	// ReadTable drops schema metadata; fr.Schema() keeps it.
	sc, err := fr.Schema()
	if err != nil {
		tbl.Release()
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	cols := make([]arrow.Column, tbl.NumCols())
	for i := range cols {
		cols[i] = *tbl.Column(i)
	}
	out := array.NewTable(sc, cols, tbl.NumRows())
	tbl.Release()
	return out, nil
}
