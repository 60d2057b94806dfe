// Package progress shows the progress of long work: live bars on a terminal
// (one for the whole run with done/total, running, failed and ETA, and one per
// item in flight), structured log lines everywhere else.
package progress

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"
)

// Mode picks how progress is shown.
type Mode string

const (
	// Auto shows bars when stderr is a terminal, log lines otherwise.
	Auto Mode = "auto"
	// Always shows bars.
	Always Mode = "always"
	// Never shows log lines only.
	Never Mode = "never"
)

// ParseMode checks a --progress value.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case Auto, Always, Never:
		return Mode(s), nil
	case "":
		return Auto, nil
	}
	return "", fmt.Errorf("progress: %q is not one of auto, always, never", s)
}

// Tracker follows a run of items (jobs, batches), each with its own number
// of units (steps). It is safe for concurrent use.
type Tracker struct {
	log   *slog.Logger
	title string
	start time.Time

	mu      sync.Mutex
	total   int
	done    int
	failed  int
	running map[string]*item
	lastLog time.Time

	nRunning, nFailed atomic.Int64

	p       *mpb.Progress // nil without bars
	overall *mpb.Bar
}

type item struct {
	label string
	total int64
	bar   *mpb.Bar
}

// New returns a tracker titled title. With bars it draws on w (stderr);
// log lines always go to log.
func New(w io.Writer, mode Mode, log *slog.Logger, title string) *Tracker {
	t := &Tracker{log: log, title: title, start: time.Now(), running: map[string]*item{}}
	if useBars(w, mode) {
		t.p = mpb.New(mpb.WithOutput(w), mpb.WithWidth(30), mpb.WithAutoRefresh(), mpb.WithRefreshRate(120*time.Millisecond))
	}
	return t
}

func useBars(w io.Writer, mode Mode) bool {
	switch mode {
	case Always:
		return true
	case Never:
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// SetTotal sets how many items the run has (done ones included).
func (t *Tracker) SetTotal(total, alreadyDone int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total, t.done = total, alreadyDone
	if t.overall != nil {
		// A new stage (say, patches after the base): a completed mpb bar
		// cannot grow again, so the stage gets a bar of its own.
		t.overall.Abort(true)
		t.overall = nil
	}
	if t.p != nil {
		t.overall = t.p.AddBar(int64(total),
			mpb.PrependDecorators(decor.Name(t.title+" ", decor.WC{W: len(t.title) + 1}), decor.CountersNoUnit("%d/%d")),
			// The decorator runs on mpb's render goroutine, so it reads
			// atomics rather than taking t.mu (held while bars are added).
			mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
				return fmt.Sprintf(" running %d failed %d", t.nRunning.Load(), t.nFailed.Load())
			}), decor.Name("  ETA "), decor.AverageETA(decor.ET_STYLE_GO)),
		)
		t.overall.SetCurrent(int64(alreadyDone))
	}
	t.log.Info(t.title, "total", total, "done", alreadyDone)
}

// Start marks an item as running with total units.
func (t *Tracker) Start(id, label string, total int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	it := &item{label: label, total: total}
	if t.p != nil {
		it.bar = t.p.AddBar(total,
			mpb.PrependDecorators(decor.Name("  "+label, decor.WCSyncSpaceR)),
			mpb.AppendDecorators(decor.CountersNoUnit("%d/%d")),
			mpb.BarRemoveOnComplete(),
		)
	}
	t.running[id] = it
	t.nRunning.Store(int64(len(t.running)))
	t.log.Debug("started", "item", label, "units", total)
}

// Update sets how many units of a running item are done.
func (t *Tracker) Update(id string, done int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if it, ok := t.running[id]; ok && it.bar != nil {
		it.bar.SetCurrent(min(done, it.total))
	}
}

// Finish marks an item done (err nil) or failed. A failed item may be
// started again later (a retry elsewhere).
func (t *Tracker) Finish(id string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	it, ok := t.running[id]
	if !ok {
		return
	}
	delete(t.running, id)
	t.nRunning.Store(int64(len(t.running)))
	if it.bar != nil {
		if err == nil {
			it.bar.SetCurrent(it.total)
		} else {
			it.bar.Abort(true)
		}
	}
	if err != nil {
		t.failed++
		t.nFailed.Add(1)
		t.log.Warn("failed", "item", it.label, "err", err)
		return
	}
	t.done++
	if t.overall != nil {
		t.overall.SetCurrent(int64(t.done))
	}
	elapsed := time.Since(t.start)
	// Log every item when few, else at most one line a second.
	if t.p == nil && (t.total <= 50 || time.Since(t.lastLog) > time.Second || t.done == t.total) {
		t.lastLog = time.Now()
		t.log.Info("done", "item", it.label, "progress", fmt.Sprintf("%d/%d", t.done, t.total),
			"running", len(t.running), "failed", t.failed, "elapsed", elapsed.Round(time.Millisecond))
	}
}

// SetLogger replaces the logger the tracker reports to.
func (t *Tracker) SetLogger(log *slog.Logger) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.log = log
}

// Writer returns where log lines go so that they print above the bars, or
// nil when there are no bars (log to stderr directly then).
func (t *Tracker) Writer() io.Writer {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.p == nil {
		return nil
	}
	return t.p
}

// Close stops drawing. It waits for bars to finish rendering.
func (t *Tracker) Close() {
	t.mu.Lock()
	p, overall := t.p, t.overall
	t.p = nil
	for id, it := range t.running {
		if it.bar != nil {
			it.bar.Abort(true)
		}
		delete(t.running, id)
	}
	t.mu.Unlock()
	if p == nil {
		return
	}
	if overall != nil && !overall.Completed() {
		overall.Abort(false)
	}
	p.Wait()
}
