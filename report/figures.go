package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figure names: each figure is written as figures/<name>.png and
// figures/<name>.svg.
const (
	// FigureEffects is the effects heatmap: one row per task, one column per
	// tail-patch category plus Overall, coloured by the tail-patch delta in
	// points on a diverging red (hurts) – white – blue (helps) scale that is
	// symmetric around zero. Each cell prints the delta; a bold value with an
	// asterisk marks a cell whose bootstrap interval excludes zero. A colour
	// bar below gives the scale.
	FigureEffects = "effects_heatmap"
	// FigureWeights compares, per task, the solved mixture weight (blue bar,
	// with its bootstrap interval as a whisker) with the examples-proportional
	// prior (grey bar), tasks sorted by weight, largest at the top.
	FigureWeights = "weights"
	// FigureValidation shows each validation arm's test-split score per
	// section and Overall, arms side by side within a category, with the
	// bootstrap interval as an error bar.
	FigureValidation = "validation"
)

// pngDPI is the resolution of the PNG figures: sharp on high-density screens
// and in slides (a 28-task heatmap is about 250 KB).
const pngDPI = 144

// Colours: Okabe–Ito, distinguishable with the common colour-vision
// deficiencies.
var (
	colWeight = color.RGBA{0x00, 0x72, 0xB2, 0xFF}
	colPrior  = color.RGBA{0xB0, 0xB0, 0xB0, 0xFF}
	colNaN    = color.RGBA{0xE8, 0xE8, 0xE8, 0xFF}
	armColors = []color.RGBA{
		{0x99, 0x99, 0x99, 0xFF}, // grey
		{0xE6, 0x9F, 0x00, 0xFF}, // orange
		{0x00, 0x72, 0xB2, 0xFF}, // blue
		{0x56, 0xB4, 0xE9, 0xFF}, // sky blue
		{0x00, 0x9E, 0x73, 0xFF}, // green
		{0xCC, 0x79, 0xA7, 0xFF}, // purple
		{0xD5, 0x5E, 0x00, 0xFF}, // vermillion
	}
	armGlyphs = []draw.GlyphDrawer{
		draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.PyramidGlyph{},
		draw.RingGlyph{}, draw.BoxGlyph{}, draw.CrossGlyph{},
	}
)

// figure is one rendered figure.
type figure struct {
	name     string
	svg, png []byte
}

// render draws a figure of the given size with fn, once on an SVG canvas
// and once on a PNG canvas. gonum/plot reports some invalid input by
// panicking; render turns such a panic into an error naming the figure.
func render(name string, w, h vg.Length, fn func(dc draw.Canvas)) (fig figure, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("report: figure %s: %v", name, r)
		}
	}()
	fig.name = name

	sc := vgsvg.New(w, h)
	fn(whiteCanvas(sc))
	var sb bytes.Buffer
	if _, err := sc.WriteTo(&sb); err != nil {
		return fig, fmt.Errorf("report: figure %s: svg: %w", name, err)
	}
	fig.svg = fontFallback(sb.Bytes())

	ic := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(pngDPI))
	fn(whiteCanvas(ic))
	var pb bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: ic}).WriteTo(&pb); err != nil {
		return fig, fmt.Errorf("report: figure %s: png: %w", name, err)
	}
	fig.png = pb.Bytes()
	return fig, nil
}

// whiteCanvas paints the whole canvas white, so that the margins between
// sub-plots are not transparent in the SVG, and returns it less a small
// margin, which gonum/plot does not leave around tick labels.
func whiteCanvas(c vg.CanvasSizer) draw.Canvas {
	dc := draw.New(c)
	dc.FillPolygon(color.White, []vg.Point{
		dc.Min, {X: dc.Max.X, Y: dc.Min.Y}, dc.Max, {X: dc.Min.X, Y: dc.Max.Y},
	})
	m := vg.Points(6)
	return draw.Crop(dc, m, -m, m, -m)
}

// fontFallback lets SVG viewers without the Liberation fonts use a
// metric-compatible substitute: gonum/plot lays text out with Liberation Sans
// metrics but, without embedding the font (hundreds of kilobytes per
// figure), names only that family.
func fontFallback(svg []byte) []byte {
	return bytes.ReplaceAll(svg, []byte("font-family:Liberation Sans;"),
		[]byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;"))
}

// inlineSVG returns the figure's SVG for embedding in HTML: without the XML
// prolog and the namespace declarations, which the HTML parser supplies
// itself (and which would read as external references).
func inlineSVG(svg []byte) string {
	s := string(svg)
	if i := strings.Index(s, "<svg"); i >= 0 {
		s = s[i:]
	}
	s = strings.Replace(s, ` xmlns="http://www.w3.org/2000/svg"`, "", 1)
	s = strings.Replace(s, "\n\txmlns=\"http://www.w3.org/2000/svg\"", "", 1)
	s = strings.Replace(s, "\n\txmlns:xlink=\"http://www.w3.org/1999/xlink\"", "", 1)
	s = strings.Replace(s, ` xmlns:xlink="http://www.w3.org/1999/xlink"`, "", 1)
	return s
}

// sans returns the Liberation Sans font at size points.
func sans(size float64, bold bool) font.Font {
	f := font.Font{Typeface: "Liberation", Variant: "Sans", Size: vg.Points(size)}
	if bold {
		f.Weight = xfont.WeightBold
	}
	return f
}

// ticks are gonum's default ticks with plain labels ("25" rather than
// "25.00").
type ticks struct{}

func (ticks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			// float32 drops the binary noise of tick arithmetic (0.30000000000000004).
			ts[i].Label = strconv.FormatFloat(float64(float32(ts[i].Value)), 'f', -1, 32)
		}
	}
	return ts
}

// newPlot returns a plot with sans-serif text and plain tick labels.
func newPlot(title string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = sans(12, true)
	p.Title.Padding = vg.Points(8)
	p.X.Label.TextStyle.Font = sans(10, false)
	p.Y.Label.TextStyle.Font = sans(10, false)
	p.X.Tick.Label.Font = sans(9, false)
	p.Y.Tick.Label.Font = sans(9, false)
	p.Legend.TextStyle.Font = sans(9, false)
	p.X.Tick.Marker = ticks{}
	p.Y.Tick.Marker = ticks{}
	return p
}

func newLegend() plot.Legend {
	l := plot.NewLegend()
	l.TextStyle.Font = sans(9, false)
	return l
}

// diverging maps a delta in points onto the heatmap's colour scale:
// symmetric around zero, red for harm, blue for help. The HTML table tints
// its cells with the same colours.
type diverging struct {
	pal      []color.Color
	min, max float64
}

func newDiverging(scale float64) diverging {
	cm := moreland.SmoothBlueRed()
	cm.SetMin(-scale)
	cm.SetMax(scale)
	// SmoothBlueRed runs blue → red; reverse it by hand, because
	// palette.Reverse(cm).Palette(n) leaves the middle colour nil for odd n
	// (gonum/plot v0.17.0), and an odd n is what gives zero its own white.
	pal := slices.Clone(cm.Palette(255).Colors())
	slices.Reverse(pal)
	return diverging{pal: pal, min: -scale, max: scale}
}

func (d diverging) palette() palette.Palette { return staticPalette(d.pal) }

// at returns v's colour as HeatMap picks it (nearest palette entry).
func (d diverging) at(v float64) color.Color {
	if math.IsNaN(v) {
		return colNaN
	}
	v = math.Max(d.min, math.Min(d.max, v))
	i := int((v-d.min)*float64(len(d.pal)-1)/(d.max-d.min) + 0.5)
	return d.pal[i]
}

type staticPalette []color.Color

func (p staticPalette) Colors() []color.Color { return p }

// dark reports whether text on c should be white.
func dark(c color.Color) bool {
	r, g, b, _ := c.RGBA()
	l := (0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(b)) / 0xFFFF
	return l < 0.45
}

// niceCeil rounds v up to 1, 2, 2.5 or 5 times a power of ten, so that the
// colour scale ends on a round number.
func niceCeil(v float64) float64 {
	if !(v > 0) || math.IsInf(v, 0) {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*e >= v*(1-1e-12) {
			return m * e
		}
	}
	return 10 * e
}

// grid is a task × category matrix as plotter.GridXYZ: column c is category
// c at x = c, row r is task n−1−r at y = r, so that the first task is at the
// top.
type grid struct{ z [][]float64 }

func (g grid) Dims() (c, r int)   { return len(g.z[0]), len(g.z) }
func (g grid) Z(c, r int) float64 { return g.z[len(g.z)-1-r][c] }
func (g grid) X(c int) float64    { return float64(c) }
func (g grid) Y(r int) float64    { return float64(r) }

// scaleGrid is the colour bar: one row of cells sweeping [min, max].
type scaleGrid struct {
	min, max float64
	n        int
}

func (g scaleGrid) Dims() (c, r int)   { return g.n, 1 }
func (g scaleGrid) Z(c, _ int) float64 { return g.X(c) }
func (g scaleGrid) X(c int) float64    { return g.min + (g.max-g.min)*(float64(c)+0.5)/float64(g.n) }
func (g scaleGrid) Y(int) float64      { return 0 }

// heatmapInput is what the effects heatmap shows.
type heatmapInput struct {
	tasks, categories []string
	// delta is in points, [task][category]; sig marks cells whose interval
	// excludes zero.
	delta [][]float64
	sig   [][]bool
	scale diverging
	level float64
	title string
}

// clipped reports whether some |delta| exceeds the colour scale.
func clipped(delta [][]float64, max float64) bool {
	for _, row := range delta {
		for _, v := range row {
			if math.Abs(v) > max {
				return true
			}
		}
	}
	return false
}

// effectsHeatmap draws FigureEffects.
func effectsHeatmap(in heatmapInput) (figure, error) {
	nt, nc := len(in.tasks), len(in.categories)
	const colorBarH = 0.85 * vg.Inch
	w := vg.Length(2.4+0.85*float64(nc)) * vg.Inch
	h := vg.Length(1.1+0.22*float64(nt))*vg.Inch + colorBarH
	return render(FigureEffects, w, h, func(dc draw.Canvas) {
		p := newPlot(in.title)
		hm := plotter.NewHeatMap(grid{in.delta}, in.scale.palette())
		hm.Min, hm.Max = in.scale.min, in.scale.max
		hm.NaN = colNaN
		// Deltas beyond the scale take its end colours (HeatMap leaves them
		// unpainted by default).
		hm.Underflow, hm.Overflow = in.scale.pal[0], in.scale.pal[len(in.scale.pal)-1]
		p.Add(hm)

		xys := make(plotter.XYs, 0, nt*nc)
		var labels []string
		var styles []text.Style
		for t := range nt {
			for c := range nc {
				v := in.delta[t][c]
				s := "n/a"
				if !math.IsNaN(v) {
					s = fmt.Sprintf("%+.1f", v)
					if in.sig[t][c] {
						s += "*"
					}
				}
				fg := color.Color(color.Black)
				if dark(in.scale.at(v)) {
					fg = color.White
				}
				xys = append(xys, plotter.XY{X: float64(c), Y: float64(nt - 1 - t)})
				labels = append(labels, s)
				styles = append(styles, text.Style{
					Color: fg, Font: sans(8, in.sig[t][c]), XAlign: draw.XCenter, YAlign: draw.YCenter,
					Handler: p.TextHandler,
				})
			}
		}
		lab, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
		if err != nil {
			panic(err)
		}
		lab.TextStyle = styles
		p.Add(lab)

		p.NominalX(in.categories...)
		rev := make([]string, nt)
		for t, name := range in.tasks {
			rev[nt-1-t] = name
		}
		p.NominalY(rev...)
		p.X.Min, p.X.Max = -0.5, float64(nc)-0.5
		p.Y.Min, p.Y.Max = -0.5, float64(nt)-0.5
		p.Draw(draw.Crop(dc, 0, 0, colorBarH, 0))

		cb := newPlot("")
		bar := plotter.NewHeatMap(scaleGrid{in.scale.min, in.scale.max, 101}, in.scale.palette())
		bar.Min, bar.Max = in.scale.min, in.scale.max
		cb.Add(bar)
		cb.HideY()
		cb.X.Min, cb.X.Max = in.scale.min, in.scale.max
		cb.X.Label.Text = fmt.Sprintf("delta vs base (points); bold* = %s interval excludes 0", levelText(in.level))
		if clipped(in.delta, in.scale.max) {
			cb.X.Label.Text += fmt.Sprintf("; colours saturate beyond ±%g", in.scale.max)
		}
		cb.Draw(draw.Crop(dc, 1.2*vg.Inch, -0.6*vg.Inch, 0, -(dc.Max.Y - dc.Min.Y - colorBarH)))
	})
}

// hbars draws horizontal bars from 0 to x[i], centred on y[i], height
// h in data units. Drawing them directly (rather than with
// plotter.BarChart, whose offsets are in canvas units) keeps bars and error
// bars on the same data coordinates.
type hbars struct {
	x, y  []float64
	h     float64
	color color.Color
}

func (b *hbars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for i := range b.x {
		x0, x1 := trX(0), trX(b.x[i])
		y0, y1 := trY(b.y[i]-b.h/2), trY(b.y[i]+b.h/2)
		c.FillPolygon(b.color, c.ClipPolygonXY([]vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}))
	}
}

func (b *hbars) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = 0, 0
	ymin, ymax = math.Inf(1), math.Inf(-1)
	for i := range b.x {
		xmin, xmax = math.Min(xmin, b.x[i]), math.Max(xmax, b.x[i])
		ymin, ymax = math.Min(ymin, b.y[i]-b.h/2), math.Max(ymax, b.y[i]+b.h/2)
	}
	return xmin, xmax, ymin, ymax
}

func (b *hbars) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(b.color, []vg.Point{
		c.Min, {X: c.Max.X, Y: c.Min.Y}, c.Max, {X: c.Min.X, Y: c.Max.Y},
	})
}

// whisker is the legend entry of an interval: a line with end caps.
type whisker struct{ style draw.LineStyle }

func (w whisker) Thumbnail(c *draw.Canvas) {
	y := (c.Min.Y + c.Max.Y) / 2
	d := (c.Max.Y - c.Min.Y) / 3
	c.StrokeLine2(w.style, c.Min.X, y, c.Max.X, y)
	c.StrokeLine2(w.style, c.Min.X, y-d, c.Min.X, y+d)
	c.StrokeLine2(w.style, c.Max.X, y-d, c.Max.X, y+d)
}

// intervals holds the whiskers of interval [lo, hi] at position pos. It
// places each point at the interval's midpoint with symmetric errors,
// because gonum's error bars take the absolute value of each side: a point
// estimate outside its percentile interval (which happens for re-solved
// weights) would otherwise draw the wrong whisker.
type intervals struct {
	pos, lo, hi []float64
}

func (iv intervals) Len() int           { return len(iv.pos) }
func (iv intervals) mid(i int) float64  { return (iv.lo[i] + iv.hi[i]) / 2 }
func (iv intervals) half(i int) float64 { return (iv.hi[i] - iv.lo[i]) / 2 }

type xIntervals struct{ intervals }

func (iv xIntervals) XY(i int) (x, y float64)          { return iv.mid(i), iv.pos[i] }
func (iv xIntervals) XError(i int) (low, high float64) { return iv.half(i), iv.half(i) }

type yIntervals struct{ intervals }

func (iv yIntervals) XY(i int) (x, y float64)          { return iv.pos[i], iv.mid(i) }
func (iv yIntervals) YError(i int) (low, high float64) { return iv.half(i), iv.half(i) }

// finiteIntervals keeps the positions whose bounds are both finite.
func finiteIntervals(pos, lo, hi []float64) intervals {
	var iv intervals
	for i := range pos {
		if !math.IsNaN(lo[i]) && !math.IsNaN(hi[i]) && !math.IsInf(lo[i], 0) && !math.IsInf(hi[i], 0) {
			iv.pos = append(iv.pos, pos[i])
			iv.lo = append(iv.lo, lo[i])
			iv.hi = append(iv.hi, hi[i])
		}
	}
	return iv
}

// weightsInput is what the weights figure shows, in display order (largest
// weight first), in percent.
type weightsInput struct {
	tasks                    []string
	weight, low, high, prior []float64
	level                    float64
	title                    string
}

// weightsFigure draws FigureWeights.
func weightsFigure(in weightsInput) (figure, error) {
	n := len(in.tasks)
	w := 7.5 * vg.Inch
	h := vg.Length(1.0+0.26*float64(n)) * vg.Inch
	return render(FigureWeights, w, h, func(dc draw.Canvas) {
		p := newPlot(in.title)
		const off, bh = 0.2, 0.36
		yw := make([]float64, n)
		yp := make([]float64, n)
		rev := make([]string, n)
		for i := range n {
			y := float64(n - 1 - i)
			yw[i], yp[i] = y+off, y-off
			rev[n-1-i] = in.tasks[i]
		}
		gr := plotter.NewGrid()
		gr.Horizontal.Color = nil
		gr.Vertical.Color = color.Gray{0xDD}
		p.Add(gr)
		prior := &hbars{x: in.prior, y: yp, h: bh, color: colPrior}
		weight := &hbars{x: in.weight, y: yw, h: bh, color: colWeight}
		p.Add(prior, weight)
		// The legend goes bottom right, where the smallest weights leave
		// the plot empty.
		leg := &p.Legend
		leg.Top, leg.Left = false, false
		leg.XOffs, leg.YOffs = -vg.Points(6), vg.Points(6)
		leg.Add("solved weight", weight)
		if iv := finiteIntervals(yw, in.low, in.high); iv.Len() > 0 {
			eb, err := plotter.NewXErrorBars(xIntervals{iv})
			if err != nil {
				panic(err)
			}
			eb.LineStyle.Width = vg.Points(1)
			eb.CapWidth = vg.Points(5)
			p.Add(eb)
			leg.Add(fmt.Sprintf("%s bootstrap interval", levelText(in.level)), whisker{eb.LineStyle})
		}
		leg.Add("examples-proportional prior (capped)", prior)
		p.NominalY(rev...)
		p.Y.Min, p.Y.Max = -0.5, float64(n)-0.5
		// Leave room for the whisker caps at the widest interval.
		p.X.Min, p.X.Max = 0, 1.03*p.X.Max
		p.X.Label.Text = "mixture weight (%)"
		p.Draw(dc)
	})
}

// validationInput is what the validation figure shows: scores in percent,
// [arm][category].
type validationInput struct {
	arms, categories []string
	score, low, high [][]float64
	title            string
}

// validationFigure draws FigureValidation.
func validationFigure(in validationInput) (figure, error) {
	na, nc := len(in.arms), len(in.categories)
	const legendW = 1.9 * vg.Inch
	w := vg.Length(1.5+1.0*float64(nc))*vg.Inch + legendW
	h := 4.2 * vg.Inch
	return render(FigureValidation, w, h, func(dc draw.Canvas) {
		p := newPlot(in.title)
		gr := plotter.NewGrid()
		gr.Vertical.Color = nil
		gr.Horizontal.Color = color.Gray{0xDD}
		p.Add(gr)
		leg := newLegend()
		dx := math.Min(0.8/float64(na), 0.2)
		for a := range na {
			xs := make([]float64, nc)
			pts := make(plotter.XYs, 0, nc)
			for c := range nc {
				xs[c] = float64(c) + (float64(a)-float64(na-1)/2)*dx
				if !math.IsNaN(in.score[a][c]) {
					pts = append(pts, plotter.XY{X: xs[c], Y: in.score[a][c]})
				}
			}
			col := armColors[a%len(armColors)]
			if iv := finiteIntervals(xs, in.low[a], in.high[a]); iv.Len() > 0 {
				eb, err := plotter.NewYErrorBars(yIntervals{iv})
				if err != nil {
					panic(err)
				}
				eb.LineStyle.Color = col
				eb.LineStyle.Width = vg.Points(1.2)
				eb.CapWidth = vg.Points(4)
				p.Add(eb)
			}
			sc, err := plotter.NewScatter(pts)
			if err != nil {
				panic(err)
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(3.5), Shape: armGlyphs[a%len(armGlyphs)]}
			p.Add(sc)
			leg.Add(in.arms[a], sc)
		}
		p.NominalX(in.categories...)
		p.X.Min, p.X.Max = -0.5, float64(nc)-0.5
		// Keep the outermost whisker caps off the plot's edges.
		pad := 0.03 * (p.Y.Max - p.Y.Min)
		p.Y.Min, p.Y.Max = p.Y.Min-pad, p.Y.Max+pad
		p.Y.Label.Text = "test-split score (%)"
		p.Draw(draw.Crop(dc, 0, -legendW, 0, 0))

		leg.Top, leg.Left = true, true
		leg.Draw(draw.Crop(dc, dc.Max.X-dc.Min.X-legendW+0.15*vg.Inch, 0, 0, -0.5*vg.Inch))
	})
}

// levelText formats a confidence level as "95%".
func levelText(level float64) string {
	return fmt.Sprintf("%g%%", math.Round(level*1000)/10)
}
