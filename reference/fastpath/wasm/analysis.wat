;; The fast path's analysis kernels in WebAssembly SIMD (source of analysisModule.ts:
;; `node reference/fastpath/wasm/build.mjs` assembles it with wabt and writes the bytes).
;; The module imports tfjs-backend-wasm's memory, so it reads the FC1 weight chunk where
;; the GEMM read it. Every kernel computes bit for bit what its JS twin in
;; analysisKernels.ts computes (same operations, same order, IEEE float32/float64 lanes;
;; WebAssembly never contracts a*b+c into an FMA and never flushes subnormals).
(module
  (memory (import "env" "mem") 0)

  ;; absdots(u, g, x, n, out): out[0..1] = Σ_{h even, h odd} |U[h]|·|x[h]| and
  ;; out[2..3] the same for G, in float64 (products of float32 values are exact in
  ;; float64), each lane summed in increasing h: the JS loop's su0/su1/sg0/sg1.
  ;; u, g, x: float32 rows of n elements (n a multiple of 4); out: 4 float64.
  (func (export "absdots") (param $u i32) (param $g i32) (param $x i32) (param $n i32) (param $out i32)
    (local $su v128) (local $sg v128) (local $xv v128) (local $wu v128) (local $wg v128) (local $end i32)
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $xv (f32x4.abs (v128.load (local.get $x))))
        (local.set $wu (f32x4.abs (v128.load (local.get $u))))
        (local.set $wg (f32x4.abs (v128.load (local.get $g))))
        (local.set $su (f64x2.add (local.get $su)
          (f64x2.mul (f64x2.promote_low_f32x4 (local.get $wu)) (f64x2.promote_low_f32x4 (local.get $xv)))))
        (local.set $sg (f64x2.add (local.get $sg)
          (f64x2.mul (f64x2.promote_low_f32x4 (local.get $wg)) (f64x2.promote_low_f32x4 (local.get $xv)))))
        (local.set $xv (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $xv) (local.get $xv)))
        (local.set $wu (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $wu) (local.get $wu)))
        (local.set $wg (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $wg) (local.get $wg)))
        (local.set $su (f64x2.add (local.get $su)
          (f64x2.mul (f64x2.promote_low_f32x4 (local.get $wu)) (f64x2.promote_low_f32x4 (local.get $xv)))))
        (local.set $sg (f64x2.add (local.get $sg)
          (f64x2.mul (f64x2.promote_low_f32x4 (local.get $wg)) (f64x2.promote_low_f32x4 (local.get $xv)))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $u (i32.add (local.get $u) (i32.const 16)))
        (local.set $g (i32.add (local.get $g) (i32.const 16)))
        (br $next)))
    (v128.store (local.get $out) (local.get $su))
    (v128.store offset=16 (local.get $out) (local.get $sg)))

  ;; blockamax(src, nBlocks, B, dst): dst[b] = max |src[b·B .. b·B+B)| (float32; NaN when
  ;; the block holds a NaN, +Inf when it holds an infinity and no NaN). B = 16 or 32.
  (func (export "blockamax") (param $src i32) (param $nb i32) (param $B i32) (param $dst i32)
    (local $m v128) (local $end i32) (local $e i32)
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $nb) (i32.const 2))))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        (local.set $e (i32.add (local.get $src) (i32.shl (local.get $B) (i32.const 2))))
        (local.set $m (v128.const i32x4 0 0 0 0))
        (loop $lanes
          (local.set $m (f32x4.max (local.get $m) (f32x4.abs (v128.load (local.get $src)))))
          (local.set $src (i32.add (local.get $src) (i32.const 16)))
          (br_if $lanes (i32.lt_u (local.get $src) (local.get $e))))
        (local.set $m (f32x4.max (local.get $m)
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $m) (local.get $m))))
        (local.set $m (f32x4.max (local.get $m)
          (i8x16.shuffle 4 5 6 7 0 1 2 3 12 13 14 15 8 9 10 11 (local.get $m) (local.get $m))))
        (f32.store (local.get $dst) (f32x4.extract_lane 0 (local.get $m)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (br $blocks))))

  ;; requant(src, dst, nBlocks, B, scales, mx): dst = the re-quantized src, block by block
  ;; with the block scales s = scales[b] (float32): s NaN → the block becomes NaN; s = 0 →
  ;; +0; else nvfp4 (mx = 0): q = e2m1(fl32(a / s))·s; mxfp8 (mx = 1, s a power of two):
  ;; q = e4m3(fl32(a · (1/s)))·s. Rounding to nearest even, saturation at 6 and 448, as
  ;; quant/requantize.ts (the same bit operations and magic-number additions, in float32:
  ;; 2^22 + x for e2m1's multiples of 0.5, 2^14 + x for e4m3's multiples of 2^-9).
  (func (export "requant") (param $src i32) (param $dst i32) (param $nb i32) (param $B i32) (param $scales i32) (param $mx i32)
    (local $s f32) (local $sv v128) (local $inv v128) (local $e i32) (local $end i32)
    (local $v v128) (local $mag v128) (local $big v128) (local $r v128) (local $small v128) (local $sign v128)
    (local $one v128) (local $magic v128) (local $rnd v128) (local $keep v128) (local $sat v128) (local $sh i32) (local $lim v128)
    (if (local.get $mx)
      (then
        (local.set $one (v128.const i32x4 0x3c800000 0x3c800000 0x3c800000 0x3c800000))
        (local.set $magic (v128.const f32x4 16384 16384 16384 16384))
        (local.set $rnd (v128.const i32x4 0x7ffff 0x7ffff 0x7ffff 0x7ffff))
        (local.set $keep (v128.const i32x4 0x7ff00000 0x7ff00000 0x7ff00000 0x7ff00000))
        (local.set $sat (v128.const i32x4 0x43e00000 0x43e00000 0x43e00000 0x43e00000))
        (local.set $sh (i32.const 20)))
      (else
        (local.set $one (v128.const i32x4 0x3f800000 0x3f800000 0x3f800000 0x3f800000))
        (local.set $magic (v128.const f32x4 4194304 4194304 4194304 4194304))
        (local.set $rnd (v128.const i32x4 0x1fffff 0x1fffff 0x1fffff 0x1fffff))
        (local.set $keep (v128.const i32x4 0x7fc00000 0x7fc00000 0x7fc00000 0x7fc00000))
        (local.set $sat (v128.const i32x4 0x40c00000 0x40c00000 0x40c00000 0x40c00000))
        (local.set $sh (i32.const 22))))
    (local.set $end (i32.add (local.get $scales) (i32.shl (local.get $nb) (i32.const 2))))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $scales) (local.get $end)))
        (local.set $s (f32.load (local.get $scales)))
        (local.set $e (i32.add (local.get $src) (i32.shl (local.get $B) (i32.const 2))))
        (local.set $sv (f32x4.splat (local.get $s)))
        (local.set $inv (f32x4.splat (f32.div (f32.const 1) (local.get $s))))
        (if (i32.or (f32.ne (local.get $s) (local.get $s)) (f32.eq (local.get $s) (f32.const 0)))
          (then
            ;; NaN block (s NaN: stores s) or zero block (s = 0: stores +0)
            (loop $fill
              (v128.store (local.get $dst) (local.get $sv))
              (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
              (local.set $src (i32.add (local.get $src) (i32.const 16)))
              (br_if $fill (i32.lt_u (local.get $src) (local.get $e)))))
          (else
            (loop $lanes
              (local.set $v (v128.load (local.get $src)))
              (if (local.get $mx)
                (then (local.set $v (f32x4.mul (local.get $v) (local.get $inv))))
                (else (local.set $v (f32x4.div (local.get $v) (local.get $sv)))))
              (local.set $sign (v128.and (local.get $v) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000)))
              (local.set $mag (v128.and (local.get $v) (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff)))
              (local.set $big (i32x4.ge_u (local.get $mag) (local.get $one)))
              (local.set $r (v128.and
                (i32x4.add (i32x4.add (local.get $mag) (local.get $rnd))
                  (v128.and (i32x4.shr_u (local.get $mag) (local.get $sh)) (v128.const i32x4 1 1 1 1)))
                (local.get $keep)))
              (local.set $r (i32x4.min_u (local.get $r) (local.get $sat)))
              (local.set $small (f32x4.sub (f32x4.add (local.get $mag) (local.get $magic)) (local.get $magic)))
              (local.set $r (v128.or (local.get $sign) (v128.bitselect (local.get $r) (local.get $small) (local.get $big))))
              (v128.store (local.get $dst) (f32x4.mul (local.get $r) (local.get $sv)))
              (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
              (local.set $src (i32.add (local.get $src) (i32.const 16)))
              (br_if $lanes (i32.lt_u (local.get $src) (local.get $e))))))
        (local.set $scales (i32.add (local.get $scales) (i32.const 4)))
        (br $blocks))))
)
