package dataset

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// DefaultSuiteName names the suite LoadDir reads from a data directory's
// target/ folder unless LoadOptions.SuiteName says otherwise.
const DefaultSuiteName = "rewardbench"

// LoadOptions tunes LoadFile and LoadDir. The zero value infers everything.
type LoadOptions struct {
	// Kind is the schema of a training file (LoadFile only). Zero infers it
	// from the parent directory's name (pairwise, pointwise or
	// classification), else from the fields of the first row: score or scale
	// means pointwise, label classification, chosen and rejected pairwise.
	Kind Kind
	// Name overrides the dataset name the file name gives (LoadFile only),
	// for files such as HH-RLHF's "test.jsonl.gz".
	Name string
	// SuiteName names the suite LoadDir reads from target/; "" means
	// DefaultSuiteName.
	SuiteName string
}

// LoadFile reads one training dataset.
//
// Formats, chosen by the file's magic bytes rather than its name: JSON Lines
// (plain or gzip; lines of any length; blank lines skipped), Arrow IPC file
// (Feather V2) or stream, and Parquet. Arrow and Parquet columns carry the
// same names as the JSON fields; text columns may be utf8, large_utf8,
// string_view or dictionary<utf8>, id may also be an integer column, score
// any integer or floating-point column. Unknown fields and columns are
// ignored; JSON null and Arrow null count as missing.
//
// Schemas (README of the data directory):
//   - pairwise: id, prompt, chosen, rejected;
//   - pointwise: id, prompt, response, score, scale ("MIN-MAX", see
//     ParseScale), with MIN <= score <= MAX;
//   - classification: id, prompt, response, label (label values are checked
//     by Tasks, which knows the per-dataset label mappings).
//
// Every schema also accepts a dataset field, which must equal the dataset
// name (the file name without its extensions, or opts.Name). id may be a
// string or an integer (RewardBench's official files use integers). A known
// field of the wrong type is an error even where the schema does not use
// it. id and prompt must not be blank; responses must be present but may be empty, because
// real data holds judged empty outputs; chosen and rejected must differ; ids
// must be unique within the file.
//
// A pairwise row without a prompt field is read as raw HH-RLHF: chosen and
// rejected are whole transcripts ("\n\nHuman: ...\n\nAssistant: ..."), each
// cut at its last "\n\nAssistant:"; the prompt is everything before the
// marker, the response everything after it minus one leading space. The two
// transcripts must share that prompt. A missing id becomes
// "<dataset>-<line>".
//
// Every data problem is returned as an *Error naming the file, the line (or
// row) and the field.
func LoadFile(path string, opts LoadOptions) (*Dataset, error) {
	name := opts.Name
	if name == "" {
		name = NameFromPath(path)
	}
	if err := checkName(name); err != nil {
		return nil, &Error{Path: path, Msg: err.Error()}
	}
	kind := opts.Kind
	if kind == 0 {
		kind = kindFromDir(path)
	} else if kind < Pairwise || kind > Classification {
		return nil, fmt.Errorf("load %s: invalid kind %d", path, int(kind))
	}

	src, closeSrc, err := openSource(path)
	if err != nil {
		return nil, err
	}
	b := &builder{
		d:    &Dataset{Name: name, Kind: kind, Path: path, origin: origin{rows: src.rows()}},
		ids:  make(map[string]int),
		rows: src.rows(),
	}
	var r row
	for {
		err := src.next(&r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil && b.d.Kind == 0 {
			b.d.Kind, err = kindFromRow(path, src.rows(), &r)
		}
		if err == nil {
			err = b.add(&r)
		}
		if err != nil {
			_ = closeSrc()
			return nil, err
		}
	}
	if err := closeSrc(); err != nil {
		return nil, &Error{Path: path, Msg: "close failed", Err: err}
	}
	d := b.d
	if d.Len() == 0 {
		return nil, &Error{Path: path, Msg: "no rows"}
	}
	d.ContentHash = HashDataset(d)
	return d, nil
}

// checkName rejects names that cannot key a task: task names append "/pairs"
// to the dataset name.
func checkName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return errors.New("empty dataset name")
	case strings.Contains(name, "/"):
		return fmt.Errorf("dataset name %q contains '/'", name)
	}
	return nil
}

func kindFromDir(path string) Kind {
	switch filepath.Base(filepath.Dir(path)) {
	case "pairwise":
		return Pairwise
	case "pointwise":
		return Pointwise
	case "classification":
		return Classification
	}
	return 0
}

func kindFromRow(path string, rows bool, r *row) (Kind, error) {
	switch {
	case r.present(fScore) || r.present(fScale):
		return Pointwise, nil
	case r.present(fLabel):
		return Classification, nil
	case r.present(fChosen) && r.present(fRejected):
		return Pairwise, nil
	}
	return 0, &Error{Path: path, Line: r.line, Row: rows, Msg: "cannot tell the schema: want chosen and rejected (pairwise), " +
		"response, score and scale (pointwise) or response and label (classification); " +
		"or put the file under a pairwise, pointwise or classification directory"}
}

// builder checks rows against a dataset's schema and appends them.
type builder struct {
	d    *Dataset
	ids  map[string]int
	rows bool
}

func (b *builder) add(r *row) error {
	c := check{path: b.d.Path, rows: b.rows, r: r}
	if r.present(fDataset) && r.str[fDataset] != b.d.Name {
		return c.err(fDataset, "is %q, want %q (the dataset name, from the file name)", r.str[fDataset], b.d.Name)
	}
	var (
		id     string
		err    error
		commit func()
	)
	switch b.d.Kind {
	case Pairwise:
		var p Pair
		if !r.present(fPrompt) && r.present(fChosen) && r.present(fRejected) {
			if p, err = splitHH(c); err == nil {
				if id, err = c.optionalText(fID); id == "" {
					id = b.d.Name + "-" + strconv.Itoa(r.line)
				}
			}
		} else if p, err = pairFields(c); err == nil {
			id, err = c.text(fID)
		}
		p.ID = id
		commit = func() { b.d.Pairs = append(b.d.Pairs, p) }
	case Pointwise:
		var x Rated
		x, err = ratedFields(c)
		id = x.ID
		commit = func() { b.d.Rated = append(b.d.Rated, x) }
	case Classification:
		var x Labeled
		x, err = labeledFields(c)
		id = x.ID
		commit = func() { b.d.Labeled = append(b.d.Labeled, x) }
	}
	if err != nil {
		return err
	}
	if first, dup := b.ids[id]; dup {
		return c.err(fID, "duplicate id %q (first at %s)", id, where(first, b.rows))
	}
	b.ids[id] = r.line
	commit()
	b.d.origin.lines = append(b.d.origin.lines, r.line)
	return nil
}

func pairFields(c check) (Pair, error) {
	var p Pair
	var err error
	if p.Prompt, err = c.text(fPrompt); err != nil {
		return p, err
	}
	if p.Chosen, err = c.response(fChosen); err != nil {
		return p, err
	}
	if p.Rejected, err = c.response(fRejected); err != nil {
		return p, err
	}
	return p, c.distinct(p.Chosen, p.Rejected)
}

// hhMarker starts the assistant turns of an HH-RLHF transcript.
const hhMarker = "\n\nAssistant:"

// splitHH cuts two raw HH-RLHF transcripts at their last assistant turn.
func splitHH(c check) (Pair, error) {
	chosen, rejected := c.r.str[fChosen], c.r.str[fRejected]
	i := strings.LastIndex(chosen, hhMarker)
	if i < 0 {
		return Pair{}, c.err(fPrompt, `missing, and chosen is not an HH-RLHF transcript (no "\n\nAssistant:" turn) to split a prompt from`)
	}
	j := strings.LastIndex(rejected, hhMarker)
	if j < 0 {
		return Pair{}, c.err(fRejected, `not an HH-RLHF transcript (no "\n\nAssistant:" turn), but chosen is`)
	}
	if chosen[:i] != rejected[:j] {
		return Pair{}, c.err(fRejected, `HH-RLHF context differs from chosen's: both transcripts must be equal up to their last "\n\nAssistant:"`)
	}
	p := Pair{
		Prompt:   chosen[:i],
		Chosen:   strings.TrimPrefix(chosen[i+len(hhMarker):], " "),
		Rejected: strings.TrimPrefix(rejected[j+len(hhMarker):], " "),
	}
	if strings.TrimSpace(p.Prompt) == "" {
		return Pair{}, c.err(fChosen, `HH-RLHF transcript has nothing before its last "\n\nAssistant:" turn`)
	}
	return p, c.distinct(p.Chosen, p.Rejected)
}

func ratedFields(c check) (Rated, error) {
	var x Rated
	var err error
	if x.ID, err = c.text(fID); err != nil {
		return x, err
	}
	if x.Prompt, err = c.text(fPrompt); err != nil {
		return x, err
	}
	if x.Response, err = c.response(fResponse); err != nil {
		return x, err
	}
	if x.Score, err = c.score(); err != nil {
		return x, err
	}
	scale, err := c.text(fScale)
	if err != nil {
		return x, err
	}
	if x.Scale, err = ParseScale(scale); err != nil {
		return x, c.err(fScale, "%v", err)
	}
	if x.Score < x.Scale.Min || x.Score > x.Scale.Max {
		return x, c.err(fScore, "%v is outside the scale %s", x.Score, x.Scale)
	}
	return x, nil
}

func labeledFields(c check) (Labeled, error) {
	var x Labeled
	var err error
	if x.ID, err = c.text(fID); err != nil {
		return x, err
	}
	if x.Prompt, err = c.text(fPrompt); err != nil {
		return x, err
	}
	if x.Response, err = c.response(fResponse); err != nil {
		return x, err
	}
	x.Label, err = c.text(fLabel)
	return x, err
}

// LoadSuite reads a target suite from one or more files of pairwise
// examples: id, subset, prompt, chosen, rejected and, optionally, section.
// RewardBench's official layout (prompt, chosen, chosen_model, rejected,
// rejected_model, subset, id, with integer ids) loads as is, with Section
// left empty for the caller to fill from the subset.
//
// Files are read in the order of their base names, so the suite's examples
// and content hash do not depend on the order of paths. The formats are
// those of LoadFile. Ids must be unique across the suite, a subset must
// belong to one section, and each file must hold at least one example.
func LoadSuite(name string, paths []string) (*Suite, error) {
	if strings.TrimSpace(name) == "" {
		return nil, errors.New("load suite: empty suite name")
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("load suite %s: no files", name)
	}
	s := &Suite{Name: name, Paths: slices.Clone(paths)}
	slices.SortFunc(s.Paths, func(a, b string) int {
		return cmp.Or(cmp.Compare(filepath.Base(a), filepath.Base(b)), cmp.Compare(a, b))
	})
	sb := suiteBuilder{s: s, ids: make(map[string]place), subsets: make(map[string]int)}
	for _, path := range s.Paths {
		if err := sb.loadFile(path); err != nil {
			return nil, err
		}
	}
	s.ContentHash = HashSuite(s)
	return s, nil
}

type place struct {
	path string
	line int
	rows bool
}

type suiteBuilder struct {
	s       *Suite
	ids     map[string]place
	subsets map[string]int // index into s.Subsets
}

func (sb *suiteBuilder) loadFile(path string) error {
	src, closeSrc, err := openSource(path)
	if err != nil {
		return err
	}
	n := 0
	var r row
	for {
		err := src.next(&r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil {
			err = sb.add(check{path: path, rows: src.rows(), r: &r})
		}
		if err != nil {
			_ = closeSrc()
			return err
		}
		n++
	}
	if err := closeSrc(); err != nil {
		return &Error{Path: path, Msg: "close failed", Err: err}
	}
	if n == 0 {
		return &Error{Path: path, Msg: "no rows"}
	}
	return nil
}

func (sb *suiteBuilder) add(c check) error {
	var x TargetExample
	var err error
	if x.ID, err = c.text(fID); err != nil {
		return err
	}
	if x.Section, err = c.optionalText(fSection); err != nil {
		return err
	}
	if x.Subset, err = c.text(fSubset); err != nil {
		return err
	}
	if x.Prompt, err = c.text(fPrompt); err != nil {
		return err
	}
	if x.Chosen, err = c.response(fChosen); err != nil {
		return err
	}
	if x.Rejected, err = c.response(fRejected); err != nil {
		return err
	}
	if err := c.distinct(x.Chosen, x.Rejected); err != nil {
		return err
	}
	if first, dup := sb.ids[x.ID]; dup {
		at := first.path + ":" + strconv.Itoa(first.line)
		if first.path == c.path {
			at = where(first.line, first.rows)
		}
		return c.err(fID, "duplicate id %q (first at %s)", x.ID, at)
	}
	sb.ids[x.ID] = place{c.path, c.r.line, c.rows}
	if i, ok := sb.subsets[x.Subset]; ok {
		info := &sb.s.Subsets[i]
		if info.Section != x.Section {
			return c.err(fSection, "is %q, but subset %q was first seen in section %q", x.Section, x.Subset, info.Section)
		}
		info.Examples++
	} else {
		sb.subsets[x.Subset] = len(sb.s.Subsets)
		sb.s.Subsets = append(sb.s.Subsets, SubsetInfo{Name: x.Subset, Section: x.Section, Examples: 1})
	}
	sb.s.Examples = append(sb.s.Examples, x)
	return nil
}

// Collection is a data directory: the training datasets and the target
// suite.
type Collection struct {
	// Dir is the directory the collection was read from.
	Dir string
	// Datasets are sorted by name.
	Datasets []*Dataset
	// Suite is nil when the directory has no target/ folder.
	Suite *Suite
}

// Dataset returns the dataset called name.
func (c *Collection) Dataset(name string) (*Dataset, bool) {
	for _, d := range c.Datasets {
		if d.Name == name {
			return d, true
		}
	}
	return nil, false
}

// kindDirs are the folders of train/, one per schema.
var kindDirs = []struct {
	name string
	kind Kind
}{{"pairwise", Pairwise}, {"pointwise", Pointwise}, {"classification", Classification}}

// LoadDir reads a data directory laid out as
//
//	train/pairwise/*        pairwise datasets
//	train/pointwise/*       pointwise datasets
//	train/classification/*  classification datasets
//	target/*                the target suite (optional)
//
// Files are read in name order; only names ending in a data extension
// (.jsonl, .ndjson, .json, .arrow, .feather, .ipc, .arrows, .parquet, each
// optionally followed by .gz) are read, and hidden files are skipped. A
// folder of train/ other than the three kinds, or a data file directly in
// train/, is an error rather than silently skipped. Dataset names must be
// unique across kinds. The suite is named opts.SuiteName (default
// DefaultSuiteName). opts.Kind and opts.Name are not used.
func LoadDir(dir string, opts LoadOptions) (*Collection, error) {
	col := &Collection{Dir: dir}
	trainDir := filepath.Join(dir, "train")
	entries, err := os.ReadDir(trainDir)
	if err != nil {
		return nil, &Error{Path: trainDir, Msg: "cannot read the training folder", Err: err}
	}
	known := make(map[string]bool)
	for _, k := range kindDirs {
		known[k.name] = true
	}
	for _, e := range entries {
		p := filepath.Join(trainDir, e.Name())
		switch {
		case e.IsDir() && !known[e.Name()] && !strings.HasPrefix(e.Name(), "."):
			return nil, &Error{Path: p, Msg: "unknown kind folder; want pairwise, pointwise or classification"}
		case !e.IsDir() && isDataFile(e.Name()):
			return nil, &Error{Path: p, Msg: "training file outside a kind folder; move it to train/pairwise, train/pointwise or train/classification"}
		}
	}
	type job struct {
		path string
		kind Kind
	}
	var jobs []job
	for _, k := range kindDirs {
		files, err := dataFiles(filepath.Join(trainDir, k.name))
		if err != nil {
			return nil, err
		}
		for _, p := range files {
			jobs = append(jobs, job{p, k.kind})
		}
	}
	if len(jobs) == 0 {
		return nil, &Error{Path: trainDir, Msg: "no training files"}
	}
	targetDir := filepath.Join(dir, "target")
	targetFiles, err := dataFiles(targetDir)
	if err != nil {
		return nil, err
	}
	if targetFiles != nil && len(targetFiles) == 0 {
		return nil, &Error{Path: targetDir, Msg: "no target files"}
	}

	// Files load concurrently (JSON decoding dominates and files are
	// independent); results and errors are then taken in file order, so
	// the outcome does not depend on scheduling.
	datasets := make([]*Dataset, len(jobs))
	errs := make([]error, len(jobs)+1)
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			datasets[i], errs[i] = LoadFile(j.path, LoadOptions{Kind: j.kind})
		})
	}
	if targetFiles != nil {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			col.Suite, errs[len(jobs)] = LoadSuite(cmp.Or(opts.SuiteName, DefaultSuiteName), targetFiles)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	byName := make(map[string]string, len(datasets))
	for _, d := range datasets {
		if other, dup := byName[d.Name]; dup {
			return nil, &Error{Path: d.Path, Msg: fmt.Sprintf("dataset name %q is also given by %s", d.Name, other)}
		}
		byName[d.Name] = d.Path
	}
	col.Datasets = datasets
	slices.SortFunc(col.Datasets, func(a, b *Dataset) int { return cmp.Compare(a.Name, b.Name) })
	return col, nil
}

// dataFiles lists the data files of dir in name order: nil when dir does not
// exist, an empty non-nil slice when it holds none.
func dataFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &Error{Path: dir, Msg: "cannot read folder", Err: err}
	}
	files := []string{}
	for _, e := range entries {
		if !isDataFile(e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		// Stat follows symbolic links, which data folders often use.
		if info, err := os.Stat(p); err != nil {
			return nil, &Error{Path: p, Msg: "cannot stat", Err: err}
		} else if !info.Mode().IsRegular() {
			continue
		}
		files = append(files, p)
	}
	return files, nil
}
