package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/mixopt/mixopt/mixture"
	"github.com/mixopt/mixopt/tailpatch"
	"github.com/mixopt/mixopt/target"
	"github.com/mixopt/mixopt/validation"
)

//go:embed report.html.tmpl
var pageSource string

// pageTemplate renders a page. html/template escapes every string from the
// tables; only the figures (SVG that gonum/plot wrote, with its text
// escaped) and the cell tints (built from numbers) are marked safe.
var pageTemplate = template.Must(template.New(HTMLFile).Parse(pageSource))

// page is what the template renders.
type page struct {
	Title, Generator string
	Summary          []item
	Deviations       []deviationView
	Notes            []string

	Effects     effectsView
	Weights     *weightsView
	WeightsNote string
	Gains       *gainsView
	GainsNote   string
	Validation  *validationView
	ValidNote   string
}

type item struct{ Key, Value string }

type deviationView struct{ Subset, Section, Category, Weight, Status string }

type figureView struct {
	SVG      template.HTML
	PNG, Src string
}

type effectsView struct {
	Categories []string
	Rows       []effectRowView
	Figure     figureView
	Level      string
	HasControl bool
	// Shown is the figure's note when MaxTasks left tasks out.
	Shown string
}

type effectRowView struct {
	Task     string
	Examples string
	Cells    []effectCellView
}

type effectCellView struct {
	Delta, CI, Control, Stability string
	Sig                           bool
	Style                         template.CSS
}

type weightsView struct {
	Settings []item
	Rows     []weightRowView
	Figure   figureView
	Level    string
	TopK     string
	// Bundles is set for flame-bundles weights, which carry bundle rates.
	Bundles bool
}

type weightRowView struct {
	Task, Weight, CI, Prior, Ratio, Rate, Epochs, TopK, Bounds, Bundle, Reason string
}

type gainsView struct {
	Source  string
	Level   string
	Rows    []gainRowView
	Skipped string
}

type gainRowView struct {
	Category, Alpha, Gain, GainCI, Prior, PriorCI, Diff, DiffCI string
	Class                                                       string
	Total                                                       bool
}

type validationView struct {
	Categories  []string
	Arms        []armView
	Comparisons []comparisonView
	Figure      figureView
	Notes       []string
}

type armView struct {
	Name, Steps, Examples, Seeds string
	Cells                        []scoreCell
}

type scoreCell struct{ Score, CI string }

type comparisonView struct {
	Comparison, Category, Diff, CI, Verdict, Class string
}

// build turns a loaded run into the page and its figures.
func build(r *run, opts Options) (*page, []figure, error) {
	m := r.meta
	pg := &page{Title: opts.Title, Generator: "mixopt"}
	if pg.Title == "" {
		pg.Title = "mixopt report"
		if m.RunID != "" {
			pg.Title += ": " + m.RunID
		}
	}
	if opts.Version != "" {
		pg.Generator += " " + opts.Version
	}
	pg.Summary = summary(r)
	for _, d := range m.Deviations {
		st := d.Reason
		switch d.Reason {
		case target.ReasonUnknown:
			st = "substituted: in the suite, not in the definition (weighted by its rows)"
		case target.ReasonMissing:
			st = "missing: in the definition, not in the suite"
		}
		pg.Deviations = append(pg.Deviations, deviationView{d.Name, d.Section, d.Category, num(d.Weight), st})
	}

	level := 0.95
	if m.Config != nil && m.Config.Effects.Level > 0 && m.Config.Effects.Level < 1 {
		level = m.Config.Effects.Level
	}
	var figs []figure
	ev, fig, err := effectsSection(r, opts, level)
	if err != nil {
		return nil, nil, err
	}
	pg.Effects = ev
	figs = append(figs, fig)

	if r.weights == nil {
		pg.WeightsNote = fmt.Sprintf("No %s in the run directory yet: run `mixopt solve` (or `mixopt plan`) to solve for mixture weights.", mixture.TableName+".arrow")
		pg.GainsNote = "Predicted gains need the weights table."
		pg.Notes = append(pg.Notes, "weights: "+pg.WeightsNote)
	} else {
		wv, fig, err := weightsSection(r)
		if err != nil {
			return nil, nil, err
		}
		pg.Weights = wv
		figs = append(figs, fig)
		if m.RunID != "" && r.weights.runID != "" && r.weights.runID != m.RunID {
			pg.Notes = append(pg.Notes, fmt.Sprintf("weights: %s belongs to run %s, the effects to run %s; rerun `mixopt solve`.", filepath.Base(r.weights.path), r.weights.runID, m.RunID))
		}
		g, why := predictGains(r.effects, r.weights, level)
		if g == nil {
			pg.GainsNote = why
			pg.Notes = append(pg.Notes, "predicted gains: "+why)
		} else {
			pg.Gains = gainsSection(g, r.weights)
		}
	}

	if r.validation == nil {
		pg.ValidNote = fmt.Sprintf("No %s in the run directory yet: run `mixopt validate` (or `mixopt plan` with stages.validate) to train the proportional, uniform and optimised mixtures and compare them on the test split.", filepath.Base(validation.Path("")))
		pg.Notes = append(pg.Notes, "validation: "+pg.ValidNote)
	} else {
		vv, fig, err := validationSection(r)
		if err != nil {
			return nil, nil, err
		}
		pg.Validation = vv
		figs = append(figs, fig)
		for _, n := range vv.Notes {
			pg.Notes = append(pg.Notes, "validation: "+n)
		}
	}
	return pg, figs, nil
}

// summary lists the run's provenance and counts.
func summary(r *run) []item {
	m := r.meta
	var out []item
	add := func(k, v string) {
		if v != "" {
			out = append(out, item{k, v})
		}
	}
	add("Run", m.RunID)
	tgt := m.Target
	if m.Suite != "" && m.Suite != m.Target {
		tgt += " (suite " + m.Suite + ")"
	}
	if m.SuiteHash != "" {
		tgt += ", suite hash " + m.SuiteHash
	}
	add("Target", tgt)
	if tr := m.Trainer; tr != nil {
		model := strings.TrimSpace(tr.Model + " " + tr.ModelVersion)
		if tr.APIVersion != "" {
			model += " (" + tr.APIVersion + ")"
		}
		add("Trainer model", model)
		if len(tr.Parameters) > 0 {
			ps := make([]string, len(tr.Parameters))
			for i, p := range tr.Parameters {
				ps[i] = p[0] + "=" + p[1]
			}
			add("Model parameters", strings.Join(ps, ", "))
		}
		add("Trainer endpoints", strings.Join(tr.Endpoints, ", "))
	}
	add("Base checkpoint", m.BaseCheckpoint)
	if c := m.Config; c != nil {
		if c.Base.Checkpoint != "" {
			add("Base recipe", "given checkpoint "+c.Base.Checkpoint)
		} else {
			add("Base recipe", fmt.Sprintf("%s, seed %d, examples-proportional mixture capped at %d examples per task",
				recipe(c.Base.Recipe), c.Base.Seed, c.Base.Cap))
		}
		seeds := make([]string, len(c.Seeds))
		for i, s := range c.Seeds {
			seeds[i] = strconv.FormatUint(s, 10)
		}
		p := fmt.Sprintf("%s; seeds %s", recipe(c.Patch), strings.Join(seeds, ", "))
		if c.EvalEvery > 0 {
			p += fmt.Sprintf("; evaluated every %d steps", c.EvalEvery)
		}
		if c.NoControls {
			p += "; no control patches"
		} else {
			p += "; with control patches (base mixture, same recipe)"
		}
		add("Tail-patch recipe", p)
		e := c.Effects
		if e.Level <= 0 || e.Level >= 1 {
			e.Level = 0.95 // tailpatch.EffectOptions' default
		}
		add("Effect statistics", fmt.Sprintf("paired bootstrap, %d replicates (seed %d), %s intervals; stability over the last %d evaluations",
			e.Replicates, e.Seed, levelText(e.Level), e.StabilityWindow))
	}
	if s := m.Split; s != nil {
		add("Target split", fmt.Sprintf("dev %d / test %d examples (dev fraction %g, salt %s); effects on dev, validation on test",
			s.DevExamples, s.TestExamples, s.DevFraction, s.Salt))
	}
	add("Tasks × categories", fmt.Sprintf("%d × %d", len(r.effects.Tasks), len(r.effects.Categories)))
	if r.jobKinds != nil {
		add("Jobs by kind (patches.arrow)", counts(r.jobKinds))
	}
	if r.jobStates != nil {
		add("Jobs by state (jobs.arrow)", counts(r.jobStates))
	}
	if sc := r.sampler; sc != nil {
		add("Sampler config", fmt.Sprintf("%s: %d tasks, %d steps × batch %d = %d examples, seed %d, fingerprint %s",
			samplerFile, len(sc.Tasks), sc.Budget.Steps, sc.Budget.BatchSize, sc.Budget.Examples(), sc.Seed, sc.Fingerprint()))
	}
	add("Tables written by", strings.TrimSpace("mixopt "+m.Version))
	return out
}

func recipe(r tailpatch.Recipe) string {
	return fmt.Sprintf("%d steps × batch %d, learning rate %g", r.Steps, r.BatchSize, r.LearningRate)
}

func counts(cs []count) string {
	if len(cs) == 0 {
		return "0"
	}
	parts := make([]string, len(cs))
	total := 0
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%d %s", c.N, c.Label)
		total += c.N
	}
	return fmt.Sprintf("%d (%s)", total, strings.Join(parts, ", "))
}

// heatmapCategories are the categories the effects heatmap and table show:
// the tail-patch categories and Overall, in the table's order.
func heatmapCategories(cats []target.Category) []int {
	var out []int
	for i, c := range cats {
		if c.TailPatch || c.Name == "Overall" {
			out = append(out, i)
		}
	}
	if len(out) == 0 {
		for i := range cats {
			out = append(out, i)
		}
	}
	return out
}

func effectsSection(r *run, opts Options, level float64) (effectsView, figure, error) {
	eff := r.effects
	cols := heatmapCategories(eff.Categories)
	ev := effectsView{Level: levelText(level), HasControl: len(eff.ControlReplicates) > 0}
	for _, c := range cols {
		ev.Categories = append(ev.Categories, eff.Categories[c].Name)
	}
	// Colour scale: symmetric around zero, up to the 95th percentile of
	// |delta| rounded up, so that one or two outliers do not wash out every
	// other cell; larger deltas take the end colours.
	var abs []float64
	for t := range eff.Tasks {
		for _, c := range cols {
			if d := 100 * eff.Row(t, c).Delta; !math.IsNaN(d) {
				abs = append(abs, math.Abs(d))
			}
		}
	}
	slices.Sort(abs)
	top := 0.0
	if len(abs) > 0 {
		top = abs[int(math.Ceil(0.95*float64(len(abs))))-1]
	}
	scale := newDiverging(niceCeil(top))

	for t, task := range eff.Tasks {
		row := effectRowView{Task: task, Examples: strconv.FormatInt(eff.Examples[task], 10)}
		for _, c := range cols {
			e := eff.Row(t, c)
			col := scale.at(100 * e.Delta)
			fg := "#000"
			if dark(col) {
				fg = "#fff"
			}
			cr, cg, cb, _ := col.RGBA()
			cell := effectCellView{
				Delta: points(e.Delta), CI: interval(e.Low, e.High, points), Sig: excludesZero(e.Low, e.High),
				Control: points(e.DeltaVsControl), Stability: fixed(e.Stability, 2),
				Style: template.CSS(fmt.Sprintf("background:#%02x%02x%02x;color:%s", cr>>8, cg>>8, cb>>8, fg)),
			}
			if !math.IsNaN(e.DeltaVsControl) {
				cell.Control += " " + interval(e.ControlLow, e.ControlHigh, points)
			}
			row.Cells = append(row.Cells, cell)
		}
		ev.Rows = append(ev.Rows, row)
	}

	shown := heatmapTasks(r, cols, opts.MaxTasks)
	if len(shown) < len(eff.Tasks) {
		by := "largest absolute delta"
		if r.weights != nil {
			by = "largest solved weight"
		}
		ev.Shown = fmt.Sprintf("The figure shows %d of %d tasks (those with the %s); the table lists all.", len(shown), len(eff.Tasks), by)
	}
	in := heatmapInput{scale: scale, level: level, title: "Tail-patch effects on the dev split (points)"}
	in.categories = ev.Categories
	for _, t := range shown {
		in.tasks = append(in.tasks, eff.Tasks[t])
		d := make([]float64, len(cols))
		s := make([]bool, len(cols))
		for k, c := range cols {
			e := eff.Row(t, c)
			d[k] = 100 * e.Delta
			s[k] = excludesZero(e.Low, e.High)
		}
		in.delta = append(in.delta, d)
		in.sig = append(in.sig, s)
	}
	fig, err := effectsHeatmap(in)
	if err != nil {
		return ev, fig, err
	}
	ev.Figure = figView(fig)
	return ev, fig, nil
}

// heatmapTasks returns the indices of the tasks the heatmap shows, in table
// order (see Options.MaxTasks).
func heatmapTasks(r *run, cols []int, max int) []int {
	eff := r.effects
	idx := make([]int, len(eff.Tasks))
	for i := range idx {
		idx[i] = i
	}
	if max <= 0 || max >= len(idx) {
		return idx
	}
	key := make([]float64, len(idx))
	weight := map[string]float64{}
	if r.weights != nil {
		for _, w := range r.weights.rows {
			weight[w.Task] = w.Weight
		}
	}
	for t, task := range eff.Tasks {
		if r.weights != nil {
			key[t] = weight[task]
			continue
		}
		for _, c := range cols {
			if d := math.Abs(eff.Row(t, c).Delta); d > key[t] {
				key[t] = d
			}
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmpDesc(key[a], key[b]) })
	idx = idx[:max]
	slices.Sort(idx)
	return idx
}

func cmpDesc(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

func weightsSection(r *run) (*weightsView, figure, error) {
	wt := r.weights
	st := wt.settings
	blevel := st.BootstrapLevel
	if blevel <= 0 || blevel >= 1 {
		blevel = 0.95
	}
	wv := &weightsView{Level: levelText(blevel), TopK: "top-k"}
	if st.TopK > 0 {
		wv.TopK = fmt.Sprintf("top-%d", st.TopK)
	}
	add := func(k, v string) {
		if v != "" {
			wv.Settings = append(wv.Settings, item{k, v})
		}
	}
	obj := wt.objective
	if st.Lambda > 0 {
		obj += fmt.Sprintf(" (λ = %g)", st.Lambda)
	}
	add("Objective", obj)
	add("Estimate", st.Estimate)
	add("Reference", st.Reference)
	if len(st.CategoryWeights) > 0 {
		var parts []string
		for _, c := range r.effects.Categories {
			if a, ok := st.CategoryWeights[c.Name]; ok && a != 0 {
				parts = append(parts, fmt.Sprintf("%s %g", c.Name, a))
			}
		}
		add("Category weights α", strings.Join(parts, ", "))
	}
	add("Constraints", constraintsText(st.Constraints))
	if st.Budget.Examples() > 0 {
		add("Planned run", fmt.Sprintf("%d steps × batch %d = %d examples", st.Budget.Steps, st.Budget.BatchSize, st.Budget.Examples()))
	}
	if st.PriorCap > 0 {
		add("Prior", fmt.Sprintf("examples-proportional, capped at %d examples per task", st.PriorCap))
	}
	w := make([]float64, len(wt.rows))
	p := make([]float64, len(wt.rows))
	for i, row := range wt.rows {
		w[i], p[i] = row.Weight, row.Prior
	}
	add("Effective tasks", fmt.Sprintf("%.1f (prior %.1f), exp of the entropy of the weights", mixture.EffectiveTasks(w), mixture.EffectiveTasks(p)))

	order := make([]int, len(wt.rows))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := cmpDesc(wt.rows[a].Weight, wt.rows[b].Weight); c != 0 {
			return c
		}
		return strings.Compare(wt.rows[a].Task, wt.rows[b].Task)
	})
	in := weightsInput{level: blevel, title: fmt.Sprintf("Solved mixture weights (%s) vs prior", wt.objective)}
	for _, i := range order {
		row := wt.rows[i]
		ratio := "n/a"
		if row.Prior > 0 {
			ratio = fmt.Sprintf("%.2f×", row.Weight/row.Prior)
		}
		wv.Rows = append(wv.Rows, weightRowView{
			Task: row.Task, Weight: percent(row.Weight, 2), CI: interval(row.Low, row.High, func(v float64) string { return percent(v, 2) }),
			Prior: percent(row.Prior, 2), Ratio: ratio, Rate: fixed(row.Rate, 0), Epochs: fixed(row.Epochs, 2),
			TopK: fixed(row.InTopK, 2), Bounds: "[" + percent(row.Lower, 2) + ", " + percent(row.Upper, 2) + "]",
			Bundle: fixed(row.BundleRate, 0), Reason: row.Reason,
		})
		wv.Bundles = wv.Bundles || !math.IsNaN(row.BundleRate)
		in.tasks = append(in.tasks, row.Task)
		in.weight = append(in.weight, 100*row.Weight)
		in.low = append(in.low, 100*row.Low)
		in.high = append(in.high, 100*row.High)
		in.prior = append(in.prior, 100*row.Prior)
	}
	fig, err := weightsFigure(in)
	if err != nil {
		return nil, fig, err
	}
	wv.Figure = figView(fig)
	return wv, fig, nil
}

// constraintsText renders the constraints JSON object as "key value" pairs
// in key order.
func constraintsText(c map[string]any) string {
	if len(c) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " " + jsonText(c[k])
	}
	return strings.Join(parts, "; ")
}

func gainsSection(g *gains, wt *weightsTable) *gainsView {
	ref := "the unpatched base checkpoint"
	if g.Reference == "control" {
		ref = "the control patch"
	}
	src := fmt.Sprintf("Recomputed by this report from effects × weights (the weights table does not store the solver's predictions): "+
		"gain_k = Σ_d w_d·Δ[d][k] with each task's mean delta against %s, for the solved weights and for the prior. "+
		"Intervals apply the same weights to each of the %d bootstrap replicates of the effects, so they show the effects' noise with the weights held fixed.",
		ref, g.Replicates)
	if wt.settings.Reference == "control" && g.Reference != "control" {
		src += " The solver measured effects against the control patch, but the effects table has no control replicates, so these predictions use the deltas against the base."
	}
	if wt.settings.Estimate == "lower" {
		src += " The solver optimised the lower confidence bounds; these predictions use the means."
	}
	gv := &gainsView{Source: src, Level: levelText(g.Level), Skipped: strings.Join(g.Skipped, ", ")}
	view := func(r gainRow, total bool) gainRowView {
		v := gainRowView{
			Category: r.Category, Alpha: fixed(r.Alpha, 3),
			Gain: points(r.Gain), GainCI: interval(r.GainLow, r.GainHigh, points),
			Prior: points(r.Prior), PriorCI: interval(r.PriorLow, r.PriorHigh, points),
			Diff: points(r.Diff), DiffCI: interval(r.DiffLow, r.DiffHigh, points), Total: total,
		}
		switch {
		case r.DiffLow > 0:
			v.Class = "better"
		case r.DiffHigh < 0:
			v.Class = "worse"
		}
		return v
	}
	for _, r := range g.Rows {
		gv.Rows = append(gv.Rows, view(r, false))
	}
	if g.Total != nil {
		gv.Rows = append(gv.Rows, view(*g.Total, true))
	}
	return gv
}

func validationSection(r *run) (*validationView, figure, error) {
	vt := r.validation
	vv := &validationView{}
	if r.meta.RunID != "" && vt.runID != "" && vt.runID != r.meta.RunID {
		vv.Notes = append(vv.Notes, fmt.Sprintf("%s belongs to run %s, the effects to run %s; rerun `mixopt validate`.", filepath.Base(vt.path), vt.runID, r.meta.RunID))
	}
	if r.sampler != nil && vt.samplerFingerprint != "" && vt.samplerFingerprint != r.sampler.Fingerprint() {
		vv.Notes = append(vv.Notes, fmt.Sprintf("%s validated the sampler config with fingerprint %s, but %s now has %s: the weights changed since; rerun `mixopt validate`.",
			filepath.Base(vt.path), vt.samplerFingerprint, samplerFile, r.sampler.Fingerprint()))
	}
	// Arms and categories in first-seen order.
	var arms, cats []string
	type key struct{ arm, cat string }
	score := map[key]validation.ArmScore{}
	for _, s := range vt.scores {
		if !slices.Contains(arms, s.Arm) {
			arms = append(arms, s.Arm)
		}
		if !slices.Contains(cats, s.Category) {
			cats = append(cats, s.Category)
		}
		score[key{s.Arm, s.Category}] = s
	}
	vv.Categories = cats
	for _, a := range arms {
		av := armView{Name: a}
		for _, c := range cats {
			s, ok := score[key{a, c}]
			if !ok {
				av.Cells = append(av.Cells, scoreCell{"n/a", ""})
				continue
			}
			if av.Steps == "" {
				av.Steps, av.Examples, av.Seeds = strconv.FormatInt(s.Steps, 10), strconv.FormatInt(s.Examples, 10), strconv.Itoa(s.Seeds)
			}
			av.Cells = append(av.Cells, scoreCell{percent(s.Score, 1), interval(s.Low, s.High, func(v float64) string { return percent(v, 1) })})
		}
		vv.Arms = append(vv.Arms, av)
	}
	for _, c := range vt.comparisons {
		cv := comparisonView{
			Comparison: c.Arm + " vs " + c.Baseline, Category: c.Category,
			Diff: points(c.Diff), CI: interval(c.Low, c.High, points), Verdict: c.Verdict,
		}
		switch c.Verdict {
		case "better":
			cv.Class = "better"
		case "worse":
			cv.Class = "worse"
		}
		vv.Comparisons = append(vv.Comparisons, cv)
	}

	// The figure shows the sections and Overall (the effects table's
	// categories say which are sections); categories it does not know are
	// kept.
	known := map[string]target.Category{}
	for _, c := range r.effects.Categories {
		known[c.Name] = c
	}
	in := validationInput{arms: arms, title: "Validation: test-split scores by arm"}
	for _, c := range cats {
		if k, ok := known[c]; ok && !k.Section && c != "Overall" {
			continue
		}
		in.categories = append(in.categories, c)
	}
	for _, a := range arms {
		var sc, lo, hi []float64
		for _, c := range in.categories {
			s, ok := score[key{a, c}]
			if !ok {
				s = validation.ArmScore{Score: math.NaN(), Low: math.NaN(), High: math.NaN()}
			}
			sc, lo, hi = append(sc, 100*s.Score), append(lo, 100*s.Low), append(hi, 100*s.High)
		}
		in.score, in.low, in.high = append(in.score, sc), append(in.low, lo), append(in.high, hi)
	}
	fig, err := validationFigure(in)
	if err != nil {
		return nil, fig, err
	}
	vv.Figure = figView(fig)
	return vv, fig, nil
}

func figView(f figure) figureView {
	return figureView{
		// The SVG is gonum/plot's output: its text went through
		// html.EscapeString, and inlineSVG drops only the prolog and the
		// namespace attributes.
		SVG: template.HTML(inlineSVG(f.svg)),
		PNG: FiguresDir + "/" + f.name + ".png",
		Src: FiguresDir + "/" + f.name + ".svg",
	}
}

func excludesZero(lo, hi float64) bool { return lo > 0 || hi < 0 }

// points formats a score difference (0–1 scale) as signed points.
func points(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%+.1f", 100*v)
}

// percent formats a share (0–1) as a percentage with the given decimals.
func percent(v float64, dec int) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return strconv.FormatFloat(100*v, 'f', dec, 64)
}

func fixed(v float64, dec int) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return strconv.FormatFloat(v, 'f', dec, 64)
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func interval(lo, hi float64, f func(float64) string) string {
	if math.IsNaN(lo) || math.IsNaN(hi) {
		return ""
	}
	return "[" + f(lo) + ", " + f(hi) + "]"
}

// jsonText formats a decoded JSON value compactly and deterministically.
func jsonText(v any) string {
	switch x := v.(type) {
	case float64:
		return num(x)
	case string:
		return x
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = jsonText(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		return "{" + constraintsText(x) + "}"
	}
	return fmt.Sprint(v)
}
