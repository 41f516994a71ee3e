#!/usr/bin/env python3
"""CPU model of config 6's hand-over protocol (native/src/cuda/gemm_ws.cuh): producer threads
copy step j = i + L into token/raw stage j % TS after waiting tokFree for step j - TS, wait for
their own copies of step i, dequantize it into tile i % DS after waiting dqFree for step i - DS,
and arrive on full[i % DS]; consumer threads wait full[i % DS], issue step i's wgmma (which read
the stage and the tile until a later wait_group), wait for step i - 1's wgmma and arrive on
dqFree and tokFree of step i - 1. mbarriers are modelled as the hardware has them: a count of
arrivals per phase, and a wait by PARITY (try_wait.parity returns once the barrier's completed-phase
count has the other parity than the phase waited for), so a waiter that falls two phases behind,
or one phase ahead, would be let through or held wrongly: the model catches both.

Random interleavings of several producer and consumer threads (each thread its own pace; a
thread's cp.async copies land at random later times) over many (nk, TS, L, DS) choices, checking:
  - safety: no copy or dequantization writes a stage or tile that a consumer's wgmma may still
    read, and every wgmma reads a stage whose copies have all landed and a tile every producer
    has written, for the step it computes;
  - the parity waits never pass early and never block a phase that completed (no ABA);
  - liveness: every run ends (no state in which no thread can move).
The kernel's parameters (TS, L, DS) = (6, 4, 3) and (8, 6, 3) pass; L = TS - 1 or DS = 1 must fail
(deadlock), which the model shows too. Exits 1 on the first violation, printing it.
"""
import random
import sys


class Barrier:
    def __init__(self, count):
        self.count, self.arrived, self.completed = count, 0, 0

    def arrive(self):
        self.arrived += 1
        if self.arrived == self.count:
            self.arrived, self.completed = 0, self.completed + 1

    def passes(self, phase):
        """try_wait.parity(phase & 1): true once the completed count's parity differs from phase's."""
        return (self.completed & 1) != (phase & 1)


class Violation(Exception):
    pass


def simulate(nk, TS, L, DS, n_prod, n_cons, rng):
    full = [Barrier(n_prod) for _ in range(DS)]
    dq_free = [Barrier(n_cons) for _ in range(DS)]
    tok_free = [Barrier(n_cons) for _ in range(TS)]
    tok_step = [[None] * n_prod for _ in range(TS)]     # step whose copy (by producer p) sits in the stage
    tok_landed = [[True] * n_prod for _ in range(TS)]
    dq_step = [[None] * n_prod for _ in range(DS)]      # step each producer's part of the tile holds
    reading = {}                                        # consumer -> steps its wgmma may still read
    pending = []                                        # (producer, stage, step): copies in flight

    def check_wait(bar, phase, what):
        ok = bar.passes(phase)
        if ok and bar.completed <= phase:
            raise Violation(f'{what}: parity wait for phase {phase} passed with {bar.completed} completed')
        if not ok and bar.completed > phase:
            raise Violation(f'{what}: phase {phase} completed ({bar.completed}) but the parity wait blocks (ABA)')
        return ok

    def write_guard(kind, slot, step):
        for c, steps in reading.items():
            for s in steps:
                if (kind == 'tok' and s % TS == slot) or (kind == 'dq' and s % DS == slot):
                    raise Violation(f'{kind} slot {slot} overwritten for step {step} while consumer {c} may read step {s}')

    # producer p: state (i, phase) with phase 'copy' -> 'wait' -> 'dq'; prologue copies first
    prod = [{'i': 0, 'ph': 'pro', 's': 0} for _ in range(n_prod)]
    cons = [{'i': 0, 'ph': 'wait'} for _ in range(n_cons)]
    for c in range(n_cons):
        reading[c] = []

    def copy(p, j):
        st = j % TS
        write_guard('tok', st, j)
        tok_step[st][p], tok_landed[st][p] = j, False
        pending.append((p, st, j))

    def prod_step(p):
        s = prod[p]
        if s['ph'] == 'pro':
            if s['s'] < min(L, nk):
                copy(p, s['s'])
                s['s'] += 1
                return True
            s['ph'] = 'copy'
            return True
        i = s['i']
        if i >= nk:
            return False
        if s['ph'] == 'copy':
            j = i + L
            if j < nk:
                if j >= TS and not check_wait(tok_free[j % TS], j // TS - 1, f'producer {p} tokFree step {j}'):
                    return False
                copy(p, j)
            s['ph'] = 'wait'
            return True
        if s['ph'] == 'wait':  # cp.async.wait_group L: this thread's copies of step i have landed
            if any(pp == p and jj == i for pp, _, jj in pending):
                return False
            s['ph'] = 'dq'
            return True
        if s['ph'] == 'dq':
            if i >= DS and not check_wait(dq_free[i % DS], i // DS - 1, f'producer {p} dqFree step {i}'):
                return False
            if tok_step[i % TS][p] != i or not tok_landed[i % TS][p]:
                raise Violation(f'producer {p} dequantizes step {i} from a stage holding {tok_step[i % TS][p]}')
            write_guard('dq', i % DS, i)
            dq_step[i % DS][p] = i
            full[i % DS].arrive()
            s['i'], s['ph'] = i + 1, 'copy'
            return True
        return False

    def cons_step(c):
        s = cons[c]
        i = s['i']
        if i >= nk:
            if reading[c]:  # the final wait_group 0
                reading[c] = []
                return True
            return False
        if not check_wait(full[i % DS], i // DS, f'consumer {c} full step {i}'):
            return False
        for p in range(n_prod):
            if tok_step[i % TS][p] != i or not tok_landed[i % TS][p] or dq_step[i % DS][p] != i:
                raise Violation(f'consumer {c} issues step {i} on stage {tok_step[i % TS]} / tile {dq_step[i % DS]}')
        reading[c].append(i)          # issued, may read until the wait below retires it
        reading[c] = [x for x in reading[c] if x >= i]  # wgmma.wait_group 1: step i-1 done
        if i >= 1:
            dq_free[(i - 1) % DS].arrive()
            tok_free[(i - 1) % TS].arrive()
        s['i'] = i + 1
        return True

    moves = 0
    while True:
        options = [('p', p) for p in range(n_prod)] + [('c', c) for c in range(n_cons)] + [('land', k) for k in range(len(pending))]
        rng.shuffle(options)
        moved = False
        for kind, x in options:
            if kind == 'land':
                p, st, j = pending.pop(x)
                if tok_step[st][p] == j:
                    tok_landed[st][p] = True
                moved = True
            elif kind == 'p':
                moved = prod_step(x)
            else:
                moved = cons_step(x)
            if moved:
                break
        moves += 1
        if not moved:
            done = all(s['i'] >= nk for s in prod) and all(s['i'] >= nk and not reading[c] for c, s in enumerate(cons))
            if done:
                return moves
            raise Violation(f'deadlock: producers at {[s["i"] for s in prod]}, consumers at {[s["i"] for s in cons]}')


def run(TS, L, DS, trials, rng):
    for _ in range(trials):
        nk = rng.choice([1, 2, 3, L, TS - 1, TS, TS + 1, 2 * TS + 1, 3 * TS + 2, 40])
        simulate(nk, TS, L, DS, rng.randint(1, 3), rng.randint(1, 3), rng)


def main():
    rng = random.Random(6)
    for TS, L, DS in [(6, 4, 3), (8, 6, 3), (6, 2, 2), (4, 2, 2)]:
        run(TS, L, DS, 300, rng)
        print(f'TS={TS} L={L} DS={DS}: safe and live over 300 random interleavings: ok')
    for TS, L, DS, why in [(6, 5, 3, 'L = TS - 1'), (6, 4, 1, 'DS = 1')]:
        try:
            run(TS, L, DS, 300, rng)
        except Violation as v:
            print(f'TS={TS} L={L} DS={DS} ({why}) fails as it must: {str(v)[:80]}')
            continue
        print(f'TS={TS} L={L} DS={DS} ({why}) passed: the model cannot see the broken rule')
        return 1
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except Violation as v:
        print(f'violation: {v}')
        sys.exit(1)
