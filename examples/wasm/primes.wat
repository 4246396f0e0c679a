;; A worked example of a swarmgrid `wasm` job: count the primes in [from, to).
;;
;; Built at `npm run build` by wat2wasm (the `wabt` package) into dist/examples/wasm/primes.wasm,
;; and run with: swarmgrid submit --job examples/wasm/primes-job.json
;;
;; The sandbox's interface is all a module sees of the donor: `swarmgrid.progress` to say how far
;; a unit has come, and a memory of its own, capped by the donor (this module needs none). Each
;; unit calls the exported `run` with the two ends of its sub-range; the answers are summed.
(module
  (import "swarmgrid" "progress" (func $progress (param f64)))

  ;; Trial division by odd numbers: slow, but short enough to check by eye, and n < 2^31
  ;; keeps d*d from overflowing.
  (func $isPrime (param $n i32) (result i32)
    (local $d i32)
    (if (i32.lt_u (local.get $n) (i32.const 2)) (then (return (i32.const 0))))
    (if (i32.lt_u (local.get $n) (i32.const 4)) (then (return (i32.const 1))))
    (if (i32.eqz (i32.and (local.get $n) (i32.const 1))) (then (return (i32.const 0))))
    (local.set $d (i32.const 3))
    (block $prime
      (loop $next
        (br_if $prime (i32.gt_u (i32.mul (local.get $d) (local.get $d)) (local.get $n)))
        (if (i32.eqz (i32.rem_u (local.get $n) (local.get $d))) (then (return (i32.const 0))))
        (local.set $d (i32.add (local.get $d) (i32.const 2)))
        (br $next)))
    (i32.const 1))

  (func (export "run") (param $from i32) (param $to i32) (result i32)
    (local $n i32) (local $count i32)
    (local.set $n (local.get $from))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $n) (local.get $to)))
        (local.set $count (i32.add (local.get $count) (call $isPrime (local.get $n))))
        ;; Every 65536 numbers, tell the donor how far this unit is.
        (if (i32.eqz (i32.and (local.get $n) (i32.const 0xffff)))
          (then (call $progress
            (f64.div (f64.convert_i32_u (i32.sub (local.get $n) (local.get $from)))
                     (f64.convert_i32_u (i32.sub (local.get $to) (local.get $from)))))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $count)))
