// Package report writes a self-contained HTML report of a mixopt run — run
// summary, tail-patch effects heatmap, solved weights against the prior,
// predicted gains and the validation comparison — plus the same figures as
// PNG and SVG drawn with gonum.org/v1/plot.
//
// The report reads only the tables earlier stages wrote to the run
// directory, so it can be written (and rewritten) at any point after `mixopt
// patch`: sections whose tables do not exist yet are replaced by a note
// saying which command produces them. The same tables give a byte-identical
// report.html and figures.
package report

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mixopt/mixopt/internal/atomicfile"
)

// File names in the run directory.
const (
	// HTMLFile is the report's file name.
	HTMLFile = "report.html"
	// FiguresDir is the directory, under the run directory, of the figures.
	FiguresDir = "figures"
)

// Options tunes a report. The zero value is valid.
type Options struct {
	// Title is the page title (default "mixopt report: <run id>").
	Title string
	// MaxTasks limits the rows of the effects heatmap figure (zero or
	// negative: all tasks). With weights, the tasks with the largest weights are kept,
	// otherwise those with the largest absolute delta; rows keep the effects
	// table's order. The effects table in the HTML always lists every task.
	MaxTasks int
	// Version is the mixopt version writing the report, shown in the
	// footer.
	Version string
}

// Report lists what Write wrote.
type Report struct {
	// HTML is the path of report.html.
	HTML string
	// Figures are the paths of the figure files, PNG and SVG of each figure.
	Figures []string
	// Files are all files written: the figures, then report.html.
	Files []string
	// Notes say which sections are missing or may be stale, and why; the
	// report shows the same notes.
	Notes []string
}

// Write reads the tables in the run directory dir and writes dir/report.html
// and the figures under dir/figures. effects.arrow (with
// effects_bootstrap.arrow) is required; weights.arrow, validation.arrow,
// sampler.yaml, patches.arrow and jobs.arrow are used when present. Figures
// of sections the run has no table for are removed, so that the figures
// directory never holds a stale figure next to a fresh report.
func Write(dir string, opts Options) (*Report, error) {
	r, err := load(dir)
	if err != nil {
		return nil, err
	}
	pg, figs, err := build(r, opts)
	if err != nil {
		return nil, err
	}
	var html bytes.Buffer
	if err := pageTemplate.Execute(&html, pg); err != nil {
		return nil, fmt.Errorf("report: render %s: %w", HTMLFile, err)
	}

	rep := &Report{HTML: filepath.Join(dir, HTMLFile), Notes: pg.Notes}
	figDir := filepath.Join(dir, FiguresDir)
	if err := os.MkdirAll(figDir, 0o755); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	written := map[string]bool{}
	for _, f := range figs {
		for _, out := range []struct {
			ext  string
			data []byte
		}{{".png", f.png}, {".svg", f.svg}} {
			path := filepath.Join(figDir, f.name+out.ext)
			if err := atomicfile.WriteFile(path, out.data); err != nil {
				return nil, err
			}
			rep.Figures = append(rep.Figures, path)
		}
		written[f.name] = true
	}
	for _, name := range []string{FigureEffects, FigureWeights, FigureValidation} {
		if written[name] {
			continue
		}
		for _, ext := range []string{".png", ".svg"} {
			if err := os.Remove(filepath.Join(figDir, name+ext)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("report: remove stale figure: %w", err)
			}
		}
	}
	if err := atomicfile.WriteFile(rep.HTML, html.Bytes()); err != nil {
		return nil, err
	}
	rep.Files = append(append(rep.Files, rep.Figures...), rep.HTML)
	return rep, nil
}
