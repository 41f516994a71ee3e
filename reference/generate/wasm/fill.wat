;; Rng.fillFromTable16's loop (reference/rng.ts) in WebAssembly: xoshiro128** steps, each
;; giving two bytes table[r & 0xffff], table[r >>> 16], stored as one little-endian u16.
;; Memory: the 64 KiB table at 0, the generator state (s0..s3, i32) at 65536, the output
;; block from 65552. wasmFill.ts copies the table in, the state in and out, and each block out.
(module
  (memory (export "mem") 32)
  (func (export "fill16") (param $pairs i32)
    (local $s0 i32) (local $s1 i32) (local $s2 i32) (local $s3 i32)
    (local $r i32) (local $t i32) (local $out i32) (local $end i32)
    (local.set $s0 (i32.load (i32.const 65536)))
    (local.set $s1 (i32.load (i32.const 65540)))
    (local.set $s2 (i32.load (i32.const 65544)))
    (local.set $s3 (i32.load (i32.const 65548)))
    (local.set $out (i32.const 65552))
    (local.set $end (i32.add (i32.const 65552) (i32.shl (local.get $pairs) (i32.const 1))))
    (block $done
      (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
      (loop $next
        ;; r = rotl(s1 * 5, 7) * 9; then the state update, as Rng.u32
        (local.set $r (i32.mul (i32.rotl (i32.mul (local.get $s1) (i32.const 5)) (i32.const 7)) (i32.const 9)))
        (local.set $t (i32.shl (local.get $s1) (i32.const 9)))
        (local.set $s2 (i32.xor (local.get $s2) (local.get $s0)))
        (local.set $s3 (i32.xor (local.get $s3) (local.get $s1)))
        (local.set $s1 (i32.xor (local.get $s1) (local.get $s2)))
        (local.set $s0 (i32.xor (local.get $s0) (local.get $s3)))
        (local.set $s2 (i32.xor (local.get $s2) (local.get $t)))
        (local.set $s3 (i32.rotl (local.get $s3) (i32.const 11)))
        (i32.store16 (local.get $out)
          (i32.or
            (i32.load8_u (i32.and (local.get $r) (i32.const 0xffff)))
            (i32.shl (i32.load8_u (i32.shr_u (local.get $r) (i32.const 16))) (i32.const 8))))
        (local.set $out (i32.add (local.get $out) (i32.const 2)))
        (br_if $next (i32.lt_u (local.get $out) (local.get $end)))))
    (i32.store (i32.const 65536) (local.get $s0))
    (i32.store (i32.const 65540) (local.get $s1))
    (i32.store (i32.const 65544) (local.get $s2))
    (i32.store (i32.const 65548) (local.get $s3)))
)
