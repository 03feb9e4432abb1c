;; SIMD kernels of the initcourse explorer: the dense products of its forward and
;; backward pass. tools/build_explorer.py compiles this file (npm package wabt) and
;; embeds the binary, base64, in initcourse/explorer/src/initcourse-explorer.js. All
;; pointers are byte offsets into "mem"; every row length is a multiple of 4 floats
;; (the caller checks, and uses plain JavaScript otherwise).
(module
  (memory (export "mem") 1)

  ;; out[b, :] = sum_k x[b, k] * W[k, :]
  ;; x: B x nIn, W: nIn x nOut, out: B x nOut (float32, row-major). Rows of W whose
  ;; coefficient x[b, k] is exactly 0 are skipped (inactive ReLU units).
  (func (export "fwd") (param $x i32) (param $w i32) (param $out i32)
        (param $B i32) (param $nIn i32) (param $nOut i32)
    (local $b i32) (local $k i32) (local $j i32) (local $a f32) (local $av v128)
    (local $xrow i32) (local $orow i32) (local $wrow i32) (local $rowbytes i32)
    (local $end i32)
    (local.set $rowbytes (i32.shl (local.get $nOut) (i32.const 2)))
    (block $bdone
      (loop $bloop
        (br_if $bdone (i32.ge_s (local.get $b) (local.get $B)))
        (local.set $orow
          (i32.add (local.get $out) (i32.mul (local.get $b) (local.get $rowbytes))))
        (local.set $end (i32.add (local.get $orow) (local.get $rowbytes)))
        (local.set $j (local.get $orow))
        (block $zdone
          (loop $zloop
            (br_if $zdone (i32.ge_u (local.get $j) (local.get $end)))
            (v128.store (local.get $j) (v128.const i32x4 0 0 0 0))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $zloop)))
        (local.set $xrow (i32.add (local.get $x)
          (i32.mul (local.get $b) (i32.shl (local.get $nIn) (i32.const 2)))))
        (local.set $k (i32.const 0))
        (block $kdone
          (loop $kloop
            (br_if $kdone (i32.ge_s (local.get $k) (local.get $nIn)))
            (local.set $a (f32.load
              (i32.add (local.get $xrow) (i32.shl (local.get $k) (i32.const 2)))))
            (if (f32.ne (local.get $a) (f32.const 0))
              (then
                (local.set $av (f32x4.splat (local.get $a)))
                (local.set $wrow (i32.add (local.get $w)
                  (i32.mul (local.get $k) (local.get $rowbytes))))
                (local.set $j (local.get $orow))
                (block $jdone
                  (loop $jloop
                    (br_if $jdone (i32.ge_u (local.get $j) (local.get $end)))
                    (v128.store (local.get $j)
                      (f32x4.add (v128.load (local.get $j))
                                 (f32x4.mul (local.get $av)
                                            (v128.load (local.get $wrow)))))
                    (local.set $j (i32.add (local.get $j) (i32.const 16)))
                    (local.set $wrow (i32.add (local.get $wrow) (i32.const 16)))
                    (br $jloop)))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $kloop)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $bloop))))

  ;; out[b, k] = der[b, k] * sum_j d[b, j] * W[k, j]
  ;; d: B x nOut, W: nIn x nOut, der and out: B x nIn. Entries with der[b, k] == 0 are 0
  ;; without computing the sum.
  (func (export "bwd") (param $d i32) (param $w i32) (param $der i32) (param $out i32)
        (param $B i32) (param $nIn i32) (param $nOut i32)
    (local $b i32) (local $k i32) (local $dk f32) (local $acc v128) (local $drow i32)
    (local $wrow i32) (local $end i32) (local $rowbytes i32) (local $idx i32)
    (local $p i32)
    (local.set $rowbytes (i32.shl (local.get $nOut) (i32.const 2)))
    (block $bdone
      (loop $bloop
        (br_if $bdone (i32.ge_s (local.get $b) (local.get $B)))
        (local.set $drow
          (i32.add (local.get $d) (i32.mul (local.get $b) (local.get $rowbytes))))
        (local.set $end (i32.add (local.get $drow) (local.get $rowbytes)))
        (local.set $k (i32.const 0))
        (block $kdone
          (loop $kloop
            (br_if $kdone (i32.ge_s (local.get $k) (local.get $nIn)))
            (local.set $idx (i32.shl
              (i32.add (i32.mul (local.get $b) (local.get $nIn)) (local.get $k))
              (i32.const 2)))
            (local.set $dk (f32.load (i32.add (local.get $der) (local.get $idx))))
            (if (f32.eq (local.get $dk) (f32.const 0))
              (then
                (f32.store (i32.add (local.get $out) (local.get $idx)) (f32.const 0)))
              (else
                (local.set $acc (v128.const i32x4 0 0 0 0))
                (local.set $p (local.get $drow))
                (local.set $wrow (i32.add (local.get $w)
                  (i32.mul (local.get $k) (local.get $rowbytes))))
                (block $jdone
                  (loop $jloop
                    (br_if $jdone (i32.ge_u (local.get $p) (local.get $end)))
                    (local.set $acc (f32x4.add (local.get $acc)
                      (f32x4.mul (v128.load (local.get $p))
                                 (v128.load (local.get $wrow)))))
                    (local.set $p (i32.add (local.get $p) (i32.const 16)))
                    (local.set $wrow (i32.add (local.get $wrow) (i32.const 16)))
                    (br $jloop)))
                (f32.store (i32.add (local.get $out) (local.get $idx))
                  (f32.mul (local.get $dk)
                    (f32.add
                      (f32.add (f32x4.extract_lane 0 (local.get $acc))
                               (f32x4.extract_lane 1 (local.get $acc)))
                      (f32.add (f32x4.extract_lane 2 (local.get $acc))
                               (f32x4.extract_lane 3 (local.get $acc))))))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $kloop)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $bloop))))
)
