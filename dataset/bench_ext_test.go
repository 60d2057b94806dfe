package dataset_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"

	"github.com/mixopt/mixopt/dataset"
	"github.com/mixopt/mixopt/internal/testenv"
)

// BenchmarkLoad measures loading throughput on the biggest real training
// file in each format. b.SetBytes is the size of the plain JSON Lines file
// in every case, so the MB/s figures compare directly; plain JSON Lines is
// the baseline.
func BenchmarkLoad(b *testing.B) {
	src := filepath.Join(testenv.DataDir(b), "train", "pointwise", "frank_factuality.jsonl")
	info, err := os.Stat(src)
	require.NoError(b, err)
	d, err := dataset.LoadFile(src, dataset.LoadOptions{})
	require.NoError(b, err)

	dir := b.TempDir()
	content := readFile(b, src)
	rows := make([]obj, len(d.Rated))
	for i, x := range d.Rated {
		rows[i] = obj{"id": x.ID, "dataset": d.Name, "prompt": x.Prompt, "response": x.Response, "score": x.Score, "scale": x.Scale.String()}
	}
	cols := ratedCols(arrow.PrimitiveTypes.Float64)
	files := []struct{ name, path string }{
		{"jsonl", src},
		{"jsonl.gz", writeFile(b, dir, "gz/frank_factuality.jsonl.gz", gzipBytes(b, content))},
		{"arrow", writeTable(b, dir, "arrow/frank_factuality.arrow", cols, rows)},
		{"parquet", writeTable(b, dir, "parquet/frank_factuality.parquet", cols, rows)},
	}
	for _, f := range files {
		b.Run(f.name, func(b *testing.B) {
			b.SetBytes(info.Size())
			b.ReportAllocs()
			for b.Loop() {
				got, err := dataset.LoadFile(f.path, dataset.LoadOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if got.ContentHash != d.ContentHash {
					b.Fatalf("%s: content hash %s, want %s", f.name, got.ContentHash, d.ContentHash)
				}
			}
		})
	}
}

// BenchmarkLoadDir measures loading the whole real data directory.
func BenchmarkLoadDir(b *testing.B) {
	dir := testenv.DataDir(b)
	var size int64
	require.NoError(b, filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && filepath.Ext(p) == ".jsonl" {
			info, err := e.Info()
			if err != nil {
				return err
			}
			size += info.Size()
		}
		return err
	}))
	b.SetBytes(size)
	for b.Loop() {
		if _, err := dataset.LoadDir(dir, dataset.LoadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
