#!/usr/bin/env bash
# Everything the course checks on a CUDA GPU, in one run (about 8 minutes on one H200; BENCHMARKS.md has the
# results):
#   1. the CUDA tests (tests marked `cuda`: parity and bf16 autocast, masking, pretraining, fine-tuning, and
#      DDP over NCCL where two GPUs are there), which are skipped on a machine without a GPU;
#   2. the pretraining-step benchmark against transformers on the GPU (bf16 autocast, fused attention):
#      BERT-base at T 128 and 512 and d2l's tiny BERT with 8,192 tokens a batch (results/throughput_cuda.json),
#      then BERT-base with 32,768 tokens a batch, at T 128 also torch.compile'd (results/throughput_cuda_*.json);
#   3. every notebook executed top to bottom on the GPU with nbval (the README's test options).
# Each part has its own time limit, so that one slow part cannot take the others' time. Logs go to
# $LOGS (default benchmarks/results/gpu). Run from the repository root, with the course installed:
#   bash benchmarks/gpu.sh [datasheet bf16 TFLOP/s of the GPU, for model FLOPs utilisation]
set -u
LOGS=${LOGS:-benchmarks/results/gpu}
mkdir -p "$LOGS"
PEAK=${1:-}
PY=${PYTHON:-python3}
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv | tee "$LOGS/gpu.txt"
$PY -c "import torch, transformers; print('torch', torch.__version__, '| transformers', transformers.__version__)" \
  | tee -a "$LOGS/gpu.txt"

echo "== 1. CUDA tests"
timeout 150 $PY -m pytest -o addopts="" -p no:cacheprovider --continue-on-collection-errors -m cuda -v -rA tests 2>&1 | tee "$LOGS/cuda_tests.log" | tail -25

echo "== 2. throughput against transformers"
timeout 200 $PY benchmarks/throughput.py --device cuda --repeats 7 --steps 10 \
  ${PEAK:+--peak-tflops "$PEAK"} 2>&1 | tee "$LOGS/throughput.log" | grep -v Warning
R=benchmarks/results
timeout 200 $PY benchmarks/throughput.py --device cuda --configs base --batch 256 --repeats 5 --steps 5 --compile \
  ${PEAK:+--peak-tflops "$PEAK"} --out $R/throughput_cuda_base_b256.json 2>&1 | tee -a "$LOGS/throughput.log" | grep "^base"
timeout 100 $PY benchmarks/throughput.py --device cuda --configs base512 --batch 64 --repeats 5 --steps 5 \
  ${PEAK:+--peak-tflops "$PEAK"} --out $R/throughput_cuda_base512_b64.json 2>&1 | tee -a "$LOGS/throughput.log" | grep "^base"

echo "== 3. notebooks on the GPU"
timeout 240 $PY -m pytest -o addopts="" -p no:cacheprovider -n 12 --dist loadfile --nbval-lax \
  --nbval-current-env --nbval-sanitize-with=nbval_sanitize.cfg --nbval-cell-timeout=230 -rf \
  notebooks lectures solutions 2>&1 | tee "$LOGS/notebooks.log" | tail -40
