package sampler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// ExportOptions tunes Export. The zero value uses the defaults.
type ExportOptions struct {
	// MaxEpochs is the repetition above which the epoch report warns; zero
	// means DefaultMaxEpochs.
	MaxEpochs float64
	// PathTemplate locates each task's training data in the trainer's own
	// layout, for formats that name data (Format.PathTemplate). Placeholders:
	// {name} the task's name made safe for that format, {task} the task name
	// as is, {dataset} its dataset, {source} the dataset file of the config.
	// Empty means the format's default.
	PathTemplate string
	// Name names the mixture in formats that register one (seqio); empty
	// means "mixopt_" plus the run id, or "mixopt_mixture".
	Name string
}

// Format is one export format.
type Format struct {
	// Name selects the format in Export.
	Name string
	// Ext is the extension of the exported file, with the dot.
	Ext string
	// Semantics says what the weights mean to that trainer and how the
	// export accounts for it. Files that allow comments carry it in their
	// header.
	Semantics string
	// PathTemplate is the default location of a task's data (see
	// ExportOptions.PathTemplate); empty when the format names no data.
	PathTemplate string

	// exportName maps a task name into the trainer's namespace.
	exportName func(task string) string
	write      func(e *exporter) error
}

// Formats returns the export formats, sorted by name.
func Formats() []Format {
	return slices.Clone(formats)
}

func lookupFormat(name string) (*Format, error) {
	for i := range formats {
		if formats[i].Name == name {
			return &formats[i], nil
		}
	}
	names := make([]string, len(formats))
	for i, f := range formats {
		names[i] = f.Name
	}
	return nil, fmt.Errorf("unknown export format %q: want one of %s", name, strings.Join(names, ", "))
}

// Export writes cfg in the named format (see Formats) to w: a file a user can
// hand to that trainer unchanged. It returns the realised-epochs report for
// the planned budget, also embedded in the file's header where comments are
// allowed. Tasks of probability zero are left out of every format and named
// in a note. Nothing is written on error.
func Export(w io.Writer, cfg *Config, format string, opts ExportOptions) (*EpochReport, error) {
	f, err := lookupFormat(format)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("export %s: %w", format, err)
	}
	report, err := NewEpochReport(cfg, opts.MaxEpochs)
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", format, err)
	}
	report.Format = f.Name
	e := &exporter{cfg: cfg, format: f, opts: opts, report: report}
	if err := e.prepare(); err != nil {
		return nil, fmt.Errorf("export %s: %w", format, err)
	}
	if err := f.write(e); err != nil {
		return nil, fmt.Errorf("export %s: %w", format, err)
	}
	if _, err := w.Write(e.buf.Bytes()); err != nil {
		return nil, fmt.Errorf("export %s: %w", format, err)
	}
	return report, nil
}

type exporter struct {
	cfg    *Config
	format *Format
	opts   ExportOptions
	report *EpochReport
	buf    bytes.Buffer
	tasks  []exportTask // tasks of positive probability, in config order
}

type exportTask struct {
	Task
	name    string // in the trainer's namespace
	path    string // expanded path template; empty when unused
	samples int64  // planned samples over the budget
}

// prepare maps the names and paths of the tasks of positive probability and
// checks that they stay distinct.
func (e *exporter) prepare() error {
	tmpl := e.opts.PathTemplate
	if tmpl == "" {
		tmpl = e.format.PathTemplate
	}
	byName := map[string]string{}
	byPath := map[string]string{}
	var unused []string
	for i, t := range e.cfg.Tasks {
		if t.Probability == 0 {
			unused = append(unused, t.Name)
			continue
		}
		x := exportTask{Task: t, name: e.format.exportName(t.Name), samples: e.report.Rows[i].Samples}
		if other, dup := byName[x.name]; dup {
			return fmt.Errorf("tasks %q and %q both map to the name %q", other, t.Name, x.name)
		}
		byName[x.name] = t.Name
		e.report.Rows[i].Exported = x.name
		if e.format.PathTemplate != "" {
			p, err := expandPath(tmpl, x.name, t)
			if err != nil {
				return err
			}
			if other, dup := byPath[p]; dup {
				return fmt.Errorf("tasks %q and %q both map to the path %q: the path template must tell tasks apart, e.g. with {name}", other, t.Name, p)
			}
			byPath[p] = t.Name
			x.path = p
		}
		e.tasks = append(e.tasks, x)
	}
	if len(unused) > 0 {
		e.report.Notes = append(e.report.Notes, fmt.Sprintf("left out, probability 0: %s", strings.Join(unused, ", ")))
	}
	return nil
}

// expandPath fills a path template's placeholders for one task.
func expandPath(tmpl, name string, t Task) (string, error) {
	var b strings.Builder
	for rest := tmpl; rest != ""; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("path template %q: unclosed '{'", tmpl)
		}
		switch key := rest[i+1 : i+j]; key {
		case "name":
			b.WriteString(name)
		case "task":
			b.WriteString(t.Name)
		case "dataset":
			b.WriteString(t.Dataset)
		case "source":
			b.WriteString(t.Source)
		default:
			return "", fmt.Errorf("path template %q: unknown placeholder {%s}: want {name}, {task}, {dataset} or {source}", tmpl, key)
		}
		rest = rest[i+j+1:]
	}
	if b.Len() == 0 {
		return "", fmt.Errorf("path template %q: empty path", tmpl)
	}
	return b.String(), nil
}

func (e *exporter) printf(format string, args ...any) {
	fmt.Fprintf(&e.buf, format, args...)
}

// header writes the comment block every commented format starts with: what
// the file is, where it came from, what its weights mean, and the epoch
// table.
func (e *exporter) header(prefix, trainer string) {
	c := e.cfg
	e.printf("%smixopt sampler config exported for %s (format %q).\n", prefix, trainer, e.format.Name)
	var from []string
	if v := c.Provenance.MixoptVersion; v != "" {
		from = append(from, "mixopt "+v)
	}
	if v := c.Provenance.RunID; v != "" {
		from = append(from, "run "+v)
	}
	if v := c.Provenance.Objective; v != "" {
		from = append(from, "objective "+v)
	}
	if v := c.Provenance.Solver; v != "" {
		from = append(from, "solver "+v)
	}
	if len(from) > 0 {
		e.printf("%sFrom %s.\n", prefix, strings.Join(from, ", "))
	}
	e.printf("%sConfig %s.\n%s\n", prefix, c.Fingerprint(), strings.TrimRight(prefix, " "))
	for _, line := range wrap(e.format.Semantics, 76-len(prefix)) {
		e.printf("%s%s\n", prefix, line)
	}
	e.printf("%s\n", strings.TrimRight(prefix, " "))
	e.printf("%sSeed %d.\n", prefix, c.Seed)
	_ = e.report.write(&e.buf, prefix)
	e.printf("\n")
}

// wrap splits text into lines of at most width bytes at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// pyString returns s as a Python (and JSON) string literal.
func pyString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// shellQuote returns s quoted for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// seqioName maps a task name into seqio's task namespace, which allows only
// letters, digits, '_', '.' and ':': '/' becomes ':' and anything else '_'.
func seqioName(task string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '/':
			return ':'
		case r == '_' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, task)
}

// fileName maps a task name to one path component: "/" becomes "__".
func fileName(task string) string {
	return strings.ReplaceAll(task, "/", "__")
}

// olmixName maps a task name to an olmix domain, whose hierarchy separator
// is ':'.
func olmixName(task string) string {
	return strings.ReplaceAll(task, "/", ":")
}

// hfPasses is how many shuffled passes over a task the HF export provides:
// enough for its planned share of the budget plus six standard deviations
// of the binomial count of random interleaving.
func hfPasses(p float64, budget, examples int64) int64 {
	mean := p * float64(budget)
	need := mean + 6*math.Sqrt(mean) + 1
	return max(1, int64(math.Ceil(need/float64(examples))))
}

// openInstructFraction returns the fraction open-instruct must read to take
// exactly samples of examples: a decimal with a '.', which open-instruct
// reads as a fraction and turns into int(fraction × examples) samples.
func openInstructFraction(samples, examples int64) string {
	f := float64(samples) / float64(examples)
	for int64(f*float64(examples)) < samples {
		f = math.Nextafter(f, math.Inf(1))
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}
