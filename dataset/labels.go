package dataset

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// lexicon gives each known classification label a value in [0, 1]: how good
// a response with that label is. Keys are folded with foldLabel.
//
//	label                    value  datasets
//	correct                  1      mrben_math, mrben_coding
//	incorrect                0
//	safe                     1      diasafety
//	unsafe                   0
//	not jailbroken           1      gptfuzz_jailbreak
//	jailbroken               0
//	no mistake               1      bigbench_mistake
//	mistake                  0
//	fully attributable       1      begin_attribution
//	not fully attributable   0
//	generic                  0
//	consistent               1      q2_factual_consistency
//	inconsistent             0
//	supports                 1      dialfact_sample
//	refutes                  0
//	not enough info          0.5
//	useful                   1      expertqa_usefulness
//	partially useful         0.5
//	not useful at all        0
//
// BEGIN's "Generic" marks a reply too vague to be checked against the
// knowledge ("That sounds fun!"). It makes no claim the knowledge supports,
// so it is not attributable, and a judge of grounded dialogue should not
// prefer it to an attributable reply; it is not partly attributable either,
// so it shares 0 with "Not fully attributable" rather than sitting between.
// DialFact's "NOT ENOUGH INFO" gets 0.5: the claim is neither supported nor
// contradicted by the evidence, which is better than a refuted claim and
// worse than a supported one.
var lexicon = map[string]float64{
	"correct":                1,
	"incorrect":              0,
	"safe":                   1,
	"unsafe":                 0,
	"not jailbroken":         1,
	"jailbroken":             0,
	"no mistake":             1,
	"mistake":                0,
	"fully attributable":     1,
	"not fully attributable": 0,
	"generic":                0,
	"consistent":             1,
	"inconsistent":           0,
	"supports":               1,
	"refutes":                0,
	"not enough info":        0.5,
	"useful":                 1,
	"partially useful":       0.5,
	"not useful at all":      0,
}

// foldLabel makes label matching case-insensitive and blind to surrounding
// spaces.
func foldLabel(label string) string {
	return strings.ToLower(strings.TrimSpace(label))
}

// LabelValue returns the built-in value in [0, 1] of a classification label,
// matched case-insensitively; see the table on TaskOptions.Labels.
func LabelValue(label string) (float64, bool) {
	v, ok := lexicon[foldLabel(label)]
	return v, ok
}

// labelValues resolves the labels of one dataset: the dataset's entries of
// opts.Labels first, then the built-in lexicon.
type labelValues struct {
	dataset  string
	override map[string]float64
}

func (o TaskOptions) labelsFor(dataset string) (labelValues, error) {
	lv := labelValues{dataset: dataset}
	m := o.Labels[dataset]
	if len(m) == 0 {
		return lv, nil
	}
	lv.override = make(map[string]float64, len(m))
	orig := make(map[string]string, len(m))
	// Sorted, so that an error names the same labels every run.
	for _, label := range slices.Sorted(maps.Keys(m)) {
		v := m[label]
		if math.IsNaN(v) || v < 0 || v > 1 {
			return lv, fmt.Errorf("label mapping of dataset %s: label %q: value %v is outside [0, 1]", dataset, label, v)
		}
		key := foldLabel(label)
		if key == "" {
			return lv, fmt.Errorf("label mapping of dataset %s: empty label", dataset)
		}
		if prev, ok := lv.override[key]; ok && prev != v {
			return lv, fmt.Errorf("label mapping of dataset %s: labels %q and %q differ only in case but map to %v and %v",
				dataset, orig[key], label, prev, v)
		}
		lv.override[key] = v
		orig[key] = label
	}
	return lv, nil
}

func (lv labelValues) value(label string) (float64, bool) {
	key := foldLabel(label)
	if v, ok := lv.override[key]; ok {
		return v, true
	}
	v, ok := lexicon[key]
	return v, ok
}

// LabelValue returns the value in [0, 1] that Tasks gives label in dataset:
// the dataset's mapping in o.Labels if it has the label, else the built-in
// lexicon. ok is false for an unknown label or an invalid mapping.
func (o TaskOptions) LabelValue(dataset, label string) (v float64, ok bool) {
	lv, err := o.labelsFor(dataset)
	if err != nil {
		return 0, false
	}
	return lv.value(label)
}
