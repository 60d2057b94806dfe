# mixopt sampler config exported for Megatron-LM --data-path (format "megatron").
# From mixopt v0.1.0, run run-7, objective rewardbench-dev, solver flame-bundles.
# Config sha256:5e60e58b0d621a299bb2e30c45e544b333ca6bfbee6d7b6bbe871e880fce59bf.
#
# Megatron-LM blends datasets by per-sample probability: the weights are
# normalised and each sample of the blend comes from dataset d in proportion
# to its weight, whatever the dataset's size (megatron-core BlendedDataset).
# Each dataset is sized to about weight × --train-samples (plus a small
# surplus), so a small one repeats over several epochs and a large one is
# cut. A prefix is the --output-prefix of tools/preprocess_data.py for that
# task plus "_text_document", one preprocessed dataset per mixopt task.
# Source this file, then pass --data-path "${MIXOPT_DATA_PATH[@]}"
# --train-samples "$MIXOPT_TRAIN_SAMPLES" --seed "$MIXOPT_SEED".
#
# Seed 1234.
# realised epochs for 5000 steps × batch 8 = 40000 examples (megatron)
# task                       exported as                 probability  examples  samples  epochs
# hh_rlhf_harmless_base      hh_rlhf_harmless_base       0.613497     2306      24540    10.642
# conala_human_grades        conala_human_grades         0.184049     2360      7362     3.119
# conala_human_grades/pairs  conala_human_grades__pairs  0.184049     5120      7362     1.438
# quixbugs_python            quixbugs_python             0.0184049    40        736      18.400
# mrben_math                                             0            918       0        unused
# note: left out, probability 0: mrben_math
# warning: task quixbugs_python repeats 18.4 epochs over the budget, more than 15: it will likely be memorised

MIXOPT_TRAIN_SAMPLES=40000
MIXOPT_SEED=1234
MIXOPT_DATA_PATH=(
  0.6134969325153374 'hh_rlhf_harmless_base_text_document' # hh_rlhf_harmless_base
  0.18404907975460122 'conala_human_grades_text_document' # conala_human_grades
  0.18404907975460122 'conala_human_grades__pairs_text_document' # conala_human_grades/pairs
  0.018404907975460124 'quixbugs_python_text_document' # quixbugs_python
)
