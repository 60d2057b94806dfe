package target_test

import (
	"fmt"

	"github.com/mixopt/mixopt/dataset"
	"github.com/mixopt/mixopt/target"
)

func ExampleDefinition_Resolve() {
	def, err := target.Lookup("rewardbench")
	if err != nil {
		panic(err)
	}
	// A small suite: one official subset per section, and a substitute
	// math subset the definition does not know.
	sc, err := def.Resolve([]dataset.SubsetInfo{
		{Name: "alpacaeval-easy", Section: "Chat", Examples: 100},
		{Name: "llmbar-natural", Section: "Chat Hard", Examples: 100},
		{Name: "xstest-should-respond", Section: "Safety", Examples: 161},
		{Name: "hep-python", Section: "Reasoning", Examples: 164},
		{Name: "math-mrgsm8k", Section: "Reasoning", Examples: 340},
	})
	if err != nil {
		panic(err)
	}
	for _, d := range sc.Deviations() {
		if d.Reason == target.ReasonUnknown {
			fmt.Printf("%s: %s, section %s, category %s, weight %g\n", d.Reason, d.Name, d.Section, d.Category, d.Weight)
		}
	}
	scores := sc.Score([]target.Counts{
		{Correct: 90, Total: 100},
		{Correct: 60, Total: 100},
		{Correct: 140, Total: 161},
		{Correct: 82, Total: 164},
		{Correct: 300, Total: 340},
	})
	for i, c := range sc.Categories() {
		fmt.Printf("%-9s %6.2f  section=%-5v tail-patch=%v\n", c.Name, target.Percent(scores[i]), c.Section, c.TailPatch)
	}
	// Output:
	// substituted/unknown: math-mrgsm8k, section Reasoning, category Math, weight 340
	// Chat       90.00  section=true  tail-patch=true
	// Chat Hard  60.00  section=true  tail-patch=true
	// Safety     86.96  section=true  tail-patch=true
	// Reasoning  75.79  section=true  tail-patch=false
	// Math       88.24  section=false tail-patch=true
	// Coding     50.00  section=false tail-patch=true
	// Overall    78.19  section=false tail-patch=false
}
