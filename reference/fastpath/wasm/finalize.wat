;; The finalize kernel (source of FINALIZE_WASM_BASE64 in analysisModule.ts, assembled by
;; build.mjs). It imports a SHARED memory: the per-slot outputs y, |y|, flip of every
;; worker and the token sums live there (runFast.ts), so any worker can sum any token.
(module
  (memory (import "env" "mem") 1 65536 shared)

  ;; slot(out, abs, flip, y, absY, flipY, H, w, aw, outputOnly): adds one slot's rows into
  ;; a token's sums, as finalize.ts does it, element by element:
  ;;   out[h] = fl32(out[h] + fl32(w·y[h]))                      (float32 lanes)
  ;;   abs[h] = fl32(abs[h] + aw·absY[h]), flip[h] likewise     (float64 lanes: the product
  ;;            of two float32 values is exact, the sum rounded to float64 and then float32)
  ;; abs/flip are skipped when outputOnly != 0, flip alone when hasFlip = 0 (a slot row without
  ;; flip allowance: adding |w|·0 would change nothing for a finite |w|). H a multiple of 4.
  (func (export "slot") (param $out i32) (param $abs i32) (param $flip i32) (param $y i32) (param $absY i32)
    (param $flipY i32) (param $H i32) (param $w f32) (param $aw f64) (param $outputOnly i32) (param $hasFlip i32)
    (local $o i32) (local $end i32) (local $wv v128) (local $awv v128) (local $v v128)
    (local.set $wv (f32x4.splat (local.get $w)))
    (local.set $awv (f64x2.splat (local.get $aw)))
    (local.set $end (i32.shl (local.get $H) (i32.const 2)))
    (local.set $o (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
        (v128.store (i32.add (local.get $out) (local.get $o))
          (f32x4.add (v128.load (i32.add (local.get $out) (local.get $o)))
            (f32x4.mul (local.get $wv) (v128.load (i32.add (local.get $y) (local.get $o))))))
        (if (i32.eqz (local.get $outputOnly))
          (then
            (local.set $v (v128.load (i32.add (local.get $absY) (local.get $o))))
            (v128.store (i32.add (local.get $abs) (local.get $o)) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
              (f32x4.demote_f64x2_zero (f64x2.add
                (f64x2.promote_low_f32x4 (v128.load (i32.add (local.get $abs) (local.get $o))))
                (f64x2.mul (local.get $awv) (f64x2.promote_low_f32x4 (local.get $v)))))
              (f32x4.demote_f64x2_zero (f64x2.add
                (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (i32.add (local.get $abs) (local.get $o))))
                (f64x2.mul (local.get $awv) (f64x2.promote_low_f32x4
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))))))
            (if (local.get $hasFlip) (then
            (local.set $v (v128.load (i32.add (local.get $flipY) (local.get $o))))
            (v128.store (i32.add (local.get $flip) (local.get $o)) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
              (f32x4.demote_f64x2_zero (f64x2.add
                (f64x2.promote_low_f32x4 (v128.load (i32.add (local.get $flip) (local.get $o))))
                (f64x2.mul (local.get $awv) (f64x2.promote_low_f32x4 (local.get $v)))))
              (f32x4.demote_f64x2_zero (f64x2.add
                (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (i32.add (local.get $flip) (local.get $o))))
                (f64x2.mul (local.get $awv) (f64x2.promote_low_f32x4
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))))))))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $next))))
)
