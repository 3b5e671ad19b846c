# Sourced by scripts/reproduce and scripts/package: the pins that make a
# release build reproducible (docs/RELEASING.md, "Reproducible builds").
#
#   reproducible_env SRC
#
# exports, for a build of the checkout at SRC:
#   - SOURCE_DATE_EPOCH: the commit's time, unless already set;
#   - BREAKGLASS_COMMIT: the commit `--version` prints, unless already set;
#   - RUSTFLAGS: SRC and cargo's home remapped to /build/breakglass and
#     /cargo, so no build path is left in the binary.
reproducible_env() {
  local src=$1
  local cargo_home=${CARGO_HOME:-$HOME/.cargo}
  export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$src" log -1 --format=%ct)}
  export BREAKGLASS_COMMIT=${BREAKGLASS_COMMIT:-$(git -C "$src" rev-parse --short=12 HEAD)}
  export RUSTFLAGS="--remap-path-prefix=$src=/build/breakglass --remap-path-prefix=$cargo_home=/cargo"
}
