/* C11 atomics on plain uint64_t words of shared memory (docs/format/ring.md).
 *
 * The ring header lives in a multiprocessing.shared_memory block, not in objects
 * declared _Atomic, so these helpers cast the word's address. _Atomic uint64_t has
 * the size and alignment of uint64_t on every platform we build for (checked below),
 * and the header places every such word at an 8-byte aligned offset.
 */
#ifndef AT_ATOMIC_H
#define AT_ATOMIC_H

#include <stdatomic.h>
#include <stdint.h>

_Static_assert(sizeof(_Atomic uint64_t) == sizeof(uint64_t), "atomic u64 must be a plain u64");

static inline uint64_t at_load_acquire(uint64_t *p) {
    return atomic_load_explicit((_Atomic uint64_t *)p, memory_order_acquire);
}

static inline void at_store_release(uint64_t *p, uint64_t v) {
    atomic_store_explicit((_Atomic uint64_t *)p, v, memory_order_release);
}

static inline uint64_t at_load_relaxed(uint64_t *p) {
    return atomic_load_explicit((_Atomic uint64_t *)p, memory_order_relaxed);
}

static inline void at_store_relaxed(uint64_t *p, uint64_t v) {
    atomic_store_explicit((_Atomic uint64_t *)p, v, memory_order_relaxed);
}

/* Single-writer counter: a relaxed load and store, not a locked read-modify-write,
 * because only one thread ever writes the word; readers see whole values. */
static inline void at_bump(uint64_t *p, uint64_t n) {
    atomic_store_explicit((_Atomic uint64_t *)p,
                          atomic_load_explicit((_Atomic uint64_t *)p, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

/* Producer claim word: 0 = free. Acquire on success so the claimant sees everything
 * the previous holder wrote before its release in at_unlock. */
/* Single-writer counter bumped last in a batch: a reader that load-acquires it also
 * sees every counter bumped before it. */
static inline void at_bump_release(uint64_t *p, uint64_t n) {
    atomic_store_explicit((_Atomic uint64_t *)p,
                          atomic_load_explicit((_Atomic uint64_t *)p, memory_order_relaxed) + n,
                          memory_order_release);
}

static inline int at_try_lock(uint64_t *p, uint64_t token) {
    uint64_t expected = 0;
    return atomic_compare_exchange_strong_explicit((_Atomic uint64_t *)p, &expected, token,
                                                   memory_order_acquire, memory_order_relaxed);
}

static inline void at_unlock(uint64_t *p) {
    atomic_store_explicit((_Atomic uint64_t *)p, 0, memory_order_release);
}

/* Fences for the seqlock (seqlock.pyx): a release fence orders every store before it
 * ahead of every store after it; an acquire fence orders every load before it ahead of
 * every load after it (C11 7.17.4; on ARM64 these are dmb ish / dmb ishld, on x86-64
 * compiler barriers only). */
static inline void at_fence_release(void) {
    atomic_thread_fence(memory_order_release);
}

static inline void at_fence_acquire(void) {
    atomic_thread_fence(memory_order_acquire);
}

static inline int at_flag_load(int *p) {
    return atomic_load_explicit((_Atomic int *)p, memory_order_acquire);
}

static inline void at_flag_store(int *p, int v) {
    atomic_store_explicit((_Atomic int *)p, v, memory_order_release);
}

#endif
