#!/usr/bin/env bash
# Pack what the device plan's scripts need into .device-carry/ (ignored by git), on the build
# machine (nvcc here, no GPU): the stripped Node runtime and pruned node_modules of the GPU
# bundle (ci/bundle.sh), and the build: dist/, both addons, the C ABI libraries, the driver
# with and without faults, the timing driver moe_bench and the read-pattern driver moe_read_pattern.
#   bash ci/device-plan/pack.sh
# Then each step on the device: run(command="bash ci/device-plan/N-….sh", carry=[".device-carry"]).
# The working tree (~25 MB) and .device-carry (~35 MB) together stay under the 64 MiB a call carries.
set -euo pipefail
cd "$(dirname "$0")/../.."
die() { echo "pack: $*" >&2; exit 1; }
npm run build:ts >/dev/null
cmake --build native/build --target moe_native moe_native_faults moe_gpu_check moe_gpu_check_faults moe_bench moe_read_pattern --parallel "$(nproc)" >/dev/null \
  || die "building the native drivers failed (cmake --build native/build --target moe_native moe_native_faults moe_gpu_check moe_gpu_check_faults moe_bench moe_read_pattern)"
bash ci/bundle.sh .bundle >/dev/null
rm -rf .device-carry && mkdir -p .device-carry
cp .bundle/node.xz .bundle/node_modules.tar.xz .device-carry/
files=(dist native/build/Release/moe_native.node native/build/Release/moe_native_faults.node
       native/build/test/moe_gpu_check native/build/test/moe_gpu_check_faults native/build/bench/moe_bench
       native/build/bench/moe_read_pattern)
for f in native/build/Release/*.so native/build/Release/moe_abi_host.node; do [ -e "$f" ] && files+=("$f"); done
for f in "${files[@]}"; do [ -e "$f" ] || die "$f missing after the build"; done
tar -cf - "${files[@]}" | xz -T0 -6 > .device-carry/build.tar.xz
cp ci/device-plan/setup.sh .device-carry/setup.sh
git rev-parse HEAD > .device-carry/commit
du -ch .device-carry/* | tail -n 1
tracked=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -n 1 | cut -f1)
carry=$(du -cb .device-carry/* | tail -n 1 | cut -f1)
echo "pack: tracked tree $(( tracked / 1048576 )) MiB + .device-carry $(( carry / 1048576 )) MiB (limit 64 MiB together)"
[ $(( tracked + carry )) -le $(( 64 * 1048576 )) ] || die "over the 64 MiB a device call carries"
