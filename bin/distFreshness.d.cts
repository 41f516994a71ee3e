/** Types of distFreshness.cjs (see there). */
export interface DistFreshness { readonly fresh: boolean; readonly reason: string }
export function sourceFiles(root: string): string[];
export function sourceDigest(root: string): string;
export function distFreshness(root: string): DistFreshness;
export function begin(root: string): void;
export function commit(root: string): void;
