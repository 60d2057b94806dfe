package sampler

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"
)

// DefaultMaxEpochs is the repetition above which an epoch report warns:
// RegMix's cap on how often a data source may repeat.
const DefaultMaxEpochs = 15

// WarningKind classifies an epoch report warning.
type WarningKind int

const (
	// WarnManyEpochs: the budget repeats the task more often than the
	// report's MaxEpochs.
	WarnManyEpochs WarningKind = iota + 1
	// WarnUnderOneSample: the task has a positive probability but expects
	// fewer than one example over the whole budget.
	WarnUnderOneSample
)

func (k WarningKind) String() string {
	switch k {
	case WarnManyEpochs:
		return "many-epochs"
	case WarnUnderOneSample:
		return "under-one-sample"
	}
	return fmt.Sprintf("WarningKind(%d)", int(k))
}

// Warning flags a task whose planned use is likely a mistake.
type Warning struct {
	Task string
	Kind WarningKind
	Msg  string
}

// EpochRow is one task's planned use of the budget.
type EpochRow struct {
	Task string
	// Exported is the task's name in the exported format; empty outside an
	// export and for tasks an export leaves out.
	Exported    string
	Probability float64
	Examples    int64
	// Expected is probability × budget examples.
	Expected float64
	// Samples is Expected rounded so that the samples of all tasks sum to
	// the budget (largest remainder).
	Samples int64
	// Epochs is Samples / Examples, the passes over the task's data.
	Epochs float64
}

// EpochReport is the realised-epochs table of a config for its planned
// budget, with the warnings it raises.
type EpochReport struct {
	// Format is the export format the report accompanies, or empty.
	Format    string
	Budget    Budget
	MaxEpochs float64
	Rows      []EpochRow
	Warnings  []Warning
	// Notes are format-specific remarks, e.g. tasks an export leaves out.
	Notes []string
}

// NewEpochReport computes the epoch table of cfg, warning where a task
// expects more than maxEpochs epochs (DefaultMaxEpochs when maxEpochs is 0)
// or fewer than one example. cfg must be valid.
func NewEpochReport(cfg *Config, maxEpochs float64) (*EpochReport, error) {
	if maxEpochs == 0 {
		maxEpochs = DefaultMaxEpochs
	}
	if !(maxEpochs > 0) || math.IsInf(maxEpochs, 0) {
		return nil, fmt.Errorf("epoch report: max epochs %v: must be positive and finite", maxEpochs)
	}
	mix, err := NewMixer(cfg.Probabilities())
	if err != nil {
		return nil, fmt.Errorf("epoch report: %w", err)
	}
	total := cfg.Budget.Examples()
	quota := mix.Quota(total)
	r := &EpochReport{Budget: cfg.Budget, MaxEpochs: maxEpochs, Rows: make([]EpochRow, len(cfg.Tasks))}
	for i, t := range cfg.Tasks {
		row := EpochRow{
			Task:        t.Name,
			Probability: t.Probability,
			Examples:    t.Examples,
			Expected:    t.Probability * float64(total),
			Samples:     quota[i],
			Epochs:      float64(quota[i]) / float64(t.Examples),
		}
		r.Rows[i] = row
		expectedEpochs := row.Expected / float64(t.Examples)
		switch {
		case t.Probability > 0 && row.Expected < 1:
			r.Warnings = append(r.Warnings, Warning{Task: t.Name, Kind: WarnUnderOneSample, Msg: fmt.Sprintf(
				"task %s expects %.3g examples over the %d-example budget, fewer than one: raise its weight or drop it",
				t.Name, row.Expected, total)})
		case expectedEpochs > maxEpochs:
			r.Warnings = append(r.Warnings, Warning{Task: t.Name, Kind: WarnManyEpochs, Msg: fmt.Sprintf(
				"task %s repeats %.3g epochs over the budget, more than %g: it will likely be memorised",
				t.Name, expectedEpochs, maxEpochs)})
		}
	}
	return r, nil
}

// WriteText writes the report as an aligned table followed by its notes and
// warnings.
func (r *EpochReport) WriteText(w io.Writer) error {
	return r.write(w, "")
}

// write writes the report with every line prefixed, e.g. "# " to embed it
// in a file's header comment.
func (r *EpochReport) write(w io.Writer, prefix string) error {
	title := fmt.Sprintf("%srealised epochs for %d steps × batch %d = %d examples", prefix,
		r.Budget.Steps, r.Budget.BatchSize, r.Budget.Examples())
	if r.Format != "" {
		title += " (" + r.Format + ")"
	}
	if _, err := fmt.Fprintln(w, title); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	exported := false
	for _, row := range r.Rows {
		exported = exported || row.Exported != "" && row.Exported != row.Task
	}
	head := "task\t"
	if exported {
		head += "exported as\t"
	}
	fmt.Fprintf(tw, "%s%sprobability\texamples\tsamples\tepochs\n", prefix, head)
	for _, row := range r.Rows {
		line := row.Task + "\t"
		if exported {
			line += row.Exported + "\t"
		}
		epochs := strconv.FormatFloat(row.Epochs, 'f', 3, 64)
		if row.Probability == 0 {
			epochs = "unused"
		}
		fmt.Fprintf(tw, "%s%s%.6g\t%d\t%d\t%s\n", prefix, line, row.Probability, row.Examples, row.Samples, epochs)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range r.Notes {
		if _, err := fmt.Fprintf(w, "%snote: %s\n", prefix, n); err != nil {
			return err
		}
	}
	for _, wr := range r.Warnings {
		if _, err := fmt.Fprintf(w, "%swarning: %s\n", prefix, wr.Msg); err != nil {
			return err
		}
	}
	return nil
}
