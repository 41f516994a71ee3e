// Placeholder until the native addon lands: the install step must not fail.
console.log('[moe-harness] native addon: not built yet');
