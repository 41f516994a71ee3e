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
    (local $one v128) (local $magic v128) (local $rnd v128) (local $keep v128) (local $sat v128) (local $sh i32)
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

  ;; radfilter(n, R, B, mx, a, ahat, gate, sig, lin, norm, tok, ep, codes, tab, rad, flags):
  ;; the fragility prefilter of one FC1 chunk (n tokens × R elements, chunk-major: element
  ;; (p, r) at p·R + r; blocks of B along r, block index (p·R + r) / B).
  ;; a and ahat point at the chunk; gate, sig, lin, rad hold the chunk alone (same indices).
  ;;  1. rad[e] = windowRadius (errorWindow.ts) with the Cauchy–Schwarz sums
  ;;     sUp = norm[r]·xn_p, sGate = norm[R + r]·xn_p (tok[p] = (pre_p, xn_p) float64,
  ;;     ep = (ρ, |gateScale|, |upScale|, alpha, |beta·c|) float64, gate/sig/lin/a float32),
  ;;     the same float64 operations in the same order;
  ;;  2. flags[b] = 0 when the block certainly needs nothing (RowAnalyzer would emit and
  ;;     count nothing): its bounded amax window [loB, hiB] lies inside the amax interval of
  ;;     its scale code codes[b] (tab: conservative bounds LOX/HIX per code) and every
  ;;     element passes the "cannot move" test of errorWindow.ts (same slack, same tables
  ;;     EHI/ELO); 1 otherwise (RowAnalyzer then runs on the block).
  ;; tab (float64): SV[256] scale values, LOX[256], HIX[256], EHI[128], ELO[128].
  (func (export "radfilter")
    (param $n i32) (param $R i32) (param $B i32) (param $mx i32)
    (param $a i32) (param $ahat i32) (param $gate i32) (param $sig i32) (param $lin i32)
    (param $norm i32) (param $tok i32) (param $ep i32) (param $codes i32) (param $tab i32)
    (param $rad i32) (param $flags i32)
    (local $p i32) (local $r0 i32) (local $r i32) (local $j i32) (local $e i32) (local $b i32) (local $c i32) (local $flag i32)
    (local $rho f64) (local $ags f64) (local $aus f64) (local $alpha f64) (local $abc f64) (local $halfAlpha f64)
    (local $w f64) (local $xn f64) (local $v f64) (local $m f64)
    (local $rb f64) (local $hiB f64) (local $loB f64) (local $t f64)
    (local $inv f64) (local $rr f64) (local $y f32) (local $bits i32)
    (local $gf v128) (local $sf v128) (local $gV v128) (local $sV v128) (local $lV v128) (local $vV v128) (local $siluV v128)
    (local $dGV v128) (local $dUV v128) (local $slopeV v128) (local $rbV v128) (local $tV v128) (local $hiV v128) (local $loV v128)
    (local $rhoV v128) (local $agsV v128) (local $ausV v128) (local $alphaV v128) (local $abcV v128) (local $halfAlphaV v128)
    (local $wV v128) (local $xnV v128) (local $invV v128) (local $okV v128) (local $mV v128) (local $kV v128) (local $rrV v128) (local $halfV v128)
    (local.set $rho (f64.load (local.get $ep)))
    (local.set $ags (f64.load offset=8 (local.get $ep)))
    (local.set $aus (f64.load offset=16 (local.get $ep)))
    (local.set $alpha (f64.load offset=24 (local.get $ep)))
    (local.set $abc (f64.load offset=32 (local.get $ep)))
    (local.set $halfAlpha (f64.mul (f64.const 0.5) (f64.abs (local.get $alpha))))
    (local.set $rhoV (f64x2.splat (local.get $rho)))
    (local.set $agsV (f64x2.splat (local.get $ags)))
    (local.set $ausV (f64x2.splat (local.get $aus)))
    (local.set $alphaV (f64x2.splat (local.get $alpha)))
    (local.set $abcV (f64x2.splat (local.get $abc)))
    (local.set $halfAlphaV (f64x2.splat (local.get $halfAlpha)))
    (local.set $e (i32.const 0))
    (local.set $b (i32.const 0))
    (local.set $p (i32.const 0))
    (block $tokensDone
      (loop $tokens
        (br_if $tokensDone (i32.ge_u (local.get $p) (local.get $n)))
        (local.set $w (f64.abs (f64.load (i32.add (local.get $tok) (i32.shl (local.get $p) (i32.const 4))))))
        (local.set $xn (f64.load offset=8 (i32.add (local.get $tok) (i32.shl (local.get $p) (i32.const 4)))))
        (local.set $wV (f64x2.splat (local.get $w)))
        (local.set $xnV (f64x2.splat (local.get $xn)))
        (local.set $r0 (i32.const 0))
        (block $blocksDone
          (loop $blocks
            (br_if $blocksDone (i32.ge_u (local.get $r0) (local.get $R)))
            ;; 1. radius bounds of the block's elements, two per pass (float64 lanes: each
            ;;    lane the scalar formula), and its bounded amax window
            (local.set $hiV (v128.const f64x2 0 0))
            (local.set $loV (v128.const f64x2 0 0))
            (local.set $j (i32.const 0))
            (loop $elems
              (local.set $r (i32.add (local.get $r0) (local.get $j)))
              (local.set $c (i32.shl (i32.add (local.get $e) (local.get $j)) (i32.const 2)))
              (local.set $gf (v128.load64_zero (i32.add (local.get $gate) (local.get $c))))
              (local.set $sf (v128.load64_zero (i32.add (local.get $sig) (local.get $c))))
              (local.set $gV (f64x2.promote_low_f32x4 (local.get $gf)))
              (local.set $sV (f64x2.promote_low_f32x4 (local.get $sf)))
              (local.set $lV (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $lin) (local.get $c)))))
              (local.set $vV (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $a) (local.get $c)))))
              (local.set $siluV (f64x2.abs (f64x2.promote_low_f32x4 (f32x4.mul (local.get $gf) (local.get $sf)))))
              ;; dG = ρ·sGate·w·|gateScale| + 4u·|gate|, sGate = norm[R + r]·xn
              (local.set $dGV (f64x2.add
                (f64x2.mul (f64x2.mul (f64x2.mul (local.get $rhoV)
                  (f64x2.mul (v128.load (i32.add (local.get $norm) (i32.shl (i32.add (local.get $R) (local.get $r)) (i32.const 3)))) (local.get $xnV)))
                  (local.get $wV)) (local.get $agsV))
                (f64x2.mul (v128.const f64x2 0x1p-22 0x1p-22) (f64x2.abs (local.get $gV)))))
              ;; dU = ρ·sUp·w·|upScale| + 4u·(|lin| + |beta·c|), sUp = norm[r]·xn
              (local.set $dUV (f64x2.add
                (f64x2.mul (f64x2.mul (f64x2.mul (local.get $rhoV)
                  (f64x2.mul (v128.load (i32.add (local.get $norm) (i32.shl (local.get $r) (i32.const 3)))) (local.get $xnV)))
                  (local.get $wV)) (local.get $ausV))
                (f64x2.mul (v128.const f64x2 0x1p-22 0x1p-22) (f64x2.add (f64x2.abs (local.get $lV)) (local.get $abcV)))))
              ;; slope = |s + (alpha·g)·s·(1 - s)|·(1 + 1e-6) + 1e-7 + 0.5·|alpha|·dG, at most 1.1
              (local.set $slopeV (f64x2.add
                (f64x2.add
                  (f64x2.mul (f64x2.abs (f64x2.add (local.get $sV)
                    (f64x2.mul (f64x2.mul (f64x2.mul (local.get $alphaV) (local.get $gV)) (local.get $sV))
                      (f64x2.sub (v128.const f64x2 1 1) (local.get $sV)))))
                    (v128.const f64x2 1.000001 1.000001))
                  (v128.const f64x2 1e-7 1e-7))
                (f64x2.mul (local.get $halfAlphaV) (local.get $dGV))))
              (local.set $slopeV (v128.bitselect (v128.const f64x2 1.1 1.1) (local.get $slopeV)
                (f64x2.gt (local.get $slopeV) (v128.const f64x2 1.1 1.1))))
              ;; rb = slope·dG·(|lin| + dU) + |silu|·dU + 16u·|a| + 4·2^-149
              (local.set $rbV (f64x2.add
                (f64x2.add
                  (f64x2.add
                    (f64x2.mul (f64x2.mul (local.get $slopeV) (local.get $dGV)) (f64x2.add (f64x2.abs (local.get $lV)) (local.get $dUV)))
                    (f64x2.mul (local.get $siluV) (local.get $dUV)))
                  (f64x2.mul (v128.const f64x2 0x1p-20 0x1p-20) (f64x2.abs (local.get $vV))))
                (v128.const f64x2 0x1p-147 0x1p-147)))
              (v128.store (i32.add (local.get $rad) (i32.shl (local.get $c) (i32.const 1))) (local.get $rbV))
              ;; hiB = max(hiB, |a| + rb), loB = max(loB, |a| - rb), NaN ignored (as "if (t > x) x = t")
              (local.set $tV (f64x2.add (f64x2.abs (local.get $vV)) (local.get $rbV)))
              (local.set $hiV (v128.bitselect (local.get $tV) (local.get $hiV) (f64x2.gt (local.get $tV) (local.get $hiV))))
              (local.set $tV (f64x2.sub (f64x2.abs (local.get $vV)) (local.get $rbV)))
              (local.set $loV (v128.bitselect (local.get $tV) (local.get $loV) (f64x2.gt (local.get $tV) (local.get $loV))))
              (local.set $j (i32.add (local.get $j) (i32.const 2)))
              (br_if $elems (i32.lt_u (local.get $j) (local.get $B))))
            (local.set $hiB (f64x2.extract_lane 0 (local.get $hiV)))
            (local.set $t (f64x2.extract_lane 1 (local.get $hiV)))
            (if (f64.gt (local.get $t) (local.get $hiB)) (then (local.set $hiB (local.get $t))))
            (local.set $loB (f64x2.extract_lane 0 (local.get $loV)))
            (local.set $t (f64x2.extract_lane 1 (local.get $loV)))
            (if (f64.gt (local.get $t) (local.get $loB)) (then (local.set $loB (local.get $t))))
            ;; 2. the block's flag
            (local.set $flag (i32.const 1))
            (local.set $c (i32.load (i32.add (local.get $codes) (i32.shl (local.get $b) (i32.const 2)))))
            (block $decided
              (br_if $decided (i32.ge_u (local.get $c) (i32.const 256)))
              (br_if $decided (i32.eqz (f64.le (f64.load offset=2048 (i32.add (local.get $tab) (i32.shl (local.get $c) (i32.const 3)))) (local.get $loB))))
              (br_if $decided (i32.eqz (f64.le (local.get $hiB) (f64.load offset=4096 (i32.add (local.get $tab) (i32.shl (local.get $c) (i32.const 3)))))))
              (local.set $inv (f64.div (f64.const 1) (f64.load (i32.add (local.get $tab) (i32.shl (local.get $c) (i32.const 3))))))
              ;; nvfp4 with a non-zero scale: two elements per pass, no branches. The e2m1
              ;; midpoints come from 2·magnitude k = nearest(2·|q|·inv) by formula (the same
              ;; values as the EHI/ELO tables: k/2 + 0.25, 0.5, 1 or inf above; k/2 - 0.25,
              ;; 0.5 or 1 below); k not an e2m1 magnitude fails.
              (local.set $j (i32.const 0))
              (if (i32.and (i32.eqz (local.get $mx)) (f64.ne (local.get $inv) (f64.const inf)))
                (then
                  (local.set $invV (f64x2.splat (local.get $inv)))
                  (local.set $okV (v128.const i64x2 -1 -1))
                  (local.set $j (i32.const 0))
                  (loop $staysV
                    (local.set $c (i32.add (local.get $e) (local.get $j)))
                    (local.set $mV (f64x2.abs (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $a) (i32.shl (local.get $c) (i32.const 2)))))))
                    (local.set $kV (f64x2.nearest (f64x2.mul (f64x2.mul
                      (f64x2.abs (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $ahat) (i32.shl (local.get $c) (i32.const 2))))))
                      (local.get $invV)) (v128.const f64x2 2 2))))
                    (local.set $rrV (f64x2.add (f64x2.add
                      (f64x2.mul (v128.load (i32.add (local.get $rad) (i32.shl (local.get $c) (i32.const 3)))) (v128.const f64x2 0x1.00001p0 0x1.00001p0))
                      (f64x2.mul (local.get $mV) (v128.const f64x2 0x1p-22 0x1p-22))) (v128.const f64x2 0x1p-146 0x1p-146)))
                    (local.set $halfV (f64x2.mul (local.get $kV) (v128.const f64x2 0.5 0.5)))
                    ;; upper midpoint: k < 4: +0.25; k < 8: +0.5; k = 8: +1; k = 12: inf
                    (local.set $tV (v128.bitselect (v128.const f64x2 0.25 0.25)
                      (v128.bitselect (v128.const f64x2 0.5 0.5)
                        (v128.bitselect (v128.const f64x2 1 1) (v128.const f64x2 inf inf) (f64x2.eq (local.get $kV) (v128.const f64x2 8 8)))
                        (f64x2.lt (local.get $kV) (v128.const f64x2 8 8)))
                      (f64x2.lt (local.get $kV) (v128.const f64x2 4 4))))
                    (local.set $okV (v128.and (local.get $okV) (f64x2.lt
                      (f64x2.mul (f64x2.add (local.get $mV) (local.get $rrV)) (local.get $invV))
                      (f64x2.add (local.get $halfV) (local.get $tV)))))
                    ;; lower midpoint (k = 0 has none): k <= 4: -0.25; k <= 8: -0.5; else -1
                    (local.set $tV (v128.bitselect (v128.const f64x2 0.25 0.25)
                      (v128.bitselect (v128.const f64x2 0.5 0.5) (v128.const f64x2 1 1) (f64x2.le (local.get $kV) (v128.const f64x2 8 8)))
                      (f64x2.le (local.get $kV) (v128.const f64x2 4 4))))
                    (local.set $okV (v128.and (local.get $okV) (v128.or (f64x2.eq (local.get $kV) (v128.const f64x2 0 0))
                      (f64x2.gt
                        (f64x2.mul (f64x2.sub (local.get $mV) (local.get $rrV)) (local.get $invV))
                        (f64x2.sub (local.get $halfV) (local.get $tV))))))
                    ;; k an e2m1 magnitude: 0..4, 6, 8 or 12
                    (local.set $okV (v128.and (local.get $okV) (v128.or (v128.or
                      (f64x2.le (local.get $kV) (v128.const f64x2 4 4))
                      (f64x2.eq (local.get $kV) (v128.const f64x2 6 6)))
                      (v128.or (f64x2.eq (local.get $kV) (v128.const f64x2 8 8)) (f64x2.eq (local.get $kV) (v128.const f64x2 12 12))))))
                    (local.set $j (i32.add (local.get $j) (i32.const 2)))
                    (br_if $staysV (i32.lt_u (local.get $j) (local.get $B))))
                  (br_if $decided (i32.eqz (i64x2.all_true (local.get $okV))))
                  (local.set $j (local.get $B))))
              (if (i32.lt_u (local.get $j) (local.get $B)) (then
              (local.set $j (i32.const 0))
              (loop $stays
                (local.set $c (i32.add (local.get $e) (local.get $j)))
                (local.set $v (f64.promote_f32 (f32.load (i32.add (local.get $a) (i32.shl (local.get $c) (i32.const 2))))))
                (local.set $y (f32.abs (f32.load (i32.add (local.get $ahat) (i32.shl (local.get $c) (i32.const 2))))))
                (local.set $rb (f64.load (i32.add (local.get $rad) (i32.shl (local.get $c) (i32.const 3)))))
                (local.set $m (f64.abs (local.get $v)))
                (local.set $rr (f64.add (f64.add (f64.mul (local.get $rb) (f64.const 0x1.00001p0)) (f64.mul (local.get $m) (f64.const 0x1p-22))) (f64.const 0x1p-146)))
                (if (local.get $mx)
                  (then
                    ;; e4m3 code of |q|·inv (an e4m3 value, exactly: the scale is a power of two)
                    (local.set $y (f32.demote_f64 (f64.mul (f64.promote_f32 (local.get $y)) (local.get $inv))))
                    (local.set $bits (i32.reinterpret_f32 (local.get $y)))
                    (if (i32.ge_u (local.get $bits) (i32.const 0x3c800000))
                      (then (local.set $c (i32.or
                        (i32.shl (i32.sub (i32.shr_u (local.get $bits) (i32.const 23)) (i32.const 120)) (i32.const 3))
                        (i32.and (i32.shr_u (local.get $bits) (i32.const 20)) (i32.const 7)))))
                      (else (local.set $c (i32.trunc_sat_f32_u (f32.mul (local.get $y) (f32.const 512)))))))
                  (else
                    ;; scale 0: everything quantizes to 0, the element stays
                    (if (f64.eq (local.get $inv) (f64.const inf))
                      (then (local.set $c (i32.const -2)))
                      (else (local.set $c (i32.trunc_sat_f64_u (f64.nearest
                        (f64.mul (f64.mul (f64.promote_f32 (local.get $y)) (local.get $inv)) (f64.const 2)))))))))
                (if (i32.ne (local.get $c) (i32.const -2))
                  (then
                    (br_if $decided (i32.ge_u (local.get $c) (i32.const 128)))
                    (br_if $decided (i32.eqz (f64.lt
                      (f64.mul (f64.add (local.get $m) (local.get $rr)) (local.get $inv))
                      (f64.load offset=6144 (i32.add (local.get $tab) (i32.shl (local.get $c) (i32.const 3)))))))
                    (if (local.get $c)
                      (then
                        (br_if $decided (i32.eqz (f64.gt
                          (f64.mul (f64.sub (local.get $m) (local.get $rr)) (local.get $inv))
                          (f64.load offset=7168 (i32.add (local.get $tab) (i32.shl (local.get $c) (i32.const 3)))))))))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br_if $stays (i32.lt_u (local.get $j) (local.get $B))))))
              (local.set $flag (i32.const 0)))
            (i32.store8 (i32.add (local.get $flags) (local.get $b)) (local.get $flag))
            (local.set $e (i32.add (local.get $e) (local.get $B)))
            (local.set $b (i32.add (local.get $b) (i32.const 1)))
            (local.set $r0 (i32.add (local.get $r0) (local.get $B)))
            (br $blocks)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $tokens))))

  ;; flips(w, I, nh, G, gs, fi, fc, out): the sparse flip allowance of one W2 row chunk.
  ;; w: nh rows of I float32 (W2 or |W2|: the kernel takes |w|; nh a multiple of 4); groups g = 0..G-1 (one per token)
  ;; hold entries f = gs[g] .. gs[g+1]-1 (int32 starts) with column fi[f] (int32) and
  ;; coefficient fc[f] (float64). out[g·nh + q] = fl32(0 + Σ_f |W2[q, fi[f]]|·fc[f]), the
  ;; float64 sum in entry order. Four rows at a time (one float64 lane each: every lane
  ;; sums in entry order), so four independent chains run together.
  (func (export "flips") (param $w i32) (param $I i32) (param $nh i32) (param $G i32)
    (param $gs i32) (param $fi i32) (param $fc i32) (param $out i32)
    (local $q i32) (local $row i32) (local $stride i32) (local $g i32) (local $f i32) (local $fe i32) (local $o i32)
    (local $p i32) (local $c v128) (local $x v128) (local $acc01 v128) (local $acc23 v128)
    (local.set $stride (i32.shl (local.get $I) (i32.const 2)))
    (local.set $q (i32.const 0))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $q) (local.get $nh)))
        (local.set $row (i32.add (local.get $w) (i32.mul (local.get $q) (local.get $stride))))
        (local.set $o (i32.add (local.get $out) (i32.shl (local.get $q) (i32.const 2))))
        (local.set $g (i32.const 0))
        (local.set $f (i32.load (local.get $gs)))
        (block $groupsDone
          (loop $groups
            (br_if $groupsDone (i32.ge_u (local.get $g) (local.get $G)))
            (local.set $fe (i32.load offset=4 (i32.add (local.get $gs) (i32.shl (local.get $g) (i32.const 2)))))
            (local.set $acc01 (v128.const f64x2 0 0))
            (local.set $acc23 (v128.const f64x2 0 0))
            (block $entriesDone
              (loop $entries
                (br_if $entriesDone (i32.ge_u (local.get $f) (local.get $fe)))
                (local.set $p (i32.add (local.get $row)
                  (i32.shl (i32.load (i32.add (local.get $fi) (i32.shl (local.get $f) (i32.const 2)))) (i32.const 2))))
                (local.set $x (v128.load32_zero (local.get $p)))
                (local.set $p (i32.add (local.get $p) (local.get $stride)))
                (local.set $x (v128.load32_lane 1 (local.get $p) (local.get $x)))
                (local.set $p (i32.add (local.get $p) (local.get $stride)))
                (local.set $x (v128.load32_lane 2 (local.get $p) (local.get $x)))
                (local.set $p (i32.add (local.get $p) (local.get $stride)))
                (local.set $x (f32x4.abs (v128.load32_lane 3 (local.get $p) (local.get $x))))
                (local.set $c (v128.load64_splat (i32.add (local.get $fc) (i32.shl (local.get $f) (i32.const 3)))))
                (local.set $acc01 (f64x2.add (local.get $acc01) (f64x2.mul (f64x2.promote_low_f32x4 (local.get $x)) (local.get $c))))
                (local.set $acc23 (f64x2.add (local.get $acc23) (f64x2.mul (f64x2.promote_low_f32x4
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $x) (local.get $x))) (local.get $c))))
                (local.set $f (i32.add (local.get $f) (i32.const 1)))
                (br $entries)))
            (v128.store (local.get $o) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
              (f32x4.demote_f64x2_zero (local.get $acc01)) (f32x4.demote_f64x2_zero (local.get $acc23))))
            (local.set $o (i32.add (local.get $o) (i32.shl (local.get $nh) (i32.const 2))))
            (local.set $g (i32.add (local.get $g) (i32.const 1)))
            (br $groups)))
        (local.set $q (i32.add (local.get $q) (i32.const 4)))
        (br $rows))))

  ;; transpose(src, rows, cols, dst, dst2, scale, mode): dst[c·rows + r] = f(src[r·cols + c])
  ;; for the float32 matrix src [rows, cols]; f: mode 0 the value, mode 1 fl32(v·scale),
  ;; mode 2 fl32(|v|·scale) (float32 products: Math.fround of the double product). When
  ;; dst2 != 0, |f(v)| goes to dst2 the same way.
  ;; Four rows at a time (one 16-byte store per column), the rows % 4 remainder one by one.
  (func (export "transpose") (param $src i32) (param $rows i32) (param $cols i32) (param $dst i32)
    (param $dst2 i32) (param $scale f32) (param $mode i32)
    (local $r i32) (local $c i32) (local $p i32) (local $rowB i32) (local $colB i32) (local $x v128) (local $sv v128)
    (local $r4 i32) (local $o i32)
    (local.set $sv (f32x4.splat (local.get $scale)))
    (local.set $rowB (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $colB (i32.shl (local.get $rows) (i32.const 2)))
    (local.set $r4 (i32.and (local.get $rows) (i32.const -4)))
    (local.set $r (i32.const 0))
    (block $blocksDone
      (loop $blocks
        (br_if $blocksDone (i32.ge_u (local.get $r) (local.get $r4)))
        (local.set $c (i32.const 0))
        (local.set $o (i32.shl (local.get $r) (i32.const 2)))
        (block $colsDone
          (loop $cols
            (br_if $colsDone (i32.ge_u (local.get $c) (local.get $cols)))
            (local.set $p (i32.add (local.get $src)
              (i32.shl (i32.add (i32.mul (local.get $r) (local.get $cols)) (local.get $c)) (i32.const 2))))
            (local.set $x (v128.load32_zero (local.get $p)))
            (local.set $p (i32.add (local.get $p) (local.get $rowB)))
            (local.set $x (v128.load32_lane 1 (local.get $p) (local.get $x)))
            (local.set $p (i32.add (local.get $p) (local.get $rowB)))
            (local.set $x (v128.load32_lane 2 (local.get $p) (local.get $x)))
            (local.set $p (i32.add (local.get $p) (local.get $rowB)))
            (local.set $x (v128.load32_lane 3 (local.get $p) (local.get $x)))
            (if (i32.eq (local.get $mode) (i32.const 1))
              (then (local.set $x (f32x4.mul (local.get $x) (local.get $sv)))))
            (if (i32.eq (local.get $mode) (i32.const 2))
              (then (local.set $x (f32x4.mul (f32x4.abs (local.get $x)) (local.get $sv)))))
            (v128.store (i32.add (local.get $dst) (local.get $o)) (local.get $x))
            (if (local.get $dst2)
              (then (v128.store (i32.add (local.get $dst2) (local.get $o)) (f32x4.abs (local.get $x)))))
            (local.set $o (i32.add (local.get $o) (local.get $colB)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $cols)))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (br $blocks)))
    ;; the remaining rows, one value at a time (lane 0 of the same operations)
    (block $restDone
      (loop $rest
        (br_if $restDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $c (i32.const 0))
        (block $colsDone2
          (loop $cols2
            (br_if $colsDone2 (i32.ge_u (local.get $c) (local.get $cols)))
            (local.set $x (v128.load32_zero (i32.add (local.get $src)
              (i32.shl (i32.add (i32.mul (local.get $r) (local.get $cols)) (local.get $c)) (i32.const 2)))))
            (if (i32.eq (local.get $mode) (i32.const 1))
              (then (local.set $x (f32x4.mul (local.get $x) (local.get $sv)))))
            (if (i32.eq (local.get $mode) (i32.const 2))
              (then (local.set $x (f32x4.mul (f32x4.abs (local.get $x)) (local.get $sv)))))
            (local.set $o (i32.shl (i32.add (i32.mul (local.get $c) (local.get $rows)) (local.get $r)) (i32.const 2)))
            (f32.store (i32.add (local.get $dst) (local.get $o)) (f32x4.extract_lane 0 (local.get $x)))
            (if (local.get $dst2)
              (then (f32.store (i32.add (local.get $dst2) (local.get $o)) (f32.abs (f32x4.extract_lane 0 (local.get $x))))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $cols2)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rest))))

  ;; exp(x): e^x in float64, the same algorithm and operations as V8's Math.exp (fdlibm's
  ;; e_exp.c as adapted in V8's base/ieee754.cc, including its exp(1) = E special case), so
  ;; it returns the same bits (tested against Math.exp).
  (func $exp (export "exp") (param $x f64) (result f64)
    (local $hx i32) (local $xsb i32) (local $k i32) (local $hi f64) (local $lo f64) (local $t f64) (local $c f64)
    (local $y f64) (local $twopk f64)
    (local.set $hx (i32.wrap_i64 (i64.shr_u (i64.reinterpret_f64 (local.get $x)) (i64.const 32))))
    (local.set $xsb (i32.shr_u (local.get $hx) (i32.const 31)))
    (local.set $hx (i32.and (local.get $hx) (i32.const 0x7fffffff)))
    (if (i32.ge_u (local.get $hx) (i32.const 0x40862E42))
      (then
        (if (i32.ge_u (local.get $hx) (i32.const 0x7ff00000))
          (then
            (if (f64.ne (local.get $x) (local.get $x)) (then (return (f64.add (local.get $x) (local.get $x)))))
            (return (select (local.get $x) (f64.const 0) (i32.eqz (local.get $xsb))))))
        (if (f64.gt (local.get $x) (f64.const 7.09782712893383973096e+02)) (then (return (f64.const inf))))
        (if (f64.lt (local.get $x) (f64.const -7.45133219101941108420e+02)) (then (return (f64.const 0))))))
    (if (i32.gt_u (local.get $hx) (i32.const 0x3FD62E42))
      (then
        (if (i32.lt_u (local.get $hx) (i32.const 0x3FF0A2B2))
          (then
            (if (f64.eq (local.get $x) (f64.const 1)) (then (return (f64.const 2.718281828459045))))
            (local.set $hi (f64.sub (local.get $x)
              (select (f64.const -6.93147180369123816490e-01) (f64.const 6.93147180369123816490e-01) (local.get $xsb))))
            (local.set $lo (select (f64.const -1.90821492927058770002e-10) (f64.const 1.90821492927058770002e-10) (local.get $xsb)))
            (local.set $k (i32.sub (i32.const 1) (i32.shl (local.get $xsb) (i32.const 1)))))
          (else
            (local.set $k (i32.trunc_f64_s (f64.add (f64.mul (f64.const 1.44269504088896338700e+00) (local.get $x))
              (select (f64.const -0.5) (f64.const 0.5) (local.get $xsb)))))
            (local.set $t (f64.convert_i32_s (local.get $k)))
            (local.set $hi (f64.sub (local.get $x) (f64.mul (local.get $t) (f64.const 6.93147180369123816490e-01))))
            (local.set $lo (f64.mul (local.get $t) (f64.const 1.90821492927058770002e-10)))))
        (local.set $x (f64.sub (local.get $hi) (local.get $lo))))
      (else
        (if (i32.lt_u (local.get $hx) (i32.const 0x3E300000))
          (then (return (f64.add (f64.const 1) (local.get $x)))))
        (local.set $k (i32.const 0))))
    (local.set $t (f64.mul (local.get $x) (local.get $x)))
    (local.set $twopk (f64.reinterpret_i64 (i64.shl (i64.extend_i32_s (i32.add (i32.const 0x3ff)
      (select (local.get $k) (i32.add (local.get $k) (i32.const 1000)) (i32.ge_s (local.get $k) (i32.const -1021))))) (i64.const 52))))
    (local.set $c (f64.sub (local.get $x) (f64.mul (local.get $t)
      (f64.add (f64.const 1.66666666666666019037e-01) (f64.mul (local.get $t)
      (f64.add (f64.const -2.77777777770155933842e-03) (f64.mul (local.get $t)
      (f64.add (f64.const 6.61375632143793436117e-05) (f64.mul (local.get $t)
      (f64.add (f64.const -1.65339022054652515390e-06) (f64.mul (local.get $t) (f64.const 4.13813679705723846039e-08))))))))))))
    (if (i32.eqz (local.get $k))
      (then (return (f64.sub (f64.const 1)
        (f64.sub (f64.div (f64.mul (local.get $x) (local.get $c)) (f64.sub (local.get $c) (f64.const 2))) (local.get $x))))))
    (local.set $y (f64.sub (f64.const 1)
      (f64.sub (f64.sub (local.get $lo) (f64.div (f64.mul (local.get $x) (local.get $c)) (f64.sub (f64.const 2) (local.get $c))))
        (local.get $hi))))
    (if (i32.ge_s (local.get $k) (i32.const -1021))
      (then
        (if (i32.eq (local.get $k) (i32.const 1024))
          (then (return (f64.mul (f64.mul (local.get $y) (f64.const 2)) (f64.const 0x1p1023)))))
        (return (f64.mul (local.get $y) (local.get $twopk)))))
    (f64.mul (f64.mul (local.get $y) (local.get $twopk)) (f64.const 0x1p-1000)))

  ;; exp2(v): exp of both float64 lanes, the same bits as $exp lane by lane: lanes in the
  ;; main range (2^-28 <= |x| < 700, x != 1) follow $exp's reduction and polynomial
  ;; branch-free (k = 0 below 0.5·ln2 by the same high-word test; k = trunc(x/ln2 ± 0.5)
  ;; above, which is ±1 exactly where $exp takes ±ln2 directly); a vector with any other
  ;; lane goes through $exp lane by lane.
  (func $exp2 (param $v v128) (result v128)
    (local $hx v128) (local $in v128) (local $k v128) (local $hi v128) (local $lo v128) (local $x v128)
    (local $t v128) (local $c v128) (local $xc v128) (local $r0 v128) (local $y v128) (local $twopk v128)
    (local.set $hx (v128.and (i64x2.shr_u (local.get $v) (i32.const 32)) (v128.const i64x2 0x7fffffff 0x7fffffff)))
    (if (v128.any_true (v128.or (v128.or
          (i64x2.ge_s (local.get $hx) (v128.const i64x2 0x4085E000 0x4085E000))
          (i64x2.lt_s (local.get $hx) (v128.const i64x2 0x3E300000 0x3E300000)))
          (f64x2.eq (local.get $v) (v128.const f64x2 1 1))))
      (then (return (f64x2.replace_lane 1
        (f64x2.splat (call $exp (f64x2.extract_lane 0 (local.get $v))))
        (call $exp (f64x2.extract_lane 1 (local.get $v)))))))
    (local.set $in (i64x2.gt_s (local.get $hx) (v128.const i64x2 0x3FD62E42 0x3FD62E42)))
    (local.set $k (v128.and (local.get $in) (f64x2.trunc (f64x2.add
      (f64x2.mul (v128.const f64x2 1.44269504088896338700e+00 1.44269504088896338700e+00) (local.get $v))
      (v128.bitselect (v128.const f64x2 -0.5 -0.5) (v128.const f64x2 0.5 0.5) (f64x2.lt (local.get $v) (v128.const f64x2 0 0)))))))
    (local.set $hi (f64x2.sub (local.get $v) (f64x2.mul (local.get $k) (v128.const f64x2 6.93147180369123816490e-01 6.93147180369123816490e-01))))
    (local.set $lo (f64x2.mul (local.get $k) (v128.const f64x2 1.90821492927058770002e-10 1.90821492927058770002e-10)))
    (local.set $x (v128.bitselect (f64x2.sub (local.get $hi) (local.get $lo)) (local.get $v) (local.get $in)))
    (local.set $t (f64x2.mul (local.get $x) (local.get $x)))
    (local.set $c (f64x2.sub (local.get $x) (f64x2.mul (local.get $t)
      (f64x2.add (v128.const f64x2 1.66666666666666019037e-01 1.66666666666666019037e-01) (f64x2.mul (local.get $t)
      (f64x2.add (v128.const f64x2 -2.77777777770155933842e-03 -2.77777777770155933842e-03) (f64x2.mul (local.get $t)
      (f64x2.add (v128.const f64x2 6.61375632143793436117e-05 6.61375632143793436117e-05) (f64x2.mul (local.get $t)
      (f64x2.add (v128.const f64x2 -1.65339022054652515390e-06 -1.65339022054652515390e-06)
        (f64x2.mul (local.get $t) (v128.const f64x2 4.13813679705723846039e-08 4.13813679705723846039e-08))))))))))))
    (local.set $xc (f64x2.mul (local.get $x) (local.get $c)))
    (local.set $r0 (f64x2.sub (v128.const f64x2 1 1)
      (f64x2.sub (f64x2.div (local.get $xc) (f64x2.sub (local.get $c) (v128.const f64x2 2 2))) (local.get $x))))
    (local.set $y (f64x2.sub (v128.const f64x2 1 1)
      (f64x2.sub (f64x2.sub (local.get $lo) (f64x2.div (local.get $xc) (f64x2.sub (v128.const f64x2 2 2) (local.get $c))))
        (local.get $hi))))
    (local.set $twopk (i64x2.shl (i64x2.add (i64x2.extend_low_i32x4_s (i32x4.trunc_sat_f64x2_s_zero (local.get $k)))
      (v128.const i64x2 0x3ff 0x3ff)) (i32.const 52)))
    (v128.bitselect (f64x2.mul (local.get $y) (local.get $twopk)) (local.get $r0) (local.get $in)))

  (func (export "exp2test") (param $p i32)
    (v128.store (local.get $p) (call $exp2 (v128.load (local.get $p)))))

  ;; epilogue(c, n, R, pre, a, gate, sig, lin, ep, clamped): SwiGLU of one FC1 chunk, as
  ;; epilogue.ts swigluElement computes it (float32 products and sums, the clamps as
  ;; comparisons, sigmoid = fl32(1 / (1 + exp(-x))) in float64 with $exp's bits).
  ;; c: C [2R, n] float32 (up rows, then gate rows); pre: n float32 weights applied to both
  ;; accumulators first (0: none); a: out, (p, r) at a + 4·(p·R + r); gate/sig/lin: the same
  ;; layout, written when gate != 0; ep: float32 [gateScale, upScale, alpha, beta·c, L, L·c].
  ;; R a multiple of 4.
  (func (export "epilogue") (param $c i32) (param $n i32) (param $R i32) (param $pre i32) (param $a i32)
    (param $gate i32) (param $sig i32) (param $lin i32) (param $ep i32) (param $clamped i32)
    (local $p i32) (local $r i32) (local $src i32) (local $stride i32) (local $gofs i32) (local $o i32)
    (local $u v128) (local $g v128) (local $w v128) (local $gs v128) (local $us v128) (local $al v128) (local $bc v128)
    (local $L v128) (local $Lc v128) (local $x v128) (local $s v128) (local $l v128) (local $e v128) (local $up v128)
    (local $hasPre i32)
    (local.set $gs (f32x4.splat (f32.load (local.get $ep))))
    (local.set $us (f32x4.splat (f32.load offset=4 (local.get $ep))))
    (local.set $al (f32x4.splat (f32.load offset=8 (local.get $ep))))
    (local.set $bc (f32x4.splat (f32.load offset=12 (local.get $ep))))
    (local.set $L (f32x4.splat (f32.load offset=16 (local.get $ep))))
    (local.set $Lc (f32x4.splat (f32.load offset=20 (local.get $ep))))
    (local.set $stride (i32.shl (local.get $n) (i32.const 2)))
    (local.set $gofs (i32.mul (local.get $R) (local.get $stride)))
    (local.set $p (i32.const 0))
    (block $tokensDone
      (loop $tokens
        (br_if $tokensDone (i32.ge_u (local.get $p) (local.get $n)))
        (local.set $hasPre (i32.const 0))
        (if (local.get $pre)
          (then
            (local.set $w (f32x4.splat (f32.load (i32.add (local.get $pre) (i32.shl (local.get $p) (i32.const 2))))))
            (local.set $hasPre (f32.ne (f32x4.extract_lane 0 (local.get $w)) (f32.const 1)))))
        (local.set $r (i32.const 0))
        (block $rowsDone
          (loop $rows
            (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $R)))
            ;; up accumulators of rows r..r+3 (column p of C), and the gate accumulators
            (local.set $src (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $r) (local.get $n)) (local.get $p)) (i32.const 2))))
            (local.set $u (v128.load32_zero (local.get $src)))
            (local.set $u (v128.load32_lane 1 (i32.add (local.get $src) (local.get $stride)) (local.get $u)))
            (local.set $u (v128.load32_lane 2 (i32.add (local.get $src) (i32.shl (local.get $stride) (i32.const 1))) (local.get $u)))
            (local.set $u (v128.load32_lane 3 (i32.add (local.get $src) (i32.mul (local.get $stride) (i32.const 3))) (local.get $u)))
            (local.set $src (i32.add (local.get $src) (local.get $gofs)))
            (local.set $g (v128.load32_zero (local.get $src)))
            (local.set $g (v128.load32_lane 1 (i32.add (local.get $src) (local.get $stride)) (local.get $g)))
            (local.set $g (v128.load32_lane 2 (i32.add (local.get $src) (i32.shl (local.get $stride) (i32.const 1))) (local.get $g)))
            (local.set $g (v128.load32_lane 3 (i32.add (local.get $src) (i32.mul (local.get $stride) (i32.const 3))) (local.get $g)))
            (if (local.get $hasPre)
              (then
                (local.set $g (f32x4.mul (local.get $g) (local.get $w)))
                (local.set $u (f32x4.mul (local.get $u) (local.get $w)))))
            (local.set $g (f32x4.mul (local.get $g) (local.get $gs)))
            (local.set $up (f32x4.mul (local.get $u) (local.get $us)))
            (if (local.get $clamped)
              (then
                (local.set $g (v128.bitselect (local.get $L) (local.get $g) (f32x4.gt (local.get $g) (local.get $L))))
                (local.set $up (v128.bitselect (local.get $Lc)
                  (v128.bitselect (f32x4.neg (local.get $Lc)) (local.get $up) (f32x4.lt (local.get $up) (f32x4.neg (local.get $Lc))))
                  (f32x4.gt (local.get $up) (local.get $Lc))))
                (local.set $x (f32x4.mul (local.get $al) (local.get $g)))
                (local.set $l (f32x4.add (local.get $up) (local.get $bc))))
              (else
                (local.set $x (local.get $g))
                (local.set $l (local.get $up))))
            ;; sigmoid(x) = fl32(1 / (1 + exp(-x))), two lanes at a time in float64
            (local.set $e (call $exp2 (f64x2.neg (f64x2.promote_low_f32x4 (local.get $x)))))
            (local.set $s (f32x4.demote_f64x2_zero (f64x2.div (v128.const f64x2 1 1) (f64x2.add (v128.const f64x2 1 1) (local.get $e)))))
            (local.set $e (call $exp2 (f64x2.neg (f64x2.promote_low_f32x4
              (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $x) (local.get $x))))))
            (local.set $s (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $s)
              (f32x4.demote_f64x2_zero (f64x2.div (v128.const f64x2 1 1) (f64x2.add (v128.const f64x2 1 1) (local.get $e))))))
            (local.set $o (i32.shl (i32.add (i32.mul (local.get $p) (local.get $R)) (local.get $r)) (i32.const 2)))
            (v128.store (i32.add (local.get $a) (local.get $o))
              (f32x4.mul (f32x4.mul (local.get $g) (local.get $s)) (local.get $l)))
            (if (local.get $gate)
              (then
                (v128.store (i32.add (local.get $gate) (local.get $o)) (local.get $g))
                (v128.store (i32.add (local.get $sig) (local.get $o)) (local.get $s))
                (v128.store (i32.add (local.get $lin) (local.get $o)) (local.get $l))))
            (local.set $r (i32.add (local.get $r) (i32.const 4)))
            (br $rows)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $tokens))))

  ;; nanscan(p, len, nvfp4): index of the first NaN scale byte in [p, p + len) (e4m3:
  ;; S.1111.111 when nvfp4 != 0; ue8m0: 0xff), or -1. Sixteen bytes per test.
  (func (export "nanscan") (param $p i32) (param $len i32) (param $nvfp4 i32) (result i32)
    (local $i i32) (local $mask v128) (local $want v128) (local $m i32)
    (if (local.get $nvfp4)
      (then (local.set $mask (i8x16.splat (i32.const 0x7f))) (local.set $want (i8x16.splat (i32.const 0x7f))) (local.set $m (i32.const 0x7f)))
      (else (local.set $mask (i8x16.splat (i32.const 0xff))) (local.set $want (i8x16.splat (i32.const 0xff))) (local.set $m (i32.const 0xff))))
    (local.set $i (i32.const 0))
    (block $vecDone
      (loop $vec
        (br_if $vecDone (i32.gt_u (i32.add (local.get $i) (i32.const 16)) (local.get $len)))
        (br_if $vecDone (v128.any_true (i8x16.eq
          (v128.and (v128.load (i32.add (local.get $p) (local.get $i))) (local.get $mask)) (local.get $want))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vec)))
    ;; the vector holding a NaN byte, or the tail, byte by byte
    (block $done
      (loop $bytes
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (if (i32.eq (i32.and (i32.load8_u (i32.add (local.get $p) (local.get $i))) (local.get $m)) (local.get $m))
          (then (return (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $bytes)))
    (i32.const -1))

  ;; $abswts(packed, scales, nBlocks, tab, wc, ws): absprod's weight side, for nBlocks
  ;; blocks of 16 NVFP4 elements (8 packed bytes each, low nibble first; one e4m3 scale byte
  ;; each): wc[16·b + j] = 2·|q_j| as int16 (0, 1, 2, 3, 4, 6, 8 or 12); ws[b] = (the scale
  ;; magnitude |tab[scale byte]| as float32, 6·Σ_j wc[16·b + j] as int32).
  (func $abswts (param $packed i32) (param $scales i32) (param $nb i32) (param $tab i32)
    (param $wc i32) (param $ws i32)
    (local $v v128) (local $lo v128) (local $hi v128) (local $s v128) (local $end i32)
    (local.set $end (i32.add (local.get $scales) (local.get $nb)))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $scales) (local.get $end)))
        (local.set $v (v128.load64_zero (local.get $packed)))
        ;; element j's nibble in byte j, its magnitude code (low 3 bits) → 2|q| by table
        (local.set $v (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23
          (v128.and (local.get $v) (v128.const i8x16 0x0f 0x0f 0x0f 0x0f 0x0f 0x0f 0x0f 0x0f 0 0 0 0 0 0 0 0))
          (i8x16.shr_u (local.get $v) (i32.const 4))))
        (local.set $v (i8x16.swizzle (v128.const i8x16 0 1 2 3 4 6 8 12 0 1 2 3 4 6 8 12)
          (v128.and (local.get $v) (v128.const i8x16 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7))))
        (local.set $lo (i16x8.extend_low_i8x16_u (local.get $v)))
        (local.set $hi (i16x8.extend_high_i8x16_u (local.get $v)))
        (v128.store (local.get $wc) (local.get $lo))
        (v128.store offset=16 (local.get $wc) (local.get $hi))
        (local.set $s (i32x4.dot_i16x8_s (i16x8.add (local.get $lo) (local.get $hi)) (v128.const i16x8 6 6 6 6 6 6 6 6)))
        (local.set $s (i32x4.add (local.get $s) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $s) (local.get $s))))
        (local.set $s (i32x4.add (local.get $s) (i8x16.shuffle 4 5 6 7 0 1 2 3 12 13 14 15 8 9 10 11 (local.get $s) (local.get $s))))
        (f32.store (local.get $ws) (f32.abs (f32.load (i32.add (local.get $tab) (i32.shl (i32.load8_u (local.get $scales)) (i32.const 2))))))
        (i32.store offset=4 (local.get $ws) (i32x4.extract_lane 0 (local.get $s)))
        (local.set $packed (i32.add (local.get $packed) (i32.const 8)))
        (local.set $scales (i32.add (local.get $scales) (i32.const 1)))
        (local.set $wc (i32.add (local.get $wc) (i32.const 32)))
        (local.set $ws (i32.add (local.get $ws) (i32.const 8)))
        (br $blocks))))

  ;; absprod(packed, scales, tab, scratch, tc, ts, rows, nb, npg, out, ostride, scale): |W|·|Â|ᵀ
  ;; of NVFP4 weights (rows × nb blocks: packed codes, e4m3 scale bytes, tab the e4m3 values as
  ;; float32; each pair of rows decoded by $abswts into scratch, 80·nb bytes, where it stays in
  ;; the L1 cache for all token groups) and NVFP4 token rows (npg groups of 8 tokens), with
  ;; exact integer products inside each block. Token side: tc[((g·nb + b)·8 + m)·8 + 2l + e]
  ;; (int16) = t(8g + l, 16b + 2m + e) + 4096·(t(8g + 4 + l, 16b + 2m + e) − 6) for l < 4,
  ;; t = 2|q| of the token's element; ts[(g·nb + b)·8 + l] = the scale of token 8g + l's
  ;; block b (float32; 0 for padding tokens, NaN for a NaN block).
  ;; For each (token p, row h), each block's D = Σ_j wc·t (an int32 lane of dot products: the
  ;; low 12 bits are token 8g + l's sum (≤ 16·144 < 4096), the rest token 8g + 4 + l's minus
  ;; 6·Σ wc, which ws restores), then acc = fl32(acc + D·(ts·sw)) in block order (D·ts·sw is
  ;; exact: 12 + 4 + 4 significant bits), and out[p·ostride + h] = fl32(fl32(acc·0.25)·scale)
  ;; (ostride in bytes). Two rows and 8 tokens at a time (rows even), all token groups for
  ;; each pair of rows (the token side, ~1 KB per token, stays in the L1 cache).
  (func (export "absprod") (param $packed i32) (param $scales i32) (param $tab i32) (param $wc i32)
      (param $tc i32) (param $ts i32) (param $rows i32)
      (param $nb i32) (param $npg i32) (param $out i32) (param $ostride i32) (param $scale f32)
    (local $ws i32)
    (local $g i32) (local $h i32) (local $b i32) (local $tp i32) (local $sp i32) (local $s0p i32) (local $s1p i32)
    (local $w0 i32) (local $w1 i32) (local $o i32) (local $rowB i32) (local $m i32)
    (local $t v128) (local $d0 v128) (local $d1 v128) (local $a00 v128) (local $a01 v128) (local $a10 v128) (local $a11 v128)
    (local $lo v128) (local $hi v128) (local $x v128)
    (local.set $rowB (i32.shl (local.get $nb) (i32.const 5)))
    (local.set $h (i32.const 0))
    (block $rowsDone
      (loop $rowPairs
        (br_if $rowsDone (i32.ge_u (local.get $h) (local.get $rows)))
        ;; rows h and h + 1: codes at wc (64·nb bytes), (scale, 6·Σ) at ws = wc + 64·nb
        (local.set $ws (i32.add (local.get $wc) (i32.shl (local.get $nb) (i32.const 6))))
        (call $abswts (i32.add (local.get $packed) (i32.mul (local.get $h) (i32.shl (local.get $nb) (i32.const 3))))
          (i32.add (local.get $scales) (i32.mul (local.get $h) (local.get $nb)))
          (i32.shl (local.get $nb) (i32.const 1)) (local.get $tab) (local.get $wc) (local.get $ws))
        (local.set $g (i32.const 0))
        (block $groupsDone
          (loop $groups
            (br_if $groupsDone (i32.ge_u (local.get $g) (local.get $npg)))
            (local.set $a00 (v128.const i32x4 0 0 0 0))
            (local.set $a01 (v128.const i32x4 0 0 0 0))
            (local.set $a10 (v128.const i32x4 0 0 0 0))
            (local.set $a11 (v128.const i32x4 0 0 0 0))
            (local.set $w0 (local.get $wc))
            (local.set $w1 (i32.add (local.get $w0) (local.get $rowB)))
            (local.set $s0p (local.get $ws))
            (local.set $s1p (i32.add (local.get $s0p) (i32.shl (local.get $nb) (i32.const 3))))
            (local.set $tp (i32.add (local.get $tc) (i32.mul (local.get $g) (i32.shl (local.get $nb) (i32.const 7)))))
            (local.set $sp (i32.add (local.get $ts) (i32.mul (local.get $g) (i32.shl (local.get $nb) (i32.const 5)))))
            (local.set $b (local.get $nb))
            (loop $blocks
              (local.set $d0 (v128.const i32x4 0 0 0 0))
              (local.set $d1 (v128.const i32x4 0 0 0 0))
              ;; 8 position pairs, two per iteration (a loop keeps V8's scheduler from hoisting
              ;; all 16 token loads and spilling: about 1.5x faster than straight-line code)
              (local.set $m (i32.const 4))
              (loop $pairs
                (local.set $t (v128.load (local.get $tp)))
                (local.set $d0 (i32x4.add (local.get $d0) (i32x4.dot_i16x8_s (v128.load32_splat (local.get $w0)) (local.get $t))))
                (local.set $d1 (i32x4.add (local.get $d1) (i32x4.dot_i16x8_s (v128.load32_splat (local.get $w1)) (local.get $t))))
                (local.set $t (v128.load offset=16 (local.get $tp)))
                (local.set $d0 (i32x4.add (local.get $d0) (i32x4.dot_i16x8_s (v128.load32_splat offset=4 (local.get $w0)) (local.get $t))))
                (local.set $d1 (i32x4.add (local.get $d1) (i32x4.dot_i16x8_s (v128.load32_splat offset=4 (local.get $w1)) (local.get $t))))
                (local.set $tp (i32.add (local.get $tp) (i32.const 32)))
                (local.set $w0 (i32.add (local.get $w0) (i32.const 8)))
                (local.set $w1 (i32.add (local.get $w1) (i32.const 8)))
                (local.set $m (i32.sub (local.get $m) (i32.const 1)))
                (br_if $pairs (local.get $m)))
              (local.set $lo (v128.load (local.get $sp)))
              (local.set $hi (v128.load offset=16 (local.get $sp)))
              (local.set $x (f32x4.splat (f32.load (local.get $s0p))))
              (local.set $a00 (f32x4.add (local.get $a00) (f32x4.mul
                (f32x4.convert_i32x4_s (v128.and (local.get $d0) (v128.const i32x4 4095 4095 4095 4095)))
                (f32x4.mul (local.get $lo) (local.get $x)))))
              (local.set $a01 (f32x4.add (local.get $a01) (f32x4.mul
                (f32x4.convert_i32x4_s (i32x4.add (i32x4.shr_s (local.get $d0) (i32.const 12)) (v128.load32_splat offset=4 (local.get $s0p))))
                (f32x4.mul (local.get $hi) (local.get $x)))))
              (local.set $x (f32x4.splat (f32.load (local.get $s1p))))
              (local.set $a10 (f32x4.add (local.get $a10) (f32x4.mul
                (f32x4.convert_i32x4_s (v128.and (local.get $d1) (v128.const i32x4 4095 4095 4095 4095)))
                (f32x4.mul (local.get $lo) (local.get $x)))))
              (local.set $a11 (f32x4.add (local.get $a11) (f32x4.mul
                (f32x4.convert_i32x4_s (i32x4.add (i32x4.shr_s (local.get $d1) (i32.const 12)) (v128.load32_splat offset=4 (local.get $s1p))))
                (f32x4.mul (local.get $hi) (local.get $x)))))
              (local.set $s0p (i32.add (local.get $s0p) (i32.const 8)))
              (local.set $s1p (i32.add (local.get $s1p) (i32.const 8)))
              (local.set $sp (i32.add (local.get $sp) (i32.const 32)))
              (local.set $b (i32.sub (local.get $b) (i32.const 1)))
              (br_if $blocks (local.get $b)))
            ;; out rows 8g .. 8g+7, columns h and h+1
            (local.set $o (i32.add (local.get $out)
              (i32.add (i32.mul (i32.shl (local.get $g) (i32.const 3)) (local.get $ostride)) (i32.shl (local.get $h) (i32.const 2)))))
        (f32.store offset=0 (local.get $o) (f32.mul (f32.mul (f32x4.extract_lane 0 (local.get $a00)) (f32.const 0.25)) (local.get $scale)))
        (local.set $o (i32.add (local.get $o) (local.get $ostride)))
        (f32.store offset=0 (local.get $o) (f32.mul (f32.mul (f32x4.extract_lane 1 (local.get $a00)) (f32.const 0.25)) (local.get $scale)))
        (local.set $o (i32.add (local.get $o) (local.get $ostride)))
        (f32.store offset=0 (local.get $o) (f32.mul (f32.mul (f32x4.extract_lane 2 (local.get $a00)) (f32.const 0.25)) (local.get $scale)))
        (local.set $o (i32.add (local.get $o) (local.get $ostride)))
        (f32.store offset=0 (local.get $o) (f32.mul (f32.mul (f32x4.extract_lane 3 (local.get $a00)) (f32.const 0.25)) (local.get $scale)))
        (local.set $o (i32.add (local.get $o) (local.get $ostride)))
        (f32.store offset=0 (local.get $o) (f32.mul (f32.mul (f32x4.extract_lane 0 (local.get $a01)) (f32.const 0.25)) (local.get $scale)))
        (local.set $o (i32.add (local.get $o) (local.get $ostride)))
        (f32.store offset=0 (local.get $o) (f32.mul (f32.mul (f32x4.extract_lane 1 (local.get $a01)) (f32.const 0.25)) (local.get $scale)))
        (local.set $o (i32.add (local.get $o) (local.get $ostride)))
        (f32.store offset=0 (local.get $o) (f32.mul (f32.mul (f32x4.extract_lane 2 (local.get $a01)) (f32.const 0.25)) (local.get $scale)))
        (local.set $o (i32.add (local.get $o) (local.get $ostride)))
        (f32.store offset=0 (local.get $o) (f32.mul (f32.mul (f32x4.extract_lane 3 (local.get $a01)) (f32.const 0.25)) (local.get $scale)))
        (local.set $o (i32.add (local.get $o) (local.get $ostride)))
        (local.set $o (i32.sub (local.get $o) (i32.shl (local.get $ostride) (i32.const 3))))
        (f32.store offset=4 (local.get $o) (f32.mul (f32.mul (f32x4.extract_lane 0 (local.get $a10)) (f32.const 0.25)) (local.get $scale)))
        (local.set $o (i32.add (local.get $o) (local.get $ostride)))
        (f32.store offset=4 (local.get $o) (f32.mul (f32.mul (f32x4.extract_lane 1 (local.get $a10)) (f32.const 0.25)) (local.get $scale)))
        (local.set $o (i32.add (local.get $o) (local.get $ostride)))
        (f32.store offset=4 (local.get $o) (f32.mul (f32.mul (f32x4.extract_lane 2 (local.get $a10)) (f32.const 0.25)) (local.get $scale)))
        (local.set $o (i32.add (local.get $o) (local.get $ostride)))
        (f32.store offset=4 (local.get $o) (f32.mul (f32.mul (f32x4.extract_lane 3 (local.get $a10)) (f32.const 0.25)) (local.get $scale)))
        (local.set $o (i32.add (local.get $o) (local.get $ostride)))
        (f32.store offset=4 (local.get $o) (f32.mul (f32.mul (f32x4.extract_lane 0 (local.get $a11)) (f32.const 0.25)) (local.get $scale)))
        (local.set $o (i32.add (local.get $o) (local.get $ostride)))
        (f32.store offset=4 (local.get $o) (f32.mul (f32.mul (f32x4.extract_lane 1 (local.get $a11)) (f32.const 0.25)) (local.get $scale)))
        (local.set $o (i32.add (local.get $o) (local.get $ostride)))
        (f32.store offset=4 (local.get $o) (f32.mul (f32.mul (f32x4.extract_lane 2 (local.get $a11)) (f32.const 0.25)) (local.get $scale)))
        (local.set $o (i32.add (local.get $o) (local.get $ostride)))
        (f32.store offset=4 (local.get $o) (f32.mul (f32.mul (f32x4.extract_lane 3 (local.get $a11)) (f32.const 0.25)) (local.get $scale)))
        (local.set $o (i32.add (local.get $o) (local.get $ostride)))
        (local.set $o (i32.sub (local.get $o) (i32.shl (local.get $ostride) (i32.const 3))))
            (local.set $g (i32.add (local.get $g) (i32.const 1)))
            (br $groups)))
        (local.set $h (i32.add (local.get $h) (i32.const 2)))
        (br $rowPairs))))


  ;; abstok(ahat, n, R, sa, nb, b0, tc, ts) → the number of elements that are not an e2m1
  ;; value times their block scale (0 unless the re-quantization and its scales disagree):
  ;; the token side of absprod (fp4AbsProduct.ts's layout) for one FC1 chunk, n tokens × R
  ;; elements chunk-major at ahat (float32), block scales sa[p·R/16 + q] (float32), blocks
  ;; b0 .. b0 + R/16 − 1 of nb. tc must hold EMPTY_TOKEN_CODE and ts 0 where not written.
  (global $bad (mut i32) (i32.const 0))
  (func $codes8 (param $p i32) (param $s f32) (result v128)
    (local $sv v128) (local $c0 v128) (local $c1 v128) (local $i0 v128) (local $i1 v128) (local $n v128)
    (if (i32.eqz (f32.gt (local.get $s) (f32.const 0)))
      (then (return (v128.const i32x4 0 0 0 0))))
    (local.set $sv (f32x4.splat (local.get $s)))
    (local.set $c0 (f32x4.abs (v128.load (local.get $p))))
    (local.set $c1 (f32x4.abs (v128.load offset=16 (local.get $p))))
    (local.set $c0 (f32x4.div (f32x4.add (local.get $c0) (local.get $c0)) (local.get $sv)))
    (local.set $c1 (f32x4.div (f32x4.add (local.get $c1) (local.get $c1)) (local.get $sv)))
    (local.set $i0 (i32x4.trunc_sat_f32x4_s (local.get $c0)))
    (local.set $i1 (i32x4.trunc_sat_f32x4_s (local.get $c1)))
    (local.set $n (i16x8.narrow_i32x4_s (local.get $i0) (local.get $i1)))
    ;; bad lanes: not integral (or NaN), or not one of 0 1 2 3 4 6 8 12
    (if (i32.or
          (v128.any_true (v128.or
            (f32x4.ne (f32x4.convert_i32x4_s (local.get $i0)) (local.get $c0))
            (f32x4.ne (f32x4.convert_i32x4_s (local.get $i1)) (local.get $c1))))
          (v128.any_true (i8x16.eq (i8x16.swizzle (v128.const i8x16 1 1 1 1 1 0 1 0 1 0 0 0 1 0 0 0)
            (i8x16.narrow_i16x8_u (local.get $n) (local.get $n))) (v128.const i32x4 0 0 0 0))))
      (then (global.set $bad (i32.add (global.get $bad) (i32.const 1)))))
    (local.get $n))
  (func (export "abstok") (param $ahat i32) (param $n i32) (param $R i32) (param $sa i32) (param $nb i32)
    (param $b0 i32) (param $tc i32) (param $ts i32) (result i32)
    (local $plo i32) (local $phi i32) (local $bpr i32) (local $q i32) (local $blk i32) (local $o i32)
    (local $slo f32) (local $shi f32) (local $v0 v128) (local $v1 v128) (local $h0 v128) (local $h1 v128)
    (global.set $bad (i32.const 0))
    (local.set $bpr (i32.shr_u (local.get $R) (i32.const 4)))
    (local.set $plo (i32.const 0))
    (block $done
      (loop $pairs
        (br_if $done (i32.ge_u (local.get $plo) (local.get $n)))
        (local.set $phi (i32.add (local.get $plo) (i32.const 4)))
        (local.set $q (i32.const 0))
        (block $blocksDone
          (loop $blocks
            (br_if $blocksDone (i32.ge_u (local.get $q) (local.get $bpr)))
            ;; blk: index of (group, block) = (p >> 3)·nb + b0 + q
            (local.set $blk (i32.add (i32.mul (i32.shr_u (local.get $plo) (i32.const 3)) (local.get $nb))
              (i32.add (local.get $b0) (local.get $q))))
            (local.set $slo (f32.load (i32.add (local.get $sa)
              (i32.shl (i32.add (i32.mul (local.get $plo) (local.get $bpr)) (local.get $q)) (i32.const 2)))))
            (local.set $o (i32.add (local.get $ahat)
              (i32.shl (i32.add (i32.mul (local.get $plo) (local.get $R)) (i32.shl (local.get $q) (i32.const 4))) (i32.const 2))))
            (local.set $v0 (call $codes8 (local.get $o) (local.get $slo)))
            (local.set $v1 (call $codes8 (i32.add (local.get $o) (i32.const 32)) (local.get $slo)))
            (f32.store (i32.add (local.get $ts) (i32.shl (i32.add (i32.shl (local.get $blk) (i32.const 3)) (i32.and (local.get $plo) (i32.const 3))) (i32.const 2)))
              (local.get $slo))
            (local.set $h0 (v128.const i32x4 0 0 0 0))
            (local.set $h1 (v128.const i32x4 0 0 0 0))
            (if (i32.lt_u (local.get $phi) (local.get $n))
              (then
                (local.set $shi (f32.load (i32.add (local.get $sa)
                  (i32.shl (i32.add (i32.mul (local.get $phi) (local.get $bpr)) (local.get $q)) (i32.const 2)))))
                (local.set $o (i32.add (local.get $ahat)
                  (i32.shl (i32.add (i32.mul (local.get $phi) (local.get $R)) (i32.shl (local.get $q) (i32.const 4))) (i32.const 2))))
                (local.set $h0 (call $codes8 (local.get $o) (local.get $shi)))
                (local.set $h1 (call $codes8 (i32.add (local.get $o) (i32.const 32)) (local.get $shi)))
                (f32.store offset=16 (i32.add (local.get $ts) (i32.shl (i32.add (i32.shl (local.get $blk) (i32.const 3)) (i32.and (local.get $plo) (i32.const 3))) (i32.const 2)))
                  (local.get $shi))))
            ;; lo + 4096·(hi − 6), int16; element pair m of the block → slot (blk·8 + m)·8 + 2l
            (local.set $v0 (i16x8.add (local.get $v0) (i16x8.shl (i16x8.sub (local.get $h0) (v128.const i16x8 6 6 6 6 6 6 6 6)) (i32.const 12))))
            (local.set $v1 (i16x8.add (local.get $v1) (i16x8.shl (i16x8.sub (local.get $h1) (v128.const i16x8 6 6 6 6 6 6 6 6)) (i32.const 12))))
            (local.set $o (i32.add (local.get $tc) (i32.add (i32.shl (local.get $blk) (i32.const 7)) (i32.shl (i32.and (local.get $plo) (i32.const 3)) (i32.const 2)))))
            (v128.store32_lane offset=0 0 (local.get $o) (local.get $v0))
            (v128.store32_lane offset=16 1 (local.get $o) (local.get $v0))
            (v128.store32_lane offset=32 2 (local.get $o) (local.get $v0))
            (v128.store32_lane offset=48 3 (local.get $o) (local.get $v0))
            (v128.store32_lane offset=64 0 (local.get $o) (local.get $v1))
            (v128.store32_lane offset=80 1 (local.get $o) (local.get $v1))
            (v128.store32_lane offset=96 2 (local.get $o) (local.get $v1))
            (v128.store32_lane offset=112 3 (local.get $o) (local.get $v1))
            (local.set $q (i32.add (local.get $q) (i32.const 1)))
            (br $blocks)))
        ;; next low token: 8g + l + 1, or the next group's first
        (local.set $plo (i32.add (local.get $plo) (select (i32.const 5) (i32.const 1) (i32.eq (i32.and (local.get $plo) (i32.const 7)) (i32.const 3)))))
        (br $pairs)))
    (global.get $bad))
)
