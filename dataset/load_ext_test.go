package dataset_test

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mixopt/mixopt/dataset"
)

const (
	okPair  = `{"id": "a", "prompt": "p", "chosen": "x", "rejected": "y"}`
	okRated = `{"id": "a", "prompt": "p", "response": "r", "score": 2, "scale": "0-4"}`
	okLabel = `{"id": "a", "prompt": "p", "response": "r", "label": "Safe"}`
)

// TestLoadFileErrors checks that every kind of malformed input is an *Error
// whose message names the file, the line and the field.
func TestLoadFileErrors(t *testing.T) {
	tests := []struct {
		name    string
		file    string // path under a temporary dir; the parent dir gives the kind
		content string
		line    int
		field   string
		msg     string
	}{
		{"malformed JSON", "pairwise/d.jsonl", okPair + "\n{\"id\": \"b\", \n", 2, "", "malformed JSON"},
		{"not an object", "pairwise/d.jsonl", okPair + "\n[1, 2]\n", 2, "", "want a JSON object, got array"},
		{"missing prompt", "pairwise/d.jsonl", `{"id": "a", "chosen": "x", "rejected": "y"}`, 1, "prompt", "missing"},
		{"prompt wrong type", "pairwise/d.jsonl", `{"id": "a", "prompt": 5, "chosen": "x", "rejected": "y"}`, 1, "prompt", "want a string, got number"},
		{"empty prompt", "pairwise/d.jsonl", okPair + "\n" + `{"id": "b", "prompt": "", "chosen": "x", "rejected": "y"}`, 2, "prompt", "must not be empty"},
		{"blank prompt", "pairwise/d.jsonl", `{"id": "b", "prompt": " \n", "chosen": "x", "rejected": "y"}`, 1, "prompt", "must not be empty"},
		{"null prompt", "pairwise/d.jsonl", `{"id": "b", "prompt": null, "chosen": "x", "rejected": "y"}`, 1, "prompt", "missing"},
		{"missing id", "pairwise/d.jsonl", `{"prompt": "p", "chosen": "x", "rejected": "y"}`, 1, "id", "missing"},
		{"empty id", "pairwise/d.jsonl", `{"id": "", "prompt": "p", "chosen": "x", "rejected": "y"}`, 1, "id", "must not be empty"},
		{"bool id", "pairwise/d.jsonl", `{"id": true, "prompt": "p", "chosen": "x", "rejected": "y"}`, 1, "id", "want a string or an integer, got bool"},
		{"fractional id", "pairwise/d.jsonl", `{"id": 1.5, "prompt": "p", "chosen": "x", "rejected": "y"}`, 1, "id", "want a string or an integer, got number 1.5"},
		{"missing chosen", "pairwise/d.jsonl", `{"id": "a", "prompt": "p", "rejected": "y"}`, 1, "chosen", "missing"},
		{"rejected wrong type", "pairwise/d.jsonl", `{"id": "a", "prompt": "p", "chosen": "x", "rejected": ["y"]}`, 1, "rejected", "want a string, got array"},
		{"chosen equals rejected", "pairwise/d.jsonl", `{"id": "a", "prompt": "p", "chosen": "x", "rejected": "x"}`, 1, "rejected", "identical to chosen"},
		{"duplicate id", "pairwise/d.jsonl", okPair + "\n" + `{"id": "b", "prompt": "p", "chosen": "x", "rejected": "y"}` + "\n" + okPair, 3, "id", `duplicate id "a" (first at line 1)`},
		{"dataset mismatch", "pairwise/d.jsonl", `{"id": "a", "dataset": "e", "prompt": "p", "chosen": "x", "rejected": "y"}`, 1, "dataset", `is "e", want "d"`},
		{"empty file", "pairwise/d.jsonl", "", 0, "", "no rows"},
		{"blank lines only", "pairwise/d.jsonl", "\n  \n\n", 0, "", "no rows"},
		{"unknown schema", "misc/d.jsonl", `{"id": "a", "prompt": "p", "response": "r"}`, 1, "", "cannot tell the schema"},
		{"HH no marker in rejected", "pairwise/d.jsonl", `{"chosen": "\n\nHuman: hi\n\nAssistant: yo", "rejected": "plain"}`, 1, "rejected", "not an HH-RLHF transcript"},
		{"HH contexts differ", "pairwise/d.jsonl", `{"chosen": "\n\nHuman: hi\n\nAssistant: yo", "rejected": "\n\nHuman: ho\n\nAssistant: yo!"}`, 1, "rejected", "context differs"},
		{"HH empty context", "pairwise/d.jsonl", `{"chosen": "\n\nAssistant: yo", "rejected": "\n\nAssistant: no"}`, 1, "chosen", "nothing before"},
		{"HH same response", "pairwise/d.jsonl", `{"chosen": "\n\nHuman: hi\n\nAssistant: yo", "rejected": "\n\nHuman: hi\n\nAssistant:yo"}`, 1, "rejected", "identical to chosen"},
		{"score above scale", "pointwise/d.jsonl", okRated + "\n" + `{"id": "b", "prompt": "p", "response": "r", "score": 5, "scale": "0-4"}`, 2, "score", "5 is outside the scale 0-4"},
		{"score below scale", "pointwise/d.jsonl", `{"id": "b", "prompt": "p", "response": "r", "score": -0.5, "scale": "0-1"}`, 1, "score", "-0.5 is outside the scale 0-1"},
		{"score as string", "pointwise/d.jsonl", `{"id": "b", "prompt": "p", "response": "r", "score": "3", "scale": "0-4"}`, 1, "score", "want a number, got string"},
		{"missing score", "pointwise/d.jsonl", `{"id": "b", "prompt": "p", "response": "r", "scale": "0-4"}`, 1, "score", "missing"},
		{"missing scale", "pointwise/d.jsonl", `{"id": "b", "prompt": "p", "response": "r", "score": 1}`, 1, "scale", "missing"},
		{"scale as number", "pointwise/d.jsonl", `{"id": "b", "prompt": "p", "response": "r", "score": 1, "scale": 4}`, 1, "scale", "want a string, got number"},
		{"bad scale", "pointwise/d.jsonl", `{"id": "b", "prompt": "p", "response": "r", "score": 1, "scale": "0 to 4"}`, 1, "scale", `bad scale "0 to 4"`},
		{"inverted scale", "pointwise/d.jsonl", `{"id": "b", "prompt": "p", "response": "r", "score": 1, "scale": "4-0"}`, 1, "scale", "MIN must be below MAX"},
		{"missing response", "pointwise/d.jsonl", `{"id": "b", "prompt": "p", "score": 1, "scale": "0-4"}`, 1, "response", "missing"},
		{"missing label", "classification/d.jsonl", `{"id": "b", "prompt": "p", "response": "r"}`, 1, "label", "missing"},
		{"empty label", "classification/d.jsonl", okLabel + "\n" + `{"id": "b", "prompt": "p", "response": "r", "label": ""}`, 2, "label", "must not be empty"},
		{"label wrong type", "classification/d.jsonl", `{"id": "b", "prompt": "p", "response": "r", "label": 1}`, 1, "label", "want a string, got number"},
		{"classification duplicate id", "classification/d.jsonl", okLabel + "\n\n" + okLabel, 3, "id", `duplicate id "a" (first at line 1)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), tt.file, tt.content)
			d, err := dataset.LoadFile(p, dataset.LoadOptions{})
			require.Error(t, err)
			assert.Nil(t, d)
			var de *dataset.Error
			require.ErrorAs(t, err, &de)
			assert.Equal(t, p, de.Path)
			assert.Equal(t, tt.line, de.Line)
			assert.Equal(t, tt.field, de.Field)
			assert.Contains(t, de.Msg, tt.msg)
			msg := err.Error()
			assert.True(t, strings.HasPrefix(msg, p), msg)
			if tt.line > 0 {
				assert.Contains(t, msg, fmt.Sprintf("%s:%d:", filepath.Base(p), tt.line))
			}
			if tt.field != "" {
				assert.Contains(t, msg, fmt.Sprintf(`field %q`, tt.field))
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  dataset.Error
		want string
	}{
		{dataset.Error{Path: "a.jsonl", Line: 3, Field: "score", Msg: "bad"}, `a.jsonl:3: field "score": bad`},
		{dataset.Error{Path: "a.parquet", Line: 3, Row: true, Field: "id", Msg: "bad"}, `a.parquet:row 3: field "id": bad`},
		{dataset.Error{Path: "a.jsonl", Line: 7, Msg: "malformed JSON"}, `a.jsonl:7: malformed JSON`},
		{dataset.Error{Path: "a.jsonl", Msg: "no rows"}, `a.jsonl: no rows`},
		{dataset.Error{Path: "a.jsonl", Msg: "cannot open", Err: fs.ErrNotExist}, `a.jsonl: cannot open: file does not exist`},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.err.Error())
	}
}

func TestLoadFileMissing(t *testing.T) {
	_, err := dataset.LoadFile(filepath.Join(t.TempDir(), "pairwise", "nope.jsonl"), dataset.LoadOptions{})
	assert.ErrorIs(t, err, fs.ErrNotExist)
	var de *dataset.Error
	assert.ErrorAs(t, err, &de)
}

func TestTruncatedGzip(t *testing.T) {
	var rows []obj
	for i := range 2000 {
		rows = append(rows, obj{"id": fmt.Sprint(i), "prompt": strings.Repeat("word ", 20), "chosen": fmt.Sprint("c", i), "rejected": "r"})
	}
	gz := gzipBytes(t, jsonl(t, rows...))
	p := writeFile(t, t.TempDir(), "pairwise/cut.jsonl.gz", gz[:len(gz)-20])
	_, err := dataset.LoadFile(p, dataset.LoadOptions{})
	var de *dataset.Error
	require.ErrorAs(t, err, &de)
	assert.Equal(t, p, de.Path)
	assert.Positive(t, de.Line)
	assert.Contains(t, err.Error(), "cut.jsonl.gz:")
}

func TestJSONLTolerance(t *testing.T) {
	long := strings.Repeat("x", 3<<19) // lines far past any scanner buffer
	content := "\xef\xbb\xbf" + okPair + "\r\n\n   \n" +
		jsonl(t, obj{"id": "b", "prompt": long, "chosen": long + "!", "rejected": "", "nested": obj{"a": []any{1, "2"}}}) +
		`{"id": 7, "prompt": "p", "chosen": "x", "rejected": "y"}` // integer id, no final newline
	p := writeFile(t, t.TempDir(), "pairwise/tol.jsonl", content)
	d, err := dataset.LoadFile(p, dataset.LoadOptions{})
	require.NoError(t, err)
	require.Equal(t, 3, d.Len())
	assert.Equal(t, "a", d.Pairs[0].ID)
	assert.Equal(t, long, d.Pairs[1].Prompt)
	assert.Equal(t, long+"!", d.Pairs[1].Chosen)
	assert.Empty(t, d.Pairs[1].Rejected)
	assert.Equal(t, "7", d.Pairs[2].ID)

	// Line numbers keep counting across blank and long lines.
	p = writeFile(t, t.TempDir(), "pairwise/tol.jsonl", content+"\n"+okPair+"\n")
	_, err = dataset.LoadFile(p, dataset.LoadOptions{})
	var de *dataset.Error
	require.ErrorAs(t, err, &de)
	assert.Equal(t, 6, de.Line)
	assert.Equal(t, `duplicate id "a" (first at line 1)`, de.Msg)
}

func TestKindInference(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		file, content string
		opts          dataset.LoadOptions
		want          dataset.Kind
	}{
		{"x/pairs.jsonl", okPair, dataset.LoadOptions{}, dataset.Pairwise},
		{"x/rated.jsonl", okRated, dataset.LoadOptions{}, dataset.Pointwise},
		{"x/labels.jsonl", okLabel, dataset.LoadOptions{}, dataset.Classification},
		// The directory wins over the fields: here score is an unknown field.
		{"pairwise/scored.jsonl", `{"id": "a", "prompt": "p", "chosen": "x", "rejected": "y", "score": 1}`, dataset.LoadOptions{}, dataset.Pairwise},
		{"x/forced.jsonl", `{"id": "a", "prompt": "p", "chosen": "x", "rejected": "y", "label": "l"}`, dataset.LoadOptions{Kind: dataset.Pairwise}, dataset.Pairwise},
	}
	for _, tt := range tests {
		d, err := dataset.LoadFile(writeFile(t, dir, tt.file, tt.content), tt.opts)
		require.NoError(t, err, tt.file)
		assert.Equal(t, tt.want, d.Kind, tt.file)
	}
}

func TestNameFromPath(t *testing.T) {
	for path, want := range map[string]string{
		"train/pairwise/hh.jsonl":    "hh",
		"train/pairwise/hh.jsonl.gz": "hh",
		"x/test.parquet":             "test",
		"x/a.b.arrow":                "a.b",
		"x/a.feather":                "a",
		"x/raw.json":                 "raw",
		"x/plain":                    "plain",
	} {
		assert.Equal(t, want, dataset.NameFromPath(path), path)
	}
}

func TestLoadOptionsName(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "pairwise/test.jsonl", `{"id": "a", "dataset": "hh", "prompt": "p", "chosen": "x", "rejected": "y"}`)
	d, err := dataset.LoadFile(p, dataset.LoadOptions{Name: "hh"})
	require.NoError(t, err)
	assert.Equal(t, "hh", d.Name)
	_, err = dataset.LoadFile(p, dataset.LoadOptions{Name: "a/b"})
	assert.ErrorContains(t, err, "contains '/'")
}

// TestHHRaw reads HH-RLHF's raw format: whole transcripts, no prompt, no id.
func TestHHRaw(t *testing.T) {
	rows := []obj{
		{"chosen": "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: joke?\n\nAssistant: Why did the chicken...", "rejected": "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: joke?\n\nAssistant: No."},
		{"chosen": "\n\nHuman: rob a bank?\n\nAssistant: I can't help with that.", "rejected": "\n\nHuman: rob a bank?\n\nAssistant:"},
	}
	p := writeFile(t, t.TempDir(), "raw/test.jsonl.gz", gzipBytes(t, jsonl(t, rows...)))
	d, err := dataset.LoadFile(p, dataset.LoadOptions{Kind: dataset.Pairwise, Name: "hh_rlhf"})
	require.NoError(t, err)
	assert.Equal(t, []dataset.Pair{
		{ID: "hh_rlhf-1", Prompt: "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: joke?", Chosen: "Why did the chicken...", Rejected: "No."},
		{ID: "hh_rlhf-2", Prompt: "\n\nHuman: rob a bank?", Chosen: "I can't help with that.", Rejected: ""},
	}, d.Pairs)
}

func TestLoadSuiteErrors(t *testing.T) {
	ex := func(id, section, subset string) string {
		return jsonl(t, obj{"id": id, "section": section, "subset": subset, "prompt": "p", "chosen": "a", "rejected": "b"})
	}
	tests := []struct {
		name  string
		files map[string]string
		file  string // base name of the file at fault
		line  int
		field string
		msg   string
	}{
		{"missing subset", map[string]string{"a.jsonl": `{"id": "1", "prompt": "p", "chosen": "a", "rejected": "b"}`}, "a.jsonl", 1, "subset", "missing"},
		{"empty section", map[string]string{"a.jsonl": ex("1", "", "s")}, "a.jsonl", 1, "section", "must not be empty"},
		{"section conflict", map[string]string{"a.jsonl": ex("1", "Chat", "s") + ex("2", "Safety", "s")}, "a.jsonl", 2, "section", `subset "s" was first seen in section "Chat"`},
		{"duplicate id across files", map[string]string{"a.jsonl": ex("1", "Chat", "s"), "b.jsonl": ex("2", "Chat", "s") + ex("1", "Chat", "s")}, "b.jsonl", 2, "id", `duplicate id "1" (first at `},
		{"duplicate id in a file", map[string]string{"a.jsonl": ex("1", "Chat", "s") + ex("1", "Chat", "s")}, "a.jsonl", 2, "id", `duplicate id "1" (first at line 1)`},
		{"identical responses", map[string]string{"a.jsonl": `{"id": "1", "subset": "s", "prompt": "p", "chosen": "a", "rejected": "a"}`}, "a.jsonl", 1, "rejected", "identical to chosen"},
		{"empty file", map[string]string{"a.jsonl": ex("1", "Chat", "s"), "b.jsonl": ""}, "b.jsonl", 0, "", "no rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var paths []string
			for name, content := range tt.files {
				paths = append(paths, writeFile(t, dir, name, content))
			}
			_, err := dataset.LoadSuite("s", paths)
			var de *dataset.Error
			require.ErrorAs(t, err, &de)
			assert.Equal(t, filepath.Join(dir, tt.file), de.Path)
			assert.Equal(t, tt.line, de.Line)
			assert.Equal(t, tt.field, de.Field)
			assert.Contains(t, de.Msg, tt.msg)
			if tt.name == "duplicate id across files" {
				assert.Contains(t, de.Msg, filepath.Join(dir, "a.jsonl")+":1")
			}
		})
	}
}

func TestLoadSuiteOrder(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "x/a.jsonl", jsonl(t, suiteRows[0]))
	b := writeFile(t, dir, "y/b.jsonl", jsonl(t, suiteRows[1:]...))
	s1, err := dataset.LoadSuite("s", []string{b, a})
	require.NoError(t, err)
	s2, err := dataset.LoadSuite("s", []string{a, b})
	require.NoError(t, err)
	assert.Equal(t, []string{a, b}, s1.Paths)
	assert.Equal(t, s2.Examples, s1.Examples)
	assert.Equal(t, s2.ContentHash, s1.ContentHash)
	assert.Equal(t, "s-1", s1.Examples[0].ID)

	_, err = dataset.LoadSuite("s", nil)
	assert.ErrorContains(t, err, "no files")
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "train/pairwise/prefs.jsonl", jsonl(t, pairRows...))
	writeFile(t, dir, "train/pointwise/grades.jsonl.gz", gzipBytes(t, jsonl(t, ratedRows...)))
	writeTable(t, dir, "train/classification/safety.parquet", labeledCols, labeledRows)
	writeFile(t, dir, "train/pairwise/README.md", "not data")
	writeFile(t, dir, "train/pairwise/.hidden.jsonl", "not read")
	writeFile(t, dir, "target/b.jsonl", jsonl(t, suiteRows[1:]...))
	writeFile(t, dir, "target/a.jsonl", jsonl(t, suiteRows[0]))

	c, err := dataset.LoadDir(dir, dataset.LoadOptions{})
	require.NoError(t, err)
	var names []string
	for _, d := range c.Datasets {
		names = append(names, d.Name)
	}
	assert.Equal(t, []string{"grades", "prefs", "safety"}, names)
	d, ok := c.Dataset("safety")
	require.True(t, ok)
	assert.Equal(t, dataset.Classification, d.Kind)
	_, ok = c.Dataset("nope")
	assert.False(t, ok)
	require.NotNil(t, c.Suite)
	assert.Equal(t, dataset.DefaultSuiteName, c.Suite.Name)
	assert.Len(t, c.Suite.Examples, 3)
	assert.Equal(t, filepath.Join(dir, "target", "a.jsonl"), c.Suite.Paths[0])

	c, err = dataset.LoadDir(dir, dataset.LoadOptions{SuiteName: "mine"})
	require.NoError(t, err)
	assert.Equal(t, "mine", c.Suite.Name)
}

func TestLoadDirErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		path  string // file at fault, relative to the dir
		msg   string
	}{
		{"no train folder", map[string]string{"target/a.jsonl": okPair}, "train", "cannot read the training folder"},
		{"no training files", map[string]string{"train/pairwise/README.md": "x"}, "train", "no training files"},
		{"unknown kind folder", map[string]string{"train/preference/a.jsonl": okPair}, "train/preference", "unknown kind folder"},
		{"file outside kind folder", map[string]string{"train/a.jsonl": okPair}, "train/a.jsonl", "outside a kind folder"},
		{"duplicate name", map[string]string{"train/pairwise/a.jsonl": okPair, "train/pointwise/a.jsonl.gz": okRated}, "train/pointwise/a.jsonl.gz", `dataset name "a" is also given by`},
		{"empty target folder", map[string]string{"train/pairwise/a.jsonl": okPair, "target/README": "x"}, "target", "no target files"},
		{"bad row", map[string]string{"train/pairwise/a.jsonl": okPair, "train/classification/b.jsonl": okLabel + "\n{"}, "train/classification/b.jsonl", "malformed JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				writeFile(t, dir, name, content)
			}
			_, err := dataset.LoadDir(dir, dataset.LoadOptions{})
			var de *dataset.Error
			require.ErrorAs(t, err, &de)
			assert.Equal(t, filepath.Join(dir, tt.path), de.Path)
			assert.Contains(t, de.Msg, tt.msg)
		})
	}
}

func TestParseScale(t *testing.T) {
	tests := []struct {
		in   string
		want dataset.Scale
		err  string
	}{
		{"0-4", dataset.Scale{Min: 0, Max: 4}, ""},
		{"0-1", dataset.Scale{Min: 0, Max: 1}, ""},
		{"1-10", dataset.Scale{Min: 1, Max: 10}, ""},
		{"-1-1", dataset.Scale{Min: -1, Max: 1}, ""},
		{"-5--1", dataset.Scale{Min: -5, Max: -1}, ""},
		{"0.5-2.5", dataset.Scale{Min: 0.5, Max: 2.5}, ""},
		{"4-0", dataset.Scale{}, "MIN must be below MAX"},
		{"1-1", dataset.Scale{}, "MIN must be below MAX"},
		{"0-", dataset.Scale{}, "want MIN-MAX"},
		{"0 - 4", dataset.Scale{}, "want MIN-MAX"},
		{"a-b", dataset.Scale{}, "want MIN-MAX"},
		{"1e3-1e4", dataset.Scale{}, "want MIN-MAX"},
		{"", dataset.Scale{}, "want MIN-MAX"},
		{".5-1", dataset.Scale{}, "want MIN-MAX"},
	}
	for _, tt := range tests {
		got, err := dataset.ParseScale(tt.in)
		if tt.err != "" {
			assert.ErrorContains(t, err, tt.err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
		// String is the inverse of ParseScale.
		again, err := dataset.ParseScale(got.String())
		require.NoError(t, err)
		assert.Equal(t, got, again, tt.in)
	}
}

func TestErrorsAsThroughWrapping(t *testing.T) {
	p := writeFile(t, t.TempDir(), "pairwise/d.jsonl", "{")
	_, err := dataset.LoadFile(p, dataset.LoadOptions{})
	wrapped := fmt.Errorf("plan: %w", err)
	var de *dataset.Error
	require.True(t, errors.As(wrapped, &de))
	assert.Equal(t, 1, de.Line)
}
