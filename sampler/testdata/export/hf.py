# mixopt sampler config exported for Hugging Face datasets (format "hf").
# From mixopt v0.1.0, run run-7, objective rewardbench-dev, solver flame-bundles.
# Config sha256:5e60e58b0d621a299bb2e30c45e544b333ca6bfbee6d7b6bbe871e880fce59bf.
#
# Hugging Face datasets.interleave_datasets draws each example from source d
# with probability probabilities[d], whatever the source's size. Its
# stopping strategies each distort a mixture: first_exhausted ends the
# stream when the first source runs out (undersampling the others),
# all_exhausted restarts sources until every one has run out once
# (oversampling small sources far beyond their probability). This file gives
# each task enough shuffled passes ("passes", with a six-sigma margin) that
# the interleaved stream reaches BUDGET_EXAMPLES before any source runs out,
# and cuts it there, so each task gets probability × BUDGET_EXAMPLES
# examples on average. data_files must hold the task's training units: for a
# derived task such as <dataset>/pairs, its pairs, not the dataset file.
#
# Seed 1234.
# realised epochs for 5000 steps × batch 8 = 40000 examples (hf)
# task                       exported as                 probability  examples  samples  epochs
# hh_rlhf_harmless_base      hh_rlhf_harmless_base       0.613497     2306      24540    10.642
# conala_human_grades        conala_human_grades         0.184049     2360      7362     3.119
# conala_human_grades/pairs  conala_human_grades__pairs  0.184049     5120      7362     1.438
# quixbugs_python            quixbugs_python             0.0184049    40        736      18.400
# mrben_math                                             0            918       0        unused
# note: left out, probability 0: mrben_math
# warning: task quixbugs_python repeats 18.4 epochs over the budget, more than 15: it will likely be memorised

from datasets import concatenate_datasets, interleave_datasets, load_dataset

SEED = 1234
BUDGET_EXAMPLES = 40000
STOPPING_STRATEGY = "first_exhausted"

# One entry per task: its training file, its interleaving probability and the
# shuffled passes over it that cover its share of the budget.
TASKS = [
    {"task": "hh_rlhf_harmless_base", "data_files": "hh_rlhf_harmless_base.jsonl", "probability": 0.6134969325153374, "passes": 12},
    {"task": "conala_human_grades", "data_files": "conala_human_grades.jsonl", "probability": 0.18404907975460122, "passes": 4},
    {"task": "conala_human_grades/pairs", "data_files": "conala_human_grades__pairs.jsonl", "probability": 0.18404907975460122, "passes": 2},
    {"task": "quixbugs_python", "data_files": "quixbugs_python.jsonl", "probability": 0.018404907975460124, "passes": 23},
]


def build_mixture(streaming=False):
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
