# mixopt sampler config exported for seqio (format "seqio").
# From mixopt v0.1.0, run run-7, objective rewardbench-dev, solver flame-bundles.
# Config sha256:5e60e58b0d621a299bb2e30c45e544b333ca6bfbee6d7b6bbe871e880fce59bf.
#
# seqio samples the tasks of a Mixture in proportion to their rates: each
# example comes from task t with probability rate_t / Σ rates, whatever t's
# size. The rates are mixopt's probabilities on FLAMe's 2^16 scale, rate =
# probability × Σ_tasks min(examples, 65536), so that the
# examples-proportional mixture capped at 2^16 has rate = min(examples,
# 65536); only their ratios matter. The tasks must be registered in
# seqio.TaskRegistry under the names in TASK_RATES (mixopt maps '/' to ':'
# and other characters seqio rejects to '_'; MIXOPT_TASK_NAMES maps them
# back). Train on get_dataset(..., shuffle=True, seed=SEED, num_epochs=None)
# for BUDGET_EXAMPLES examples.
#
# Seed 1234.
# realised epochs for 5000 steps × batch 8 = 40000 examples (seqio)
# task                       exported as                probability  examples  samples  epochs
# hh_rlhf_harmless_base      hh_rlhf_harmless_base      0.613497     2306      24540    10.642
# conala_human_grades        conala_human_grades        0.184049     2360      7362     3.119
# conala_human_grades/pairs  conala_human_grades:pairs  0.184049     5120      7362     1.438
# quixbugs_python            quixbugs_python            0.0184049    40        736      18.400
# mrben_math                                            0            918       0        unused
# note: left out, probability 0: mrben_math
# warning: task quixbugs_python repeats 18.4 epochs over the budget, more than 15: it will likely be memorised

import seqio

MIXTURE_NAME = "mixopt_run_7"
SEED = 1234
BUDGET_EXAMPLES = 40000

# seqio task name -> mixopt task name.
MIXOPT_TASK_NAMES = {
    "hh_rlhf_harmless_base": "hh_rlhf_harmless_base",
    "conala_human_grades": "conala_human_grades",
    "conala_human_grades:pairs": "conala_human_grades/pairs",
    "quixbugs_python": "quixbugs_python",
}

# (seqio task name, rate): only the ratios of the rates matter.
TASK_RATES = [
    ("hh_rlhf_harmless_base", 6591.411042944786),
    ("conala_human_grades", 1977.4233128834355),
    ("conala_human_grades:pairs", 1977.4233128834355),
    ("quixbugs_python", 197.74233128834356),
]

seqio.MixtureRegistry.add(MIXTURE_NAME, TASK_RATES)
