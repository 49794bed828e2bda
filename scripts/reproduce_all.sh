#!/usr/bin/env bash
# Re-make every experiment's JSON and PNG (full mode) in docs/figures/, one experiment at a time.
#
#   scripts/reproduce_all.sh                      # all of them, full mode (about 40 minutes)
#   scripts/reproduce_all.sh --fast               # all of them, the seconds-long test versions
#   scripts/reproduce_all.sh saxe_orthogonal      # only the ones named
#   OUT=/tmp/figs PYTHON=.venv/bin/python scripts/reproduce_all.sh
#
# Options starting with -- go to every script (--fast, --seed N). Each experiment runs on one core
# with BLAS pinned to one thread; they run one after the other so they do not slow each other down.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
OUT=${OUT:-docs/figures}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 MPLBACKEND=Agg

ALL=(symmetry_within symmetry_across seed_policy glorot_bengio he_rectifiers saxe_orthogonal init_range mnist1d_mlp)
names=()
opts=()
while (($#)); do
  case "$1" in
    --seed) opts+=("$1" "$2"); shift 2 ;;
    --*) opts+=("$1"); shift ;;
    *) names+=("$1"); shift ;;
  esac
done
((${#names[@]})) || names=("${ALL[@]}")

for name in "${names[@]}"; do
  if [[ ! -f "experiments/$name.py" ]]; then
    echo "no experiment experiments/$name.py; known: ${ALL[*]}" >&2
    exit 2
  fi
  echo "== $name"
  start=$SECONDS
  "$PYTHON" "experiments/$name.py" --out "$OUT" ${opts[@]+"${opts[@]}"}
  echo "   ($((SECONDS - start)) s)"
done
