# Sourced by the device plan's scripts on the GPU host: unpack the runtime, the packages and the
# build carried in .device-carry/ (ci/device-plan/pack.sh), then say where and what it runs on.
mkdir -p .node/bin && xz -dc .device-carry/node.xz > .node/bin/node && chmod +x .node/bin/node
xz -dc .device-carry/node_modules.tar.xz | tar -xf -
xz -dc .device-carry/build.tar.xz | tar -xf -
export PATH=$PWD/.node/bin:/usr/local/cuda/bin:$PATH
AVA="node node_modules/ava/entrypoints/cli.mjs"
S=$(date +%s)
el() { echo "[+$(( $(date +%s) - S ))s]"; }
left() { echo $(( ${1:-570} - ($(date +%s) - S) )); }
echo "device: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader) · $(nproc) cores · $(date -u +%FT%TZ) · build of $(cat .device-carry/commit 2>/dev/null || echo '?')"
