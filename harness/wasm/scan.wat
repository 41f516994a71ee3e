;; The common element of compare()'s element loop (harness/compare.ts, ElementScan.row) in
;; WebAssembly, over a chunk of rows copied in by harness/wasmScan.ts. An element is common when
;; its bf16 output is not poison pattern 1 and finite, its reference is finite, and
;; r = |out − ref| / bound ≤ 1 with bound = accumulationFactor·absAccum + ½ulp(out) + absoluteFloor
;; (+ the convention bound), all in float64 as the JS loop computes them. A common element is
;; counted in its within-bound bin; the first common element and the first with the largest r
;; are reported; every other element's index goes to the slow list, judged by ElementScan.element.
;;
;; Memory: halfUlp f64[256] at 0, the within-bound bin table u8[1024] at 2048, bins i32[64] at
;; 3072 (added to), results at 3328 (worst r f64, its index i32, the first common index i32);
;; the chunk's arrays at the offsets passed.
(module
  (memory (export "mem") 1)
  (func (export "scan")
        (param $n i32) (param $o i32) (param $r i32) (param $a i32) (param $c i32) (param $s i32)
        (param $p1 i32) (param $af f64) (param $floor f64) (result i32)
    (local $i i32) (local $ns i32) (local $v i32) (local $e i32)
    (local $ref f64) (local $bound f64) (local $ratio f64) (local $bits i64) (local $slot i32)
    (local $worst f64) (local $wi i32) (local $first i32)
    (local.set $worst (f64.const -inf))
    (local.set $wi (i32.const -1))
    (local.set $first (i32.const -1))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (block $slow
          (local.set $v (i32.load16_u (i32.add (local.get $o) (i32.shl (local.get $i) (i32.const 1)))))
          (local.set $e (i32.and (i32.shr_u (local.get $v) (i32.const 7)) (i32.const 0xff)))
          (br_if $slow (i32.eq (local.get $v) (local.get $p1)))
          (br_if $slow (i32.eq (local.get $e) (i32.const 0xff)))
          (local.set $ref (f64.promote_f32 (f32.load (i32.add (local.get $r) (i32.shl (local.get $i) (i32.const 2))))))
          (br_if $slow (f64.ne (f64.sub (local.get $ref) (local.get $ref)) (f64.const 0)))
          (local.set $bound
            (f64.add
              (f64.add
                (f64.mul (local.get $af) (f64.promote_f32 (f32.load (i32.add (local.get $a) (i32.shl (local.get $i) (i32.const 2))))))
                (f64.load (i32.shl (local.get $e) (i32.const 3))))
              (local.get $floor)))
          (if (local.get $c)
            (then (local.set $bound (f64.add (local.get $bound)
              (f64.promote_f32 (f32.load (i32.add (local.get $c) (i32.shl (local.get $i) (i32.const 2)))))))))
          (local.set $ratio
            (f64.div
              (f64.abs (f64.sub (f64.promote_f32 (f32.reinterpret_i32 (i32.shl (local.get $v) (i32.const 16)))) (local.get $ref)))
              (local.get $bound)))
          (br_if $slow (i32.eqz (f64.le (local.get $ratio) (f64.const 1))))
          ;; common: its bin (exponent field, +1 when the mantissa is not zero), the first, the worst
          (local.set $bits (i64.reinterpret_f64 (local.get $ratio)))
          (local.set $slot (i32.add (i32.const 3072) (i32.shl
            (i32.load8_u (i32.add (i32.const 2048) (i32.add
              (i32.wrap_i64 (i64.shr_u (local.get $bits) (i64.const 52)))
              (i64.ne (i64.and (local.get $bits) (i64.const 0xfffffffffffff)) (i64.const 0)))))
            (i32.const 2))))
          (i32.store (local.get $slot) (i32.add (i32.load (local.get $slot)) (i32.const 1)))
          (if (f64.gt (local.get $ratio) (local.get $worst))
            (then (local.set $worst (local.get $ratio)) (local.set $wi (local.get $i))))
          (if (i32.lt_s (local.get $first) (i32.const 0)) (then (local.set $first (local.get $i))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next))
        (i32.store (i32.add (local.get $s) (i32.shl (local.get $ns) (i32.const 2))) (local.get $i))
        (local.set $ns (i32.add (local.get $ns) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (f64.store (i32.const 3328) (local.get $worst))
    (i32.store (i32.const 3336) (local.get $wi))
    (i32.store (i32.const 3340) (local.get $first))
    (local.get $ns))
)
