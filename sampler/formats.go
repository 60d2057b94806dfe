package sampler

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// formats is the export registry, sorted by name.
var formats = []Format{
	{
		Name: "hf",
		Ext:  ".py",
		Semantics: "Hugging Face datasets.interleave_datasets draws each example from source d with probability " +
			"probabilities[d], whatever the source's size. Its stopping strategies each distort a mixture: " +
			"first_exhausted ends the stream when the first source runs out (undersampling the others), " +
			"all_exhausted restarts sources until every one has run out once (oversampling small sources far beyond " +
			"their probability). This file gives each task enough shuffled passes (\"passes\", with a six-sigma " +
			"margin) that the interleaved stream reaches BUDGET_EXAMPLES before any source runs out, and cuts it " +
			"there, so each task gets probability × BUDGET_EXAMPLES examples on average. data_files must hold the " +
			"task's training units: for a derived task such as <dataset>/pairs, its pairs, not the dataset file.",
		PathTemplate: "{name}.jsonl",
		exportName:   fileName,
		write:        writeHF,
	},
	{
		Name: "megatron",
		Ext:  ".sh",
		Semantics: "Megatron-LM blends datasets by per-sample probability: the weights are normalised and each " +
			"sample of the blend comes from dataset d in proportion to its weight, whatever the dataset's size " +
			"(megatron-core BlendedDataset). Each dataset is sized to about weight × --train-samples (plus a small " +
			"surplus), so a small one repeats over several epochs and a large one is cut. A prefix is the " +
			"--output-prefix of tools/preprocess_data.py for that task plus \"_text_document\", one preprocessed " +
			"dataset per mixopt task. Source this file, then pass --data-path \"${MIXOPT_DATA_PATH[@]}\" " +
			"--train-samples \"$MIXOPT_TRAIN_SAMPLES\" --seed \"$MIXOPT_SEED\".",
		PathTemplate: "{name}_text_document",
		exportName:   fileName,
		write:        writeMegatron,
	},
	{
		Name: "megatron-json",
		Ext:  ".json",
		Semantics: "Megatron-LM's --per-split-data-args-path file: \"train\" lists weight, prefix, weight, prefix, " +
			"with the per-sample probability semantics of --data-path (weights normalised, each sample from " +
			"dataset d in proportion to its weight, whatever its size); \"valid\" and \"test\" are left null for " +
			"your evaluation data. Pass --train-samples equal to the budget and --seed equal to the config's seed.",
		PathTemplate: "{name}_text_document",
		exportName:   fileName,
		write:        writeMegatronJSON,
	},
	{
		Name: "mosaic",
		Ext:  ".py",
		Semantics: "MosaicML streaming: with proportion set on every Stream, each epoch of the StreamingDataset " +
			"draws proportion × epoch_size samples from that stream, repeating a small stream and subsampling a " +
			"large one. proportion is relative and only means something together with epoch_size, the samples per " +
			"epoch, which this file sets to the whole budget: train for exactly one epoch (BUDGET_EXAMPLES " +
			"samples). local must be the task's MDS directory (or pass remote= as well); set the per-device " +
			"batch_size and other options through build_dataset's keyword arguments.",
		PathTemplate: "{name}",
		exportName:   fileName,
		write:        writeMosaic,
	},
	{
		Name: "olmix",
		Ext:  ".json",
		Semantics: "olmix mixture: a JSON list of {\"domain\", \"weight\"} with weights that sum to 1, the form of " +
			"olmix's proposed *_optimal.json. Domains are mixopt task names with '/' mapped to olmix's hierarchy " +
			"separator ':'. olmix applies weights to training tokens; mixopt's are shares of examples, so the two " +
			"agree when tasks have similar example lengths. JSON has no comments: the epoch report accompanies " +
			"the file instead.",
		exportName: olmixName,
		write:      writeOlmix,
	},
	{
		Name: "open-instruct",
		Ext:  ".yaml",
		Semantics: "open-instruct reads each value of dataset_mixer_list by its spelling: with a '.' it is a " +
			"fraction of that dataset (1.0 = all of it once, 2.5 = two and a half passes by repetition), without " +
			"one an absolute count (1 = a single example). The values here are fractions, each task's planned " +
			"samples over its size, so one training epoch (num_train_epochs 1) over the concatenated, shuffled " +
			"mixture is the planned budget. Fractions above 1.0 need an open-instruct that upsamples; older " +
			"versions read a float above 1 as an example count.",
		PathTemplate: "{name}.jsonl",
		exportName:   fileName,
		write:        writeOpenInstruct,
	},
	{
		Name: "seqio",
		Ext:  ".py",
		Semantics: "seqio samples the tasks of a Mixture in proportion to their rates: each example comes from " +
			"task t with probability rate_t / Σ rates, whatever t's size. The rates are mixopt's probabilities " +
			"on FLAMe's 2^16 scale, rate = probability × Σ_tasks min(examples, 65536), so that the " +
			"examples-proportional mixture capped at 2^16 has rate = min(examples, 65536); only their ratios " +
			"matter. The tasks must be registered in seqio.TaskRegistry under the names in TASK_RATES (mixopt maps " +
			"'/' to ':' and other characters seqio rejects to '_'; MIXOPT_TASK_NAMES maps them back). Train on " +
			"get_dataset(..., shuffle=True, seed=SEED, num_epochs=None) for BUDGET_EXAMPLES examples.",
		exportName: seqioName,
		write:      writeSeqio,
	},
}

func writeSeqio(e *exporter) error {
	e.header("# ", "seqio")
	name := e.opts.Name
	if name == "" {
		name = "mixopt_mixture"
		if run := e.cfg.Provenance.RunID; run != "" {
			name = "mixopt_" + run
		}
	}
	e.printf("import seqio\n\n")
	e.printf("MIXTURE_NAME = %s\n", pyString(seqioName(name)))
	e.printf("SEED = %d\n", e.cfg.Seed)
	e.printf("BUDGET_EXAMPLES = %d\n\n", e.cfg.Budget.Examples())
	e.printf("# seqio task name -> mixopt task name.\nMIXOPT_TASK_NAMES = {\n")
	for _, t := range e.tasks {
		e.printf("    %s: %s,\n", pyString(t.name), pyString(t.Name))
	}
	e.printf("}\n\n# (seqio task name, rate): only the ratios of the rates matter.\nTASK_RATES = [\n")
	for _, t := range e.tasks {
		e.printf("    (%s, %s),\n", pyString(t.name), pyFloat(t.Rate))
	}
	e.printf("]\n\nseqio.MixtureRegistry.add(MIXTURE_NAME, TASK_RATES)\n")
	return nil
}

func writeMegatron(e *exporter) error {
	e.header("# ", "Megatron-LM --data-path")
	e.printf("MIXOPT_TRAIN_SAMPLES=%d\n", e.cfg.Budget.Examples())
	e.printf("MIXOPT_SEED=%d\n", e.cfg.Seed)
	e.printf("MIXOPT_DATA_PATH=(\n")
	for _, t := range e.tasks {
		e.printf("  %s %s # %s\n", strconv.FormatFloat(t.Probability, 'g', -1, 64), shellQuote(t.path), t.Name)
	}
	e.printf(")\n")
	return nil
}

func writeMegatronJSON(e *exporter) error {
	train := make([]any, 0, 2*len(e.tasks))
	for _, t := range e.tasks {
		train = append(train, t.Probability, t.path)
	}
	doc := struct {
		Comment string `json:"_comment"`
		Train   []any  `json:"train"`
		Valid   []any  `json:"valid"`
		Test    []any  `json:"test"`
	}{
		Comment: fmt.Sprintf("mixopt sampler config %s for Megatron-LM --per-split-data-args-path; budget %d samples, seed %d. %s",
			e.cfg.Fingerprint(), e.cfg.Budget.Examples(), e.cfg.Seed, e.format.Semantics),
		Train: train,
	}
	return e.writeJSON(doc)
}

func writeHF(e *exporter) error {
	e.header("# ", "Hugging Face datasets")
	n := e.cfg.Budget.Examples()
	e.printf("from datasets import concatenate_datasets, interleave_datasets, load_dataset\n\n")
	e.printf("SEED = %d\n", e.cfg.Seed)
	e.printf("BUDGET_EXAMPLES = %d\n", n)
	e.printf("STOPPING_STRATEGY = %s\n\n", pyString("first_exhausted"))
	e.printf("# One entry per task: its training file, its interleaving probability and the\n")
	e.printf("# shuffled passes over it that cover its share of the budget.\nTASKS = [\n")
	for _, t := range e.tasks {
		e.printf("    {\"task\": %s, \"data_files\": %s, \"probability\": %s, \"passes\": %d},\n",
			pyString(t.Name), pyString(t.path), pyFloat(t.Probability), hfPasses(t.Probability, n, t.Examples))
	}
	e.printf("]\n\n\n")
	e.printf(`def build_mixture(streaming=False):
    """Returns the mixed training stream of BUDGET_EXAMPLES examples."""
    sources = []
    for i, task in enumerate(TASKS):
        data = load_dataset("json", data_files=task["data_files"], split="train", streaming=streaming)
        passes = [data.shuffle(seed=SEED + 1000003 * i + p) for p in range(task["passes"])]
        sources.append(concatenate_datasets(passes) if len(passes) > 1 else passes[0])
    mixed = interleave_datasets(
        sources,
        probabilities=[task["probability"] for task in TASKS],
        seed=SEED,
        stopping_strategy=STOPPING_STRATEGY,
    )
    return mixed.take(BUDGET_EXAMPLES) if streaming else mixed.select(range(BUDGET_EXAMPLES))


if __name__ == "__main__":
    print(build_mixture())
`)
	return nil
}

func writeMosaic(e *exporter) error {
	e.header("# ", "MosaicML streaming")
	e.printf("from streaming import Stream, StreamingDataset\n\n")
	e.printf("SEED = %d\n", e.cfg.Seed)
	e.printf("BUDGET_EXAMPLES = %d\n\n", e.cfg.Budget.Examples())
	e.printf("# One stream per task: its MDS directory and its proportion of each epoch.\nSTREAMS = [\n")
	for _, t := range e.tasks {
		e.printf("    {\"task\": %s, \"local\": %s, \"proportion\": %s},\n", pyString(t.Name), pyString(t.path), pyFloat(t.Probability))
	}
	e.printf("]\n\n\n")
	e.printf(`def build_dataset(**kwargs):
    """Returns the StreamingDataset whose one epoch is the planned budget."""
    streams = [Stream(local=s["local"], proportion=s["proportion"]) for s in STREAMS]
    return StreamingDataset(
        streams=streams,
        epoch_size=BUDGET_EXAMPLES,
        shuffle=True,
        shuffle_seed=SEED,
        **kwargs,
    )
`)
	return nil
}

func writeOpenInstruct(e *exporter) error {
	var kept []exportTask
	var dropped []string
	for _, t := range e.tasks {
		if t.samples == 0 {
			dropped = append(dropped, t.Name)
			i, _ := e.cfg.TaskIndex(t.Name)
			e.report.Rows[i].Exported = ""
			continue
		}
		kept = append(kept, t)
	}
	if len(dropped) > 0 {
		e.report.Notes = append(e.report.Notes, "left out, no planned sample over the budget: "+strings.Join(dropped, ", "))
	}
	e.header("# ", "open-instruct")
	args := make([]string, 0, 2*len(kept))
	for _, t := range kept {
		args = append(args, shellQuote(t.path), openInstructFraction(t.samples, t.Examples))
	}
	e.printf("# As flags: --dataset_mixer_list %s --dataset_mixer_list_splits train\n", strings.Join(args, " "))
	e.printf("dataset_mixer_list:\n")
	for _, t := range kept {
		e.printf("  - %s # %s\n", pyString(t.path), t.Name)
		e.printf("  - %s\n", pyString(openInstructFraction(t.samples, t.Examples)))
	}
	e.printf("dataset_mixer_list_splits:\n  - train\n")
	return nil
}

func writeOlmix(e *exporter) error {
	type entry struct {
		Domain string  `json:"domain"`
		Weight float64 `json:"weight"`
	}
	doc := make([]entry, len(e.tasks))
	for i, t := range e.tasks {
		doc[i] = entry{Domain: t.name, Weight: t.Probability}
	}
	return e.writeJSON(doc)
}

func (e *exporter) writeJSON(v any) error {
	enc := json.NewEncoder(&e.buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
