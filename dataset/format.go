package dataset

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// dataExts are the file name extensions of the formats the loaders read.
// LoadDir picks up only files that end in one of them (after an optional
// ".gz"), and dataset names drop them.
var dataExts = []string{".jsonl", ".ndjson", ".json", ".arrow", ".feather", ".ipc", ".arrows", ".parquet"}

// tabularExts name Arrow and Parquet files. A file so named must carry the
// matching magic bytes, so that a truncated or mislabelled file fails loudly
// instead of being parsed as JSON Lines.
var tabularExts = map[string]string{
	".arrow":   "an Arrow IPC file",
	".feather": "an Arrow IPC file",
	".ipc":     "an Arrow IPC file or stream",
	".arrows":  "an Arrow IPC stream",
	".parquet": "a Parquet file",
}

// NameFromPath returns the dataset name a file gives: its base name without
// the data extensions (".jsonl", ".jsonl.gz", ".parquet", ...), so
// "train/pairwise/hh.jsonl.gz" gives "hh".
func NameFromPath(path string) string {
	name := filepath.Base(path)
	name = strings.TrimSuffix(name, ".gz")
	for _, ext := range dataExts {
		if s, ok := strings.CutSuffix(name, ext); ok {
			return s
		}
	}
	return name
}

// isDataFile says whether LoadDir should read the file name.
func isDataFile(name string) bool {
	if strings.HasPrefix(name, ".") {
		return false
	}
	name = strings.TrimSuffix(name, ".gz")
	for _, ext := range dataExts {
		if strings.HasSuffix(name, ext) && len(name) > len(ext) {
			return true
		}
	}
	return false
}

// openSource opens path and picks the reader from the file's magic bytes:
// Parquet ("PAR1"), Arrow IPC file ("ARROW1"), Arrow IPC stream (a 0xFFFFFFFF
// continuation marker), else JSON Lines, gzip-compressed or not.
func openSource(path string) (source, func() error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, &Error{Path: path, Msg: "cannot open", Err: err}
	}
	src, err := sourceFor(path, f)
	if err != nil {
		_ = f.Close()
		return nil, nil, err
	}
	closeAll := func() error {
		err := src.close()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
	return src, closeAll, nil
}

func sourceFor(path string, f *os.File) (source, error) {
	var magic [8]byte
	n, _ := f.ReadAt(magic[:], 0)
	head := magic[:n]
	ext := filepath.Ext(path)
	tab := func(what string, open func(*os.File) (batchReader, error)) (source, error) {
		br, err := open(f)
		if err != nil {
			return nil, &Error{Path: path, Msg: "cannot read " + what, Err: err}
		}
		src, err := newTableSource(path, br)
		if err != nil {
			_ = br.close()
			return nil, err
		}
		return src, nil
	}
	switch {
	case bytes.HasPrefix(head, []byte("PAR1")):
		return tab("Parquet file", openParquet)
	case bytes.HasPrefix(head, []byte("ARROW1")):
		return tab("Arrow IPC file", openIPCFile)
	case bytes.HasPrefix(head, []byte{0xff, 0xff, 0xff, 0xff}):
		return tab("Arrow IPC stream", openIPCStream)
	case bytes.HasPrefix(head, []byte("FEA1")):
		return nil, &Error{Path: path, Msg: "Feather V1 files are not supported; rewrite the file as Feather V2 (Arrow IPC)"}
	}
	if what, ok := tabularExts[ext]; ok {
		return nil, &Error{Path: path, Msg: fmt.Sprintf("not %s (bad magic bytes %q)", what, head)}
	}
	return newJSONLSource(path, bufio.NewReaderSize(f, 1<<16))
}
