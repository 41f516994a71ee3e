/**
 * Whether a CUDA device is usable through the native addon, and why not. The addon is
 * loaded lazily (a plain import of native/index.ts loads nothing by itself).
 */
export interface GpuAvailability {
  readonly available: boolean;
  /** Device description when available, else the reason it is not. */
  readonly detail: string;
  /** Whether the faults build of the addon is present and built with CUDA. */
  readonly faultsBuild: boolean;
}

export async function gpuAvailability(): Promise<GpuAvailability> {
  try {
    const native = await import('../native/index.js');
    const s = native.nativeStatus();
    let faultsBuild = false;
    try {
      native.selectNativeVariant('faults');
      const f = native.nativeStatus();
      faultsBuild = f.loaded && f.builtWithCuda && f.faultsBuild;
    } finally {
      native.selectNativeVariant(s.variant);
    }
    if (!s.loaded) return { available: false, detail: `native addon not loaded: ${s.reason ?? 'unknown reason'}`, faultsBuild };
    if (!s.builtWithCuda) return { available: false, detail: `native addon built without CUDA${s.reason ? `: ${s.reason}` : ''}`, faultsBuild };
    const d = await native.deviceInfo();
    return { available: true, detail: `${d.name} (${d.sm}, ${(d.memoryBytes / 2 ** 30).toFixed(0)} GiB)`, faultsBuild };
  } catch (e) {
    return { available: false, detail: e instanceof Error ? `${e.name}: ${e.message}` : String(e), faultsBuild: false };
  }
}
