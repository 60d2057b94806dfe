package dataset_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mixopt/mixopt/dataset"
)

var (
	pairRows = []obj{
		{"id": "p-1", "dataset": "prefs", "prompt": "Say hi.", "chosen": "Hi!", "rejected": "No."},
		{"id": "p-2", "dataset": "prefs", "prompt": "Ünïcode ✓\nline two", "chosen": "ok ✓", "rejected": "", "extra": "ignored"},
		{"id": "p-3", "prompt": "\n\nHuman: kept as is\n\nAssistant:", "chosen": "a", "rejected": "b"},
		{"id": "p-4", "dataset": "prefs", "prompt": "q", "chosen": "tab\there", "rejected": "tab here"},
		{"id": "p-5", "dataset": "prefs", "prompt": "last", "chosen": "x", "rejected": "y"},
	}
	pairCols = []column{
		{"id", arrow.BinaryTypes.String},
		{"dataset", dictUTF8},
		{"prompt", arrow.BinaryTypes.LargeString},
		{"chosen", arrow.BinaryTypes.StringView},
		{"rejected", arrow.BinaryTypes.String},
		{"extra", arrow.BinaryTypes.String},
	}
	ratedRows = []obj{
		{"id": "r-1", "dataset": "grades", "prompt": "sort a list", "response": "sorted(x)", "score": 4, "scale": "0-4"},
		{"id": "r-2", "dataset": "grades", "prompt": "sort a list", "response": "x.sort", "score": 1, "scale": "0-4"},
		{"id": "r-3", "dataset": "grades", "prompt": "sort a list", "response": "", "score": 0, "scale": "0-4"},
		{"id": "r-4", "dataset": "grades", "prompt": "reverse", "response": "x[::-1]", "score": 3, "scale": "0-4"},
	}
	labeledRows = []obj{
		{"id": "c-1", "dataset": "safety", "prompt": "hello", "response": "hi", "label": "Safe"},
		{"id": "c-2", "dataset": "safety", "prompt": "hello", "response": "go away", "label": "Unsafe"},
		{"id": "c-3", "dataset": "safety", "prompt": "bye", "response": "bye", "label": "safe"},
	}
	labeledCols = []column{
		{"id", arrow.BinaryTypes.String},
		{"dataset", arrow.BinaryTypes.String},
		{"prompt", arrow.BinaryTypes.String},
		{"response", arrow.BinaryTypes.LargeString},
		{"label", dictUTF8},
	}
)

func ratedCols(score arrow.DataType) []column {
	return []column{
		{"id", arrow.BinaryTypes.String},
		{"dataset", arrow.BinaryTypes.String},
		{"prompt", dictUTF8},
		{"response", arrow.BinaryTypes.String},
		{"score", score},
		{"scale", dictUTF8},
	}
}

// TestFormatsAgree loads the same rows from every format and checks that the
// rows and the content hash are identical.
func TestFormatsAgree(t *testing.T) {
	tests := []struct {
		name, dataset, kind string
		rows                []obj
		cols                []column
	}{
		{"pairwise", "prefs", "pairwise", pairRows, pairCols},
		{"pointwise int score", "grades", "pointwise", ratedRows, ratedCols(arrow.PrimitiveTypes.Int64)},
		{"pointwise float score", "grades", "pointwise", ratedRows, ratedCols(arrow.PrimitiveTypes.Float64)},
		{"pointwise int32 score", "grades", "pointwise", ratedRows, ratedCols(arrow.PrimitiveTypes.Int32)},
		{"classification", "safety", "classification", labeledRows, labeledCols},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			text := jsonl(t, tt.rows...)
			sub := filepath.Join(tt.kind, tt.dataset)
			paths := map[string]string{
				"jsonl":           writeFile(t, dir, filepath.Join("a", sub+".jsonl"), text),
				"jsonl.gz":        writeFile(t, dir, filepath.Join("b", sub+".jsonl.gz"), gzipBytes(t, text)),
				"gzip unsuffixed": writeFile(t, dir, filepath.Join("c", sub+".jsonl"), gzipBytes(t, text)),
				"arrow":           writeTable(t, dir, filepath.Join("d", sub+".arrow"), tt.cols, tt.rows),
				"feather":         writeTable(t, dir, filepath.Join("e", sub+".feather"), tt.cols, tt.rows),
				"arrow stream":    writeTable(t, dir, filepath.Join("f", sub+".arrows"), tt.cols, tt.rows),
				"parquet":         writeTable(t, dir, filepath.Join("g", sub+".parquet"), tt.cols, tt.rows),
			}
			want, err := dataset.LoadFile(paths["jsonl"], dataset.LoadOptions{})
			require.NoError(t, err)
			require.Equal(t, len(tt.rows), want.Len())
			assert.Equal(t, tt.dataset, want.Name)
			assert.Equal(t, tt.kind, want.Kind.String())
			assert.True(t, strings.HasPrefix(want.ContentHash, "sha256:"), want.ContentHash)
			for format, p := range paths {
				got, err := dataset.LoadFile(p, dataset.LoadOptions{})
				require.NoError(t, err, format)
				assert.Equal(t, want.Name, got.Name, format)
				assert.Equal(t, want.Kind, got.Kind, format)
				assert.Equal(t, want.Pairs, got.Pairs, format)
				assert.Equal(t, want.Rated, got.Rated, format)
				assert.Equal(t, want.Labeled, got.Labeled, format)
				assert.Equal(t, want.ContentHash, got.ContentHash, format)
			}
		})
	}
}

func TestHashCoversContent(t *testing.T) {
	dir := t.TempDir()
	base, err := dataset.LoadFile(writeFile(t, dir, "a/pairwise/prefs.jsonl", jsonl(t, pairRows...)), dataset.LoadOptions{})
	require.NoError(t, err)
	assert.Equal(t, base.ContentHash, dataset.HashDataset(base))

	changed := append([]obj(nil), pairRows...)
	changed[4] = obj{"id": "p-5", "prompt": "last", "chosen": "x", "rejected": "y!"}
	other, err := dataset.LoadFile(writeFile(t, dir, "b/pairwise/prefs.jsonl", jsonl(t, changed...)), dataset.LoadOptions{})
	require.NoError(t, err)
	assert.NotEqual(t, base.ContentHash, other.ContentHash)

	// Moving text between fields must change the hash (length prefixes).
	shifted, err := dataset.LoadFile(writeFile(t, dir, "c/pairwise/prefs.jsonl",
		jsonl(t, obj{"id": "x", "prompt": "ab", "chosen": "c", "rejected": "d"})), dataset.LoadOptions{})
	require.NoError(t, err)
	shifted2, err := dataset.LoadFile(writeFile(t, dir, "d/pairwise/prefs.jsonl",
		jsonl(t, obj{"id": "x", "prompt": "a", "chosen": "bc", "rejected": "d"})), dataset.LoadOptions{})
	require.NoError(t, err)
	assert.NotEqual(t, shifted.ContentHash, shifted2.ContentHash)

	// The name is not content: the same rows under another name hash alike.
	renamed, err := dataset.LoadFile(writeFile(t, dir, "e/pairwise/other.jsonl", jsonl(t, obj{"id": "x", "prompt": "ab", "chosen": "c", "rejected": "d"})), dataset.LoadOptions{})
	require.NoError(t, err)
	assert.Equal(t, shifted.ContentHash, renamed.ContentHash)
}

var suiteRows = []obj{
	{"id": "s-1", "section": "Chat", "subset": "easy", "prompt": "p1", "chosen": "good", "rejected": "bad"},
	{"id": "s-2", "section": "Chat", "subset": "easy", "prompt": "p2", "chosen": "good", "rejected": ""},
	{"id": "s-3", "section": "Safety", "subset": "refuse", "prompt": "p3", "chosen": "no", "rejected": "sure"},
}

func TestSuiteFormatsAgree(t *testing.T) {
	dir := t.TempDir()
	cols := []column{
		{"id", arrow.BinaryTypes.String},
		{"section", dictUTF8},
		{"subset", dictUTF8},
		{"prompt", arrow.BinaryTypes.LargeString},
		{"chosen", arrow.BinaryTypes.String},
		{"rejected", arrow.BinaryTypes.String},
	}
	text := jsonl(t, suiteRows...)
	paths := []string{
		writeFile(t, dir, "a/t.jsonl", text),
		writeFile(t, dir, "b/t.jsonl.gz", gzipBytes(t, text)),
		writeTable(t, dir, "c/t.arrow", cols, suiteRows),
		writeTable(t, dir, "d/t.parquet", cols, suiteRows),
	}
	want, err := dataset.LoadSuite("s", paths[:1])
	require.NoError(t, err)
	assert.Equal(t, []dataset.SubsetInfo{
		{Name: "easy", Section: "Chat", Examples: 2},
		{Name: "refuse", Section: "Safety", Examples: 1},
	}, want.Subsets)
	assert.Equal(t, dataset.TargetExample{ID: "s-2", Section: "Chat", Subset: "easy", Prompt: "p2", Chosen: "good"}, want.Examples[1])
	for _, p := range paths[1:] {
		got, err := dataset.LoadSuite("s", []string{p})
		require.NoError(t, err, p)
		assert.Equal(t, want.Examples, got.Examples, p)
		assert.Equal(t, want.Subsets, got.Subsets, p)
		assert.Equal(t, want.ContentHash, got.ContentHash, p)
	}
}

// TestRewardBenchLayout reads RewardBench's official columns: integer ids,
// model columns, no section.
func TestRewardBenchLayout(t *testing.T) {
	dir := t.TempDir()
	rows := []obj{
		{"prompt": "p0", "chosen": "c0", "chosen_model": "gpt-4", "rejected": "r0", "rejected_model": "llama", "subset": "alpacaeval-easy", "id": 30},
		{"prompt": "p1", "chosen": "c1", "chosen_model": "gpt-4", "rejected": "r1", "rejected_model": "llama", "subset": "hep-go", "id": 4012},
	}
	cols := []column{
		{"prompt", arrow.BinaryTypes.String},
		{"chosen", arrow.BinaryTypes.String},
		{"chosen_model", arrow.BinaryTypes.String},
		{"rejected", arrow.BinaryTypes.String},
		{"rejected_model", arrow.BinaryTypes.String},
		{"subset", arrow.BinaryTypes.String},
		{"id", arrow.PrimitiveTypes.Int64},
	}
	for _, p := range []string{
		writeFile(t, dir, "filtered.jsonl", jsonl(t, rows...)),
		writeTable(t, dir, "filtered.parquet", cols, rows),
	} {
		s, err := dataset.LoadSuite("rewardbench", []string{p})
		require.NoError(t, err, p)
		assert.Equal(t, []dataset.TargetExample{
			{ID: "30", Subset: "alpacaeval-easy", Prompt: "p0", Chosen: "c0", Rejected: "r0"},
			{ID: "4012", Subset: "hep-go", Prompt: "p1", Chosen: "c1", Rejected: "r1"},
		}, s.Examples, p)
		assert.Equal(t, []dataset.SubsetInfo{{Name: "alpacaeval-easy", Examples: 1}, {Name: "hep-go", Examples: 1}}, s.Subsets, p)
	}
}

// TestTableErrors checks that Arrow and Parquet problems name the file, the
// row (counted across batches) and the column.
func TestTableErrors(t *testing.T) {
	rows := []obj{
		{"id": "a", "prompt": "p", "chosen": "x", "rejected": "y"},
		{"id": "b", "prompt": "p", "chosen": "x", "rejected": "y"},
		{"id": "c", "chosen": "x", "rejected": "y"}, // null prompt, in the second batch
	}
	strCols := []column{
		{"id", arrow.BinaryTypes.String},
		{"prompt", arrow.BinaryTypes.String},
		{"chosen", arrow.BinaryTypes.String},
		{"rejected", arrow.BinaryTypes.String},
	}
	badType := []column{
		{"id", arrow.BinaryTypes.String},
		{"prompt", arrow.FixedWidthTypes.Boolean},
		{"chosen", arrow.BinaryTypes.String},
		{"rejected", arrow.BinaryTypes.String},
	}
	boolRows := []obj{{"id": "a", "prompt": true, "chosen": "x", "rejected": "y"}}
	for _, ext := range []string{".arrow", ".parquet"} {
		t.Run(ext, func(t *testing.T) {
			dir := t.TempDir()
			p := writeTable(t, dir, "pairwise/nulls"+ext, strCols, rows)
			_, err := dataset.LoadFile(p, dataset.LoadOptions{})
			var de *dataset.Error
			require.ErrorAs(t, err, &de)
			assert.Equal(t, dataset.Error{Path: p, Line: 3, Row: true, Field: "prompt", Msg: `missing, and chosen is not an HH-RLHF transcript (no "\n\nAssistant:" turn) to split a prompt from`}, *de)
			assert.Contains(t, err.Error(), "nulls"+ext+`:row 3: field "prompt"`)

			p = writeTable(t, dir, "pairwise/types"+ext, badType, boolRows)
			_, err = dataset.LoadFile(p, dataset.LoadOptions{})
			require.ErrorAs(t, err, &de)
			assert.Equal(t, "prompt", de.Field)
			assert.Contains(t, err.Error(), `types`+ext+`: field "prompt": column type bool not supported`)
		})
	}
}

func TestMislabelledTableFile(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"pairwise/x.parquet", "pairwise/y.arrow"} {
		p := writeFile(t, dir, name, jsonl(t, pairRows[0]))
		_, err := dataset.LoadFile(p, dataset.LoadOptions{})
		var de *dataset.Error
		require.ErrorAs(t, err, &de, name)
		assert.Equal(t, p, de.Path)
		assert.Contains(t, de.Msg, "bad magic bytes")
	}
	p := writeFile(t, dir, "pairwise/v1.feather", "FEA1 old feather")
	_, err := dataset.LoadFile(p, dataset.LoadOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Feather V1")

	// A truncated Parquet file keeps its magic but loses its footer.
	full := writeTable(t, dir, "pairwise/full.parquet", pairCols, pairRows)
	content := readFile(t, full)
	p = writeFile(t, dir, "pairwise/cut.parquet", content[:len(content)/2])
	_, err = dataset.LoadFile(p, dataset.LoadOptions{})
	var de *dataset.Error
	require.ErrorAs(t, err, &de)
	assert.Equal(t, p, de.Path)
	assert.NotNil(t, errors.Unwrap(de))
}
