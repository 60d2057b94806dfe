package dataset_test

import (
	"fmt"

	"github.com/mixopt/mixopt/dataset"
)

// A pointwise dataset yields a regression task and a task of pairs between
// responses to the same prompt.
func ExampleTasks() {
	d := &dataset.Dataset{
		Name: "grades",
		Kind: dataset.Pointwise,
		Rated: []dataset.Rated{
			{ID: "a", Prompt: "sort xs", Response: "sorted(xs)", Score: 4, Scale: dataset.Scale{Min: 0, Max: 4}},
			{ID: "b", Prompt: "sort xs", Response: "xs.sort", Score: 1, Scale: dataset.Scale{Min: 0, Max: 4}},
			{ID: "c", Prompt: "sort xs", Response: "sort(xs)", Score: 3, Scale: dataset.Scale{Min: 0, Max: 4}},
		},
	}
	tasks, err := dataset.Tasks(d, dataset.TaskOptions{})
	if err != nil {
		panic(err)
	}
	for _, t := range tasks {
		fmt.Println(t.Name, t.Objective, t.Len())
		for _, p := range t.Points {
			fmt.Printf("  %s %q target %.2f\n", p.ID, p.Response, p.Target)
		}
		for _, p := range t.Pairs {
			fmt.Printf("  %s: %q over %q\n", p.ID, p.Chosen, p.Rejected)
		}
	}
	// Output:
	// grades pointwise 3
	//   a "sorted(xs)" target 1.00
	//   b "xs.sort" target 0.25
	//   c "sort(xs)" target 0.75
	// grades/pairs pairwise 3
	//   a|b: "sorted(xs)" over "xs.sort"
	//   a|c: "sorted(xs)" over "sort(xs)"
	//   c|b: "sort(xs)" over "xs.sort"
}
