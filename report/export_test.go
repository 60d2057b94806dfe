package report

import "errors"

// PredictedGains exposes the predicted-gain computation to the external
// tests: the run directory's gains per category (names, gains, interval
// bounds) and the α-weighted total, as the report shows them.
func PredictedGains(dir string) (cats []string, gain, low, high []float64, total [3]float64, err error) {
	r, err := load(dir)
	if err != nil {
		return nil, nil, nil, nil, total, err
	}
	g, why := predictGains(r.effects, r.weights, 0.95)
	if g == nil {
		return nil, nil, nil, nil, total, errors.New(why)
	}
	for _, row := range g.Rows {
		cats = append(cats, row.Category)
		gain = append(gain, row.Gain)
		low = append(low, row.GainLow)
		high = append(high, row.GainHigh)
	}
	if g.Total != nil {
		total = [3]float64{g.Total.Gain, g.Total.GainLow, g.Total.GainHigh}
	}
	return cats, gain, low, high, total, nil
}
