package sampler_test

import (
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/mixopt/mixopt/sampler"
)

// The last step of a solve: build the config from the solved weights, write
// it beside them, and read it back as a trainer would.
func Example() {
	tasks := []sampler.TaskEntry{
		{Name: "hh_rlhf_harmless_base", Dataset: "hh_rlhf_harmless_base", Source: "train/pairwise/hh_rlhf_harmless_base.jsonl",
			TaskHash: "sha256:1f…", DatasetHash: "sha256:9a…", Examples: 2306},
		{Name: "conala_human_grades/pairs", Dataset: "conala_human_grades", Source: "train/pointwise/conala_human_grades.jsonl",
			TaskHash: "sha256:7c…", DatasetHash: "sha256:42…", Examples: 5120},
	}
	cfg, err := sampler.New(tasks, []float64{0.75, 0.25}, sampler.Budget{Steps: 5000, BatchSize: 8}, 1234,
		sampler.Provenance{RunID: "run-1", Solver: "flame-bundles"})
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "run")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "sampler.yaml")
	if err := cfg.WriteYAML(path); err != nil {
		log.Fatal(err)
	}
	loaded, err := sampler.Load(path)
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range loaded.Tasks {
		fmt.Printf("%s: p=%g rate=%.1f epochs=%.2f\n", t.Name, t.Probability, t.Rate, t.ExpectedEpochs)
	}
	// Output:
	// hh_rlhf_harmless_base: p=0.75 rate=5569.5 epochs=13.01
	// conala_human_grades/pairs: p=0.25 rate=1856.5 epochs=1.95
}

// A training job draws its examples from the stream, checkpoints the
// stream's State, and resumes exactly where it stopped.
func ExampleStream() {
	tasks := []sampler.TaskEntry{
		{Name: "a", Dataset: "a", Source: "a.jsonl", TaskHash: "sha256:a", DatasetHash: "sha256:a", Examples: 3},
		{Name: "b", Dataset: "b", Source: "b.jsonl", TaskHash: "sha256:b", DatasetHash: "sha256:b", Examples: 2},
	}
	cfg, err := sampler.New(tasks, []float64{2, 1}, sampler.Budget{Steps: 3, BatchSize: 2}, 7, sampler.Provenance{})
	if err != nil {
		log.Fatal(err)
	}
	s, err := sampler.NewStream(cfg)
	if err != nil {
		log.Fatal(err)
	}
	for range 3 {
		p := s.Next()
		fmt.Printf("position %d: task %s, epoch %d, example %d\n", p.Position, cfg.Tasks[p.Task].Name, p.Epoch, p.Example)
	}
	checkpoint := s.State()

	resumed, err := sampler.NewStream(cfg)
	if err != nil {
		log.Fatal(err)
	}
	if err := resumed.Resume(checkpoint); err != nil {
		log.Fatal(err)
	}
	p := resumed.Next()
	fmt.Printf("resumed at position %d: task %s, epoch %d, example %d\n", p.Position, cfg.Tasks[p.Task].Name, p.Epoch, p.Example)
	// Output:
	// position 0: task a, epoch 0, example 0
	// position 1: task b, epoch 0, example 0
	// position 2: task a, epoch 0, example 2
	// resumed at position 3: task a, epoch 0, example 1
}

// Exporting for a trainer writes its file and reports the epochs the budget
// implies.
func ExampleExport() {
	tasks := []sampler.TaskEntry{
		{Name: "big", Dataset: "big", Source: "big.jsonl", TaskHash: "sha256:b", DatasetHash: "sha256:b", Examples: 100_000},
		{Name: "small", Dataset: "small", Source: "small.jsonl", TaskHash: "sha256:s", DatasetHash: "sha256:s", Examples: 50},
	}
	cfg, err := sampler.New(tasks, []float64{0.9, 0.1}, sampler.Budget{Steps: 1000, BatchSize: 10}, 1, sampler.Provenance{})
	if err != nil {
		log.Fatal(err)
	}
	report, err := sampler.Export(io.Discard, cfg, "olmix", sampler.ExportOptions{})
	if err != nil {
		log.Fatal(err)
	}
	if err := report.WriteText(os.Stdout); err != nil {
		log.Fatal(err)
	}
	// Output:
	// realised epochs for 1000 steps × batch 10 = 10000 examples (olmix)
	// task   probability  examples  samples  epochs
	// big    0.9          100000    9000     0.090
	// small  0.1          50        1000     20.000
	// warning: task small repeats 20 epochs over the budget, more than 15: it will likely be memorised
}
