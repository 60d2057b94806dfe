# mixopt sampler config exported for MosaicML streaming (format "mosaic").
# From mixopt v0.1.0, run run-7, objective rewardbench-dev, solver flame-bundles.
# Config sha256:5e60e58b0d621a299bb2e30c45e544b333ca6bfbee6d7b6bbe871e880fce59bf.
#
# MosaicML streaming: with proportion set on every Stream, each epoch of the
# StreamingDataset draws proportion × epoch_size samples from that stream,
# repeating a small stream and subsampling a large one. proportion is
# relative and only means something together with epoch_size, the samples
# per epoch, which this file sets to the whole budget: train for exactly one
# epoch (BUDGET_EXAMPLES samples). local must be the task's MDS directory
# (or pass remote= as well); set the per-device batch_size and other options
# through build_dataset's keyword arguments.
#
# Seed 1234.
# realised epochs for 5000 steps × batch 8 = 40000 examples (mosaic)
# task                       exported as                 probability  examples  samples  epochs
# hh_rlhf_harmless_base      hh_rlhf_harmless_base       0.613497     2306      24540    10.642
# conala_human_grades        conala_human_grades         0.184049     2360      7362     3.119
# conala_human_grades/pairs  conala_human_grades__pairs  0.184049     5120      7362     1.438
# quixbugs_python            quixbugs_python             0.0184049    40        736      18.400
# mrben_math                                             0            918       0        unused
# note: left out, probability 0: mrben_math
# warning: task quixbugs_python repeats 18.4 epochs over the budget, more than 15: it will likely be memorised

from streaming import Stream, StreamingDataset

SEED = 1234
BUDGET_EXAMPLES = 40000

# One stream per task: its MDS directory and its proportion of each epoch.
STREAMS = [
    {"task": "hh_rlhf_harmless_base", "local": "hh_rlhf_harmless_base", "proportion": 0.6134969325153374},
    {"task": "conala_human_grades", "local": "conala_human_grades", "proportion": 0.18404907975460122},
    {"task": "conala_human_grades/pairs", "local": "conala_human_grades__pairs", "proportion": 0.18404907975460122},
    {"task": "quixbugs_python", "local": "quixbugs_python", "proportion": 0.018404907975460124},
]


def build_dataset(**kwargs):
    """Returns the StreamingDataset whose one epoch is the planned budget."""
    streams = [Stream(local=s["local"], proportion=s["proportion"]) for s in STREAMS]
    return StreamingDataset(
        streams=streams,
        epoch_size=BUDGET_EXAMPLES,
        shuffle=True,
        shuffle_seed=SEED,
        **kwargs,
    )
