package mixture_test

import (
	"fmt"

	"github.com/mixopt/mixopt/mixture"
)

// Three tasks measured on two categories: "code" helps Coding a lot, "chat"
// helps Chat a little, "noisy" hurts both. The KL objective tilts the
// examples-proportional prior towards the helpful tasks, within a 60% cap.
func ExampleSolve() {
	e := &mixture.Effects{
		Tasks:      []mixture.Task{{Name: "code", Examples: 20000}, {Name: "chat", Examples: 50000}, {Name: "noisy", Examples: 30000}},
		Categories: []string{"Chat", "Coding"},
		Mean:       [][]float64{{0.000, 0.030}, {0.010, 0.000}, {-0.005, -0.010}},
		Low:        [][]float64{{-0.004, 0.020}, {0.002, -0.004}, {-0.012, -0.018}},
		High:       [][]float64{{0.004, 0.040}, {0.018, 0.004}, {0.002, -0.002}},
	}
	sol, err := mixture.Solve(e, mixture.KL, mixture.Options{Constraints: mixture.Constraints{Cap: 0.6}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, t := range e.Tasks {
		fmt.Printf("%-5s prior %.3f weight %.3f  %s\n", t.Name, sol.Prior[i], sol.Weights[i], sol.Reasons[i])
	}
	fmt.Printf("predicted gain: Chat %+.2f, Coding %+.2f points\n", 100*sol.Gains[0], 100*sol.Gains[1])
	// Output:
	// code  prior 0.200 weight 0.481  free: 2.41x prior
	// chat  prior 0.500 weight 0.443  free: 0.885x prior
	// noisy prior 0.300 weight 0.076  free: 0.254x prior
	// predicted gain: Chat +0.40, Coding +1.37 points
}
